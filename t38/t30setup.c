/* SPDX-License-Identifier: GPL-2.0-or-later */
/* T.30 settings common to both transports (see t30setup.h). */
#include "t30setup.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int
fx38_t30_check_fax(const struct fx38_fax *fax)
{
    /* Validate before dialling: spandsp reports a bad TIFF only at phase E (pitfall 8). */
    if (fax->direction == FX38_SEND && (!fax->file || access(fax->file, R_OK) < 0))
        return -ENOENT;
    /* spandsp cuts file names at 256 bytes without a word (pitfall 8). */
    if (!fax->file || strlen(fax->file) >= 256)
        return -ENAMETOOLONG;
    return 0;
}

static int
modems_for(const struct fx38_fax *fax, int max_bitrate)
{
    int m = 0;
    if (fax->modems & FX38_MODEM_V27TER)
        m |= T30_SUPPORT_V27TER;
    if ((fax->modems & FX38_MODEM_V29) && (max_bitrate == 0 || max_bitrate >= 7200))
        m |= T30_SUPPORT_V29;
    /* V.17 above 9600 only when the far end's T38MaxBitRate allows it. */
    if ((fax->modems & FX38_MODEM_V17) && (max_bitrate == 0 || max_bitrate >= 12000))
        m |= T30_SUPPORT_V17;
    return m ? m : T30_SUPPORT_V27TER;
}

void
fx38_t30_configure(t30_state_t *t30, const struct fx38_fax *fax, int max_bitrate)
{
    /* The station ident is refused over 20 characters (pitfall 8): cut it ourselves. */
    char ident[FX38_IDENT_LEN + 1];
    snprintf(ident, sizeof(ident), "%s", fax->local_ident ? fax->local_ident : "");
    if (ident[0])
        t30_set_tx_ident(t30, ident);
    if (fax->direction == FX38_SEND && fax->header && fax->header[0]) {
        char header[FX38_HEADER_LEN + 1];
        snprintf(header, sizeof(header), "%s", fax->header);
        t30_set_tx_page_header_info(t30, header);
    }

    /* ECM is off by default in spandsp and T.6 needs both ECM and its flag (pitfall 8). */
    t30_set_ecm_capability(t30, fax->ecm);
    int comp = T30_SUPPORT_T4_1D_COMPRESSION | T30_SUPPORT_T4_2D_COMPRESSION;
    if (fax->ecm)
        comp |= T30_SUPPORT_T6_COMPRESSION;
    t30_set_supported_compressions(t30, comp);
    /* The received TIFF is written in T.4 1D (MH), whatever the line used. spandsp encodes
     * the whole page with libtiff inside the tick that ends it; MH is the cheapest coding to
     * write (bench_engine, 12-page ITU set: 8.1 ms of receiver CPU a page against 11.2 ms
     * with spandsp's default, the page-end tick 10 ms against 15) and to read back. The file
     * is only the spool copy: the archive stores every page as canonical T.6 anyway. */
    if (fax->direction != FX38_SEND)
        t30_set_rx_encoding(t30, T4_COMPRESSION_ITU_T4_1D);
    t30_set_supported_modems(t30, modems_for(fax, max_bitrate));
    int res = T30_SUPPORT_STANDARD_RESOLUTION | T30_SUPPORT_R8_RESOLUTION;
    if (fax->fine)
        res |= T30_SUPPORT_FINE_RESOLUTION;
    if (fax->superfine)
        res |= T30_SUPPORT_SUPERFINE_RESOLUTION | T30_SUPPORT_R16_RESOLUTION;
    t30_set_supported_resolutions(t30, res);
    t30_set_supported_image_sizes(
        t30, T30_SUPPORT_215MM_WIDTH | T30_SUPPORT_255MM_WIDTH | T30_SUPPORT_303MM_WIDTH |
                 T30_SUPPORT_UNLIMITED_LENGTH | T30_SUPPORT_A4_LENGTH | T30_SUPPORT_B4_LENGTH |
                 T30_SUPPORT_US_LETTER_LENGTH | T30_SUPPORT_US_LEGAL_LENGTH);

    if (fax->direction == FX38_SEND)
        t30_set_tx_file(t30, fax->file, fax->first_page, fax->last_page);
    else
        t30_set_rx_file(t30, fax->file, -1);
}

