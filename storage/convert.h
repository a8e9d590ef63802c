/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Document intake: what a user submits (TIFF, PDF, PostScript, PNG, JPEG or plain text) made
 * into one multi-page TIFF-F that spandsp's t4_tx can send.
 *
 * DESIGN: the type is found from the content (magic bytes), never the file name. Raster
 * inputs are decoded in-process (libtiff, libpng, libjpeg) into an 8-bit grey page; PDF and
 * PostScript are rasterised by a renderer subprocess (ghostscript, or MuPDF's `mutool draw`
 * for PDF) whose pages arrive through a pipe as a PNM stream, so nothing is written to disk
 * but the result; plain text is laid out as a small PDF (Courier) in a memfd and goes the
 * PDF way. Every grey page is then resampled to the fax geometry (1728 pixels, the chosen
 * resolution), made bilevel and written as a T.6 page. A blocking library with no global
 * state: call it from a worker thread or the CLI, never from a loop thread.
 */
#ifndef INKLESS_STORAGE_CONVERT_H
#define INKLESS_STORAGE_CONVERT_H

#include <stddef.h>
#include <stdint.h>

/* Defaults for the fields of struct conv_limits left 0. 36 Mpixels is an A4 page scanned at
 * 600 dpi (4960 x 7016); such a page costs 5 bytes a pixel while it is decoded. */
#define CONV_DEFAULT_MAX_PAGES 200
#define CONV_DEFAULT_MAX_INPUT_BYTES ((uint64_t)64 << 20)
#define CONV_DEFAULT_MAX_PIXELS ((uint64_t)36000000)
#define CONV_DEFAULT_TIMEOUT_S 120

/* Output width of every page: a T.4 A4/Letter line at 204 dpi (T.4 §2.2). */
#define CONV_FAX_WIDTH 1728

/* Which program rasterises PDF. PostScript always goes to ghostscript (MuPDF does not read
 * it). AUTO is the faster of the two on bench/convert-run (ghostscript), falling back to the
 * other when its program is not installed. */
enum conv_renderer {
    CONV_RENDERER_AUTO = 0,
    CONV_RENDERER_GS,    /* gs, device pbmraw, page fitted by ghostscript */
    CONV_RENDERER_MUPDF, /* mutool draw, grey, made bilevel here */
};

/* Limits a submission must stay within, and the renderer. A field left 0 takes its
 * CONV_DEFAULT_*. */
struct conv_limits {
    int max_pages;                /* output pages over all inputs */
    uint64_t max_input_bytes;     /* total size of the input files */
    uint64_t max_pixels_per_page; /* width x height of any source image or rendered page */
    int timeout_s;                /* the whole conversion, renderer processes included */
    enum conv_renderer renderer;
};

/* Vertical resolution of the output; horizontal is always 204 dpi. */
enum conv_resolution {
    CONV_RES_STANDARD, /* 204x98 dpi */
    CONV_RES_FINE,     /* 204x196 dpi */
    CONV_RES_SUPERFINE /* 204x391 dpi */
};

/* Convert the files at inputs[0..ninputs) (borrowed paths; several files make one fax, in
 * order) into one multi-page TIFF-F at out_path: one IFD per page, 1728 pixels wide,
 * bilevel, T.6 (MMR), min-is-white, FillOrder LSB2MSB, XResolution 204 and YResolution
 * 98/196/391 per res, in inches. It is written to "<out_path>.tmp", fsynced, renamed over
 * out_path, and the directory fsynced; on failure nothing is left behind.
 *
 * Images (TIFF, PNG, JPEG) are scaled to 1728 pixels wide keeping their aspect ratio (from
 * their resolution tags; square pixels when there are none); a scaled page longer than B4
 * (364 mm) is cut into A4 (297 mm) pages. PDF and PostScript pages are scaled (aspect kept,
 * centred) to fit an A4 page 1728 pixels wide. A grey page with more than a quarter of its
 * pixels mid-grey is a photo: averaged when shrunk, then dithered (Floyd-Steinberg); any
 * other page is shrunk by its darkest pixels (thin strokes survive) and thresholded at 50%.
 * Text is set in 10 pt Courier, 80 columns and 66 lines per A4 page, tabs every 8 columns,
 * long lines wrapped, a form feed starting a new page (one at the top of a page does
 * nothing); characters outside Windows-1252 print as '?'.
 *
 * lim may be NULL (all defaults). Returns the page count (> 0), or -errno with a one-line
 * message in err (errlen bytes; err may be NULL): -EINVAL for an unsupported, broken or
 * hostile input (naming the file and why), -EFBIG when a limit is exceeded (naming which),
 * -ETIMEDOUT when the conversion took longer than timeout_s (renderer processes are killed
 * and reaped), -ENOENT when an input or a renderer program is missing, other -errno for I/O.
 * Never crashes or hangs on hostile input. Blocks (seconds for a PDF); any thread but a loop
 * thread. */
int conv_document(const char *const *inputs, size_t ninputs, const char *out_path,
                  enum conv_resolution res, const struct conv_limits *lim, char *err,
                  size_t errlen);

/* The renderer's name for messages and benchmarks: "gs", "mutool" or "auto" (a static
 * string). Pure; any thread. */
const char *conv_renderer_name(enum conv_renderer r);

#endif
