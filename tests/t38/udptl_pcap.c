/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Writes a pcap of fx38_udptl_build() output for tshark_udptl.sh to check against tshark's
 * T.38 dissector: one redundancy stream (127.0.0.1:40001 -> 40000, sequence numbers wrapping
 * 65533 -> 2) and one FEC stream (40003 -> 40002, span 3 x 2 entries), carrying realistic IFPs
 * (post-corrigendum field encoding, as spandsp sends for T.38 version >= 1).
 * Usage: udptl_pcap OUT.pcap. Prints one line per packet on stdout, the values tshark must
 * show, worked out from the configuration: "dstport seq error-recovery count npackets"
 * (error-recovery 0 = secondaries, 1 = fec-info; count = secondaries or fec-data entries;
 * npackets = fec-npackets, or - for secondaries). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "udptl.h"

#define PORT_REDUNDANCY 40000
#define PORT_FEC 40002

static struct fx38_udptl tx;

static void
put16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/* One Ethernet/IPv4/UDP frame around `payload`, as a pcap record. */
static int
write_frame(FILE *f, unsigned n, uint16_t dport, const uint8_t *payload, size_t len)
{
    uint8_t frame[14 + 20 + 8 + FX38_UDPTL_MAX_DATAGRAM];
    uint32_t rec[4] = {1700000000u + n / 50, (n % 50) * 20000u, 0, 0};
    uint8_t *ip = frame + 14, *udp = ip + 20;
    uint32_t sum = 0;
    size_t i, total = 14 + 20 + 8 + len;

    memset(frame, 0, 14 + 20 + 8);
    frame[5] = 1;     /* dst 00:00:00:00:00:01 */
    frame[11] = 2;    /* src 00:00:00:00:00:02 */
    frame[12] = 0x08; /* IPv4 */
    ip[0] = 0x45;
    put16(ip + 2, (unsigned)(20 + 8 + len));
    put16(ip + 4, n);
    ip[6] = 0x40; /* DF */
    ip[8] = 64;
    ip[9] = 17; /* UDP */
    ip[12] = ip[16] = 127;
    ip[15] = ip[19] = 1;
    for (i = 0; i < 20; i += 2)
        sum += (uint32_t)ip[i] << 8 | ip[i + 1];
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    put16(ip + 10, ~sum & 0xffff);
    put16(udp, dport + 1u);
    put16(udp + 2, dport);
    put16(udp + 4, (unsigned)(8 + len)); /* checksum 0: none (RFC 768) */
    memcpy(udp + 8, payload, len);
    rec[2] = rec[3] = (uint32_t)total;
    return fwrite(rec, sizeof(rec), 1, f) == 1 && fwrite(frame, total, 1, f) == 1 ? 0 : -1;
}

/* The IFPs a short non-ECM page exchange sends, in order. */
static size_t
make_ifp(int i, uint8_t *ifp)
{
    static const uint8_t v21_hdlc[] = {0xC0, 0x01, 0x80, 0x00, 0x02, 0xFF, 0xC8, 0x80};
    static const uint8_t v21_fcs_ok_sig_end[] = {0xC0, 0x01, 0x20};
    static const uint8_t non_ecm_sig_end[] = {0xD0, 0x01, 0x38};
    size_t n, j;

    switch (i) {
    case 0:
        ifp[0] = 0x02; /* cng */
        return 1;
    case 1:
        ifp[0] = 0x06; /* v21-preamble */
        return 1;
    case 2:
        memcpy(ifp, v21_hdlc,
               sizeof(v21_hdlc)); /* hdlc-data: address, control, DIS (bit-reversed) */
        return sizeof(v21_hdlc);
    case 3:
        memcpy(ifp, v21_fcs_ok_sig_end, sizeof(v21_fcs_ok_sig_end));
        return sizeof(v21_fcs_ok_sig_end);
    case 4:
        ifp[0] = 0x1E; /* v17-14400-long-training */
        return 1;
    case 10:
        memcpy(ifp, non_ecm_sig_end, sizeof(non_ecm_sig_end));
        return sizeof(non_ecm_sig_end);
    case 11:
        ifp[0] = 0x00; /* no-signal */
        return 1;
    default:
        /* v17-14400 t4-non-ecm-data; the first is 200 octets (two-octet length
         * determinants), then 54 (14400 bit/s in 30 ms) */
        n = i == 5 ? 200 : 54;
        ifp[0] = 0xD0;
        ifp[1] = 0x01;
        ifp[2] = 0xB0;
        ifp[3] = (uint8_t)((n - 1) >> 8);
        ifp[4] = (uint8_t)(n - 1);
        for (j = 0; j < n; j++)
            ifp[5 + j] = (uint8_t)(j * 7 + (unsigned)i);
        return 5 + n;
    }
}