static int
get_pages(t30_state_t *t30, enum fx38_direction direction)
{
    t30_stats_t st;
    t30_get_transfer_statistics(t30, &st);
    return direction == FX38_SEND ? st.pages_tx : st.pages_rx;
}

/* The T.30 fields of `ret` for completion code `status`, then the transport's. */
static void
fill_result(const struct fx38_t30 *p, int status, struct fx38_result *ret)
{
    t30_state_t *t30 = p->t30;
    enum fx38_direction direction = p->direction;
    t30_stats_t st;
    t30_get_transfer_statistics(t30, &st);
    *ret = (struct fx38_result){
        .is_success = status == T30_ERR_OK,
        .t30_status = status,
        .pages = direction == FX38_SEND ? st.pages_tx : st.pages_rx,
        .pages_in_file = st.pages_in_file,
        .bit_rate = st.bit_rate,
        .ecm = st.error_correcting_mode != 0,
        .x_res = st.x_resolution,
        .y_res = st.y_resolution,
        .width = st.width,
        .length = st.length,
        .bad_rows = st.bad_rows,
    };
    snprintf(ret->t30_text, sizeof(ret->t30_text), "%s", t30_completion_code_to_str(status));
    const char *ident = t30_get_rx_ident(t30);
    snprintf(ret->remote_ident, sizeof(ret->remote_ident), "%s", ident ? ident : "");
    p->fill(p->owner, ret);
}

/* T.30 phase E: the fax is over, one way or another. spandsp still uses the session after
 * this returns: the caller must not free it from `done` (pitfall 5). */
static void
phase_e(t30_state_t *t30, void *user_data, int completion_code)
{
    struct fx38_t30 *p = user_data;
    if (p->is_done)
        return;
    p->is_done = true;
    fill_result(p, completion_code, &p->result);
    p->done(p->data, &p->result);
}

/* T.30 phase D: a page's post-page exchange is over (the sender got MCF, RTP, RTN...). */
static int
phase_d(t30_state_t *t30, void *user_data, int result)
{
    struct fx38_t30 *p = user_data;
    int pages = get_pages(t30, p->direction);
    if (p->page && !p->is_done && pages > p->pages_reported) {
        p->pages_reported = pages;
        p->page(p->data, pages);
    }
    return T30_ERR_OK;
}

void
fx38_t30_bind(struct fx38_t30 *p, t30_state_t *t30, enum fx38_direction direction,
              fx38_done_fn *done, void *data, fx38_t30_fill_fn *fill, const void *owner)
{
    p->t30 = t30;
    p->direction = direction;
    p->done = done;
    p->data = data;
    p->fill = fill;
    p->owner = owner;
    t30_set_phase_e_handler(t30, phase_e, p);
    t30_set_phase_d_handler(t30, phase_d, p);
}

void
fx38_t30_terminate(struct fx38_t30 *p)
{
    if (p->is_done)
        return;
    t30_terminate(p->t30);
    /* t30_terminate reports phase E unless the call already finished; make sure. */
    if (!p->is_done)
        phase_e(p->t30, p, T30_ERR_CALLDROPPED);
}

void
fx38_t30_get_result(struct fx38_t30 *p, struct fx38_result *ret)
{
    if (p->is_done) {
        *ret = p->result;
        return;
    }
    fill_result(p, T30_ERR_OK, ret);
    ret->is_success = false;
    snprintf(ret->t30_text, sizeof(ret->t30_text), "in progress");
}

void
fx38_t30_set_debug(struct fx38_t30 *p, bool on, const char *tag, logging_state_t *const *logs,
                   size_t n)
{
    int level =
        on ? SPAN_LOG_SHOW_SEVERITY | SPAN_LOG_SHOW_PROTOCOL | SPAN_LOG_SHOW_TAG | SPAN_LOG_FLOW
           : SPAN_LOG_NONE;
    snprintf(p->tag, sizeof(p->tag), "%s", tag ? tag : "");
    span_log_set_level(t30_get_logging_state(p->t30), level);
    span_log_set_tag(t30_get_logging_state(p->t30), p->tag);
    for (size_t i = 0; i < n; i++) {
        span_log_set_level(logs[i], level);
        span_log_set_tag(logs[i], p->tag);
    }
}