#define IFPS 12

static int
write_stream(FILE *f, unsigned *frames, const struct fx38_udptl_config *c, uint16_t first_seq,
             uint16_t dport)
{
    uint8_t ifp[256], pkt[FX38_UDPTL_MAX_DATAGRAM];
    int i, n, entries, depth;
    uint16_t seq;
    size_t len;

    if (fx38_udptl_init(&tx, c) < 0)
        return -1;
    tx.tx_seq = first_seq; /* test only: start where we want the wrap */
    for (i = 0; i < IFPS; i++) {
        len = make_ifp(i, ifp);
        n = fx38_udptl_build(&tx, ifp, len,
                             fx38_ifp_is_image_data(ifp, len) ? FX38_IFP_IMAGE : FX38_IFP_CONTROL,
                             pkt, sizeof(pkt));
        if (n < 0 || write_frame(f, (*frames)++, dport, pkt, (size_t)n) < 0)
            return -1;
        /* what the configuration asks for, worked out here rather than read back from the
         * packet (none of these packets needs trimming under the default 400 octets) */
        seq = (uint16_t)(first_seq + i);
        if (c->ec == FX38_UDPTL_EC_FEC) {
            entries = i < c->fec_span * c->fec_entries ? i / c->fec_span : c->fec_entries;
            printf("%u %u 1 %d %d\n", dport, seq, entries, entries ? c->fec_span : 0);
        } else {
            depth = fx38_ifp_is_image_data(ifp, len) ? c->redundancy_image : c->redundancy_control;
            printf("%u %u 0 %d -\n", dport, seq, depth < i ? depth : i);
        }
    }
    return 0;
}

int
main(int argc, char **argv)
{
    /* pcap file header, in host order (the magic tells readers which) */
    static const struct {
        uint32_t magic;
        uint16_t major, minor;
        int32_t thiszone;
        uint32_t sigfigs, snaplen, linktype;
    } header = {0xa1b2c3d4u, 2, 4, 0, 0, 65535, 1 /* Ethernet */};
    struct fx38_udptl_config red = {
        .ec = FX38_UDPTL_EC_REDUNDANCY, .redundancy_control = 3, .redundancy_image = 2};
    struct fx38_udptl_config fec = {.ec = FX38_UDPTL_EC_FEC, .fec_span = 3, .fec_entries = 2};
    unsigned frames = 0;
    FILE *f;

    if (argc != 2) {
        fprintf(stderr, "usage: %s OUT.pcap\n", argv[0]);
        return 2;
    }
    if (!(f = fopen(argv[1], "wb"))) {
        perror(argv[1]);
        return 1;
    }
    if (fwrite(&header, sizeof(header), 1, f) != 1 ||
        write_stream(f, &frames, &red, 65533, PORT_REDUNDANCY) < 0 ||
        write_stream(f, &frames, &fec, 0, PORT_FEC) < 0 || fclose(f) != 0) {
        fprintf(stderr, "%s: cannot write\n", argv[1]);
        return 1;
    }
    return 0;
}
