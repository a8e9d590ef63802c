/* SPDX-License-Identifier: GPL-2.0-or-later */
/* UDPTL codec for T.38 over UDP: build packets with redundancy or parity FEC from a tx
 * history, and decode received packets into IFPs delivered in sequence order, recovering
 * missing ones. Written from T.38 Annex A and X.691; checked against tshark's dissector.
 *
 * DESIGN
 * Wire format: aligned PER of UDPTLPacket (T.38 Annex A), as Asterisk, FreeSWITCH and tshark
 * read it:
 *   seq-number          2 octets, big-endian (INTEGER (0..65535), X.691 §10.5)
 *   primary-ifp-packet  open type (X.691 §10.2): length determinant, then the IFP octets
 *   error-recovery      CHOICE index in 1 bit, padded to an octet: 0x00 or 0x80
 *     0x00 secondary-ifp-packets: count (length determinant), then count open types carrying
 *          the IFPs of seq-1, seq-2, … (newest first)
 *     0x80 fec-info: fec-npackets, an unconstrained INTEGER (X.691 §12.2.6: 1 length octet,
 *          then the two's complement value), then the count of fec-data entries (length
 *          determinant), then each entry as length determinant + octets
 *   Length determinant (X.691 §10.9): 0xxxxxxx for 0..127, 10xxxxxx xxxxxxxx for 0..16383;
 *   11xxxxxx starts a fragmented encoding of 16 K or more, which cannot be in a datagram.
 *   Nothing may follow the last field (as FreeSWITCH's udptl.c checks): that keeps RTP or
 *   garbage sent to our port from passing as UDPTL.
 *
 * FEC layout (as the udptl.c of Asterisk and of FreeSWITCH's mod_spandsp encode and decode it,
 * and rtpengine's t38.c encodes it): packet S with span s and E
 * entries; entry m (0 <= m < E) is the XOR of the IFPs S + m - E*k, k = 1..s, each zero-padded
 * to the longest of them, which gives the entry its length. The E entries cover S - s*E .. S-1
 * once each, interleaved, so up to E consecutive losses fall in different entries. A sender
 * with fewer than s*E IFPs behind it sends floor(sent / s) entries (span 0 when that is none).
 * The wire carries no length for a rebuilt IFP (those implementations deliver it padded); an
 * IFP is self-delimiting (T.38 Annex A IFPPacket), so we walk its fields to find where it ends
 * and the zero padding starts (ifp_walk).
 *
 * Receive (the packet's sequence number S against the last delivered L, in 16-bit arithmetic):
 *   S - L in 1..MAX_GAP+1  deliver L+1 .. S-1 where a secondary or a parity entry has them
 *                          (ascending), count the rest lost, then deliver S. spandsp wants
 *                          recovered IFPs before the primary, or it drops them as late.
 *   S - L in MAX_GAP+2 .. 1999  too far to recover: the gap counts lost, history is cleared.
 *   S - L in -1999 .. 0    S already delivered (kept in rx history): duplicate; otherwise
 *                          late. Neither is delivered: spandsp's t38_core treats an older
 *                          sequence number as late and drops it anyway (SPANDSP-NOTES,
 *                          pitfall 1). A late IFP is kept in the history, where it can
 *                          complete a parity group for a later loss.
 *   anything else          the far end restarted its numbering: resync, deliver S.
 * 2000 is spandsp's own ACCEPTABLE_SEQ_NO_OFFSET, so both layers classify a jump alike.
 *
 * History rings: slot (seq & (HIST-1)). On the receive side every slot holds a sequence
 * number within HIST of the last delivered, or is empty: each number we move past is either
 * stored or emptied, and jumps clear the ring. So "slot.seq == seq" is exact.
 */
#include "udptl.h"

#include <assert.h>
#include <errno.h>
#include <string.h>

#define HIST_MASK (FX38_UDPTL_HIST - 1)
#define SEQ_NEAR 2000

_Static_assert((FX38_UDPTL_HIST & HIST_MASK) == 0, "history size must be a power of two");
_Static_assert(FX38_UDPTL_MAX_GAP < FX38_UDPTL_HIST, "a gap must fit the rx history");
_Static_assert(FX38_UDPTL_MAX_REDUNDANCY < FX38_UDPTL_HIST, "secondaries come from history");
_Static_assert(FX38_UDPTL_MAX_REDUNDANCY < 128, "the count fits one length octet");
_Static_assert(FX38_UDPTL_MAX_IFP < 16384, "two-octet length determinants suffice");

/* A bounded reader over hostile octets; pos <= len always holds. */
struct rd {
    const uint8_t *p;
    size_t len;
    size_t pos;
};

/* X.691 §10.9 length determinant, unfragmented forms only. */
static int
rd_length(struct rd *r, size_t *ret_n)
{
    uint8_t b;

    if (r->pos >= r->len)
        return -EINVAL;
    b = r->p[r->pos];
    if (!(b & 0x80)) {
        *ret_n = b;
        r->pos++;
        return 0;
    }
    if (b & 0x40)
        return -EINVAL; /* fragmented: >= 16 K, not in a datagram */
    if (r->len - r->pos < 2)
        return -EINVAL;
    *ret_n = (size_t)(b & 0x3f) << 8 | r->p[r->pos + 1];
    r->pos += 2;
    return 0;
}

/* A length determinant and that many octets: an open type or an OCTET STRING. */
static int
rd_octets(struct rd *r, const uint8_t **ret_p, size_t *ret_n)
{
    size_t n;
    int rc = rd_length(r, &n);

    if (rc < 0)
        return rc;
    if (r->len - r->pos < n)
        return -EINVAL;
    *ret_p = r->p + r->pos;
    *ret_n = n;
    r->pos += n;
    return 0;
}

static size_t
length_size(size_t n)
{
    return n < 0x80 ? 1 : 2;
}

static uint8_t *
put_length(uint8_t *w, size_t n)
{
    if (n < 0x80) {
        *w++ = (uint8_t)n;
    } else {
        *w++ = (uint8_t)(0x80 | n >> 8);
        *w++ = (uint8_t)(n & 0xff);
    }
    return w;
}

static uint8_t *
put_octets(uint8_t *w, const uint8_t *p, size_t n)
{
    w = put_length(w, n);
    memcpy(w, p, n);
    return w + n;
}

/* Where a T.38 IFP ends (T.38 Annex A IFPPacket in aligned PER; the walk of spandsp's
 * t38_core_rx_ifp_stream). Octet 0: bit 7 data-field present, bit 6 t30-data (else
 * t30-indicator), bit 5 extension (the type then takes 6 bits running into octet 1).
 * data-field: a count, then per field a field-type header and, when flagged, a 2-octet
 * (length - 1) and the octets. T.38 version 0 ("pre-corrigendum") has no extension bit in the
 * field-type and packs a field-type without data into half an octet; later versions spend an
 * octet (two when extended) on each. Returns the length, or 0 if p is not a whole IFP. */
static size_t
ifp_walk(const uint8_t *p, size_t len, bool is_v0)
{
    struct rd r = {.p = p, .len = len};
    size_t count, i, n;
    bool has_data, is_half = false;

    if (len < 1)
        return 0;
    r.pos = (p[0] & 0x20) ? 2 : 1;
    if (r.pos > len)
        return 0;
    if (!(p[0] & 0x80))
        return r.pos;
    if (!(p[0] & 0x40))
        return 0; /* an indicator never has a data-field */
    if (rd_length(&r, &count) < 0)
        return 0;
    for (i = 0; i < count; i++) {
        if (r.pos >= len)
            return 0;
        if (!is_v0) {
            has_data = p[r.pos] & 0x80;
            r.pos += (p[r.pos] & 0x40) ? 2 : 1;
        } else if (is_half) {
            has_data = p[r.pos] & 0x08;
            r.pos++;
            is_half = false;
        } else {
            has_data = p[r.pos] & 0x80;
            if (has_data)
                r.pos++;
            else
                is_half = true;
        }
        if (!has_data)
            continue;
        if (r.pos > len || len - r.pos < 2)
            return 0;
        n = ((size_t)p[r.pos] << 8 | p[r.pos + 1]) + 1;
        r.pos += 2;
        if (len - r.pos < n)
            return 0;
        r.pos += n;
    }
    if (is_half)
        r.pos++;
    return r.pos <= len ? r.pos : 0;
}

/* The length of a rebuilt IFP: the longest reading (either T.38 version) that is followed
 * only by zero padding. The longest, so that no real octet is cut; failing both readings,
 * the whole parity length (spandsp then warns about trailing octets but uses the fields). */
static size_t
ifp_trim(const uint8_t *p, size_t len)
{
    size_t best = 0, n, i;
    int v;

    for (v = 0; v < 2; v++) {
        n = ifp_walk(p, len, v == 1);
        if (n == 0 || n <= best)
            continue;
        for (i = n; i < len && p[i] == 0; i++)
            ;
        if (i == len)
            best = n;
    }
    return best ? best : len;
}

bool
fx38_ifp_is_image_data(const uint8_t *ifp, size_t len)
{
    unsigned type;

    if (!ifp || len < 1 || !(ifp[0] & 0x40))
        return false; /* t30-indicator */
    if (!(ifp[0] & 0x20)) {
        /* t30-data root: 0 v21, 1-2 v27ter, 3-4 v29, 5-8 v17 */
        type = (ifp[0] >> 1) & 0x0f;
        return type >= 1 && type <= 8;
    }
    if (len < 2)
        return false;
    /* extension (T.38 2002): 0 v8, 1 v34-pri-rate (carries the v34rate signal),
     * 2 v34-CC-1200 (control channel), 3 v34-pri-ch, 4 v33-12000, 5 v33-14400 */
    type = (unsigned)(ifp[0] & 0x0f) << 2 | ifp[1] >> 6;
    return type >= 3 && type <= 5;
}

int
fx38_udptl_clamp_datagram(int far_max_datagram)
{
    if (far_max_datagram <= 0)
        return FX38_UDPTL_DEFAULT_DATAGRAM;
    if (far_max_datagram < FX38_UDPTL_MIN_DATAGRAM)
        return FX38_UDPTL_MIN_DATAGRAM;
    if (far_max_datagram > FX38_UDPTL_MAX_DATAGRAM)
        return FX38_UDPTL_MAX_DATAGRAM;
    return far_max_datagram;
}

static bool
config_is_valid(const struct fx38_udptl_config *c)
{
    if (c->ec != FX38_UDPTL_EC_NONE && c->ec != FX38_UDPTL_EC_REDUNDANCY &&
        c->ec != FX38_UDPTL_EC_FEC)
        return false;
    if (c->redundancy_control < 0 || c->redundancy_control > FX38_UDPTL_MAX_REDUNDANCY ||
        c->redundancy_image < 0 || c->redundancy_image > FX38_UDPTL_MAX_REDUNDANCY)
        return false;
    if (c->ec != FX38_UDPTL_EC_FEC)
        return true;
    /* every IFP a parity entry covers must still be in the tx history */
    return c->fec_span >= 1 && c->fec_entries >= 1 && c->fec_span < FX38_UDPTL_HIST &&
           c->fec_entries < FX38_UDPTL_HIST && c->fec_span * c->fec_entries < FX38_UDPTL_HIST;
}

int
fx38_udptl_init(struct fx38_udptl *u, const struct fx38_udptl_config *cfg)
{
    static const struct fx38_udptl_config defaults = FX38_UDPTL_CONFIG_DEFAULT;
    bool is_valid = !cfg || config_is_valid(cfg);

    /* memset rather than a compound literal: ≈ 93 KiB must not be built on the stack */
    memset(u, 0, sizeof(*u));
    u->cfg = cfg && is_valid ? *cfg : defaults;
    u->max_datagram = fx38_udptl_clamp_datagram(u->cfg.far_max_datagram);
    return is_valid ? 0 : -EINVAL;
}

int
fx38_udptl_set_config(struct fx38_udptl *u, const struct fx38_udptl_config *cfg)
{
    if (!config_is_valid(cfg))
        return -EINVAL;
    u->cfg = *cfg;
    u->max_datagram = fx38_udptl_clamp_datagram(cfg->far_max_datagram);
    return 0;
}

int
fx38_udptl_get_max_ifp(const struct fx38_udptl *u)
{
    /* seq 2, primary length 2, choice 1, then an empty count (1), or for FEC an empty
     * fec-npackets (2) and count (1) */
    int n = u->max_datagram - (u->cfg.ec == FX38_UDPTL_EC_FEC ? 8 : 6);

    return n < FX38_UDPTL_MAX_IFP ? n : FX38_UDPTL_MAX_IFP;
}

static const struct fx38_udptl_slot *
tx_slot(const struct fx38_udptl *u, uint16_t seq)
{
    return &u->tx[seq & HIST_MASK];
}

/* Longest IFP in FEC entry m of packet seq with `entries` entries of `span` IFPs. */
static size_t
fec_entry_len(const struct fx38_udptl *u, uint16_t seq, int span, int entries, int m)
{
    size_t n = 0;
    int k;

    for (k = 1; k <= span; k++) {
        const struct fx38_udptl_slot *s = tx_slot(u, (uint16_t)(seq + m - entries * k));
        if (s->len > n)
            n = s->len;
    }
    return n;
}

/* fec-info after the choice octet. The entry count drops (from the wind-up value) until the
 * packet fits `room` octets; the parity then covers span * entries IFPs, consistently with the
 * count the receiver reads. Returns the end, or NULL if even no entry fits. */
static uint8_t *
put_fec(struct fx38_udptl *u, uint16_t seq, uint8_t *w, size_t room)
{
    int span = u->cfg.fec_span, entries = u->cfg.fec_entries, wanted, m, k;
    size_t need = 0;

    if (u->tx_hist < span * entries)
        entries = u->tx_hist / span;
    wanted = entries;
    if (room < 3)
        return NULL; /* fec-npackets (1 + 1) and the count: span and entries are < 128 */
    for (; entries > 0; entries--) {
        need = 3;
        for (m = 0; m < entries; m++) {
            size_t n = fec_entry_len(u, seq, span, entries, m);
            need += length_size(n) + n;
        }
        if (need <= room)
            break;
    }
    if (entries < wanted)
        u->stats.tx_trimmed++;
    *w++ = 1;
    *w++ = (uint8_t)(entries ? span : 0);
    *w++ = (uint8_t)entries;
    for (m = 0; m < entries; m++) {
        size_t n = fec_entry_len(u, seq, span, entries, m), i;

        w = put_length(w, n);
        memset(w, 0, n);
        for (k = 1; k <= span; k++) {
            const struct fx38_udptl_slot *s = tx_slot(u, (uint16_t)(seq + m - entries * k));
            for (i = 0; i < s->len; i++)
                w[i] ^= s->data[i];
        }
        w += n;
    }
    return w;
}

/* secondary-ifp-packets after the choice octet: the newest `depth` previous IFPs, dropping
 * the oldest until they fit `room`. Returns the end, or NULL if not even the count fits. */
static uint8_t *
put_secondaries(struct fx38_udptl *u, uint16_t seq, int depth, uint8_t *w, size_t room)
{
    int n = depth < u->tx_hist ? depth : u->tx_hist, i;
    size_t need = 1;

    if (room < need)
        return NULL;
    for (i = 0; i < n; i++) {
        const struct fx38_udptl_slot *s = tx_slot(u, (uint16_t)(seq - 1 - i));
        if (need + length_size(s->len) + s->len > room)
            break;
        need += length_size(s->len) + s->len;
    }
    if (i < n)
        u->stats.tx_trimmed++;
    n = i;
    w = put_length(w, (size_t)n);
    for (i = 0; i < n; i++) {
        const struct fx38_udptl_slot *s = tx_slot(u, (uint16_t)(seq - 1 - i));
        w = put_octets(w, s->data, s->len);
    }
    return w;
}

int
fx38_udptl_build(struct fx38_udptl *u, const uint8_t *ifp, size_t len,
                 enum fx38_ifp_category category, uint8_t *buf, size_t size)
{
    size_t limit = size < (size_t)u->max_datagram ? size : (size_t)u->max_datagram, head;
    uint16_t seq = u->tx_seq;
    struct fx38_udptl_slot *s;
    uint8_t *w = buf;
    int depth;

    if (!ifp || len == 0 || len > FX38_UDPTL_MAX_IFP)
        return -EINVAL;
    head = 2 + length_size(len) + len + 1; /* seq, primary, choice */
    if (head > limit)
        return -EMSGSIZE;
    *w++ = (uint8_t)(seq >> 8);
    *w++ = (uint8_t)(seq & 0xff);
    w = put_octets(w, ifp, len);
    switch (u->cfg.ec) {
    case FX38_UDPTL_EC_FEC:
        *w++ = 0x80;
        w = put_fec(u, seq, w, limit - head);
        break;
    case FX38_UDPTL_EC_REDUNDANCY:
    case FX38_UDPTL_EC_NONE:
    default:
        depth = category == FX38_IFP_IMAGE ? u->cfg.redundancy_image : u->cfg.redundancy_control;
        if (u->cfg.ec == FX38_UDPTL_EC_NONE)
            depth = 0;
        *w++ = 0x00;
        w = put_secondaries(u, seq, depth, w, limit - head);
        break;
    }
    if (!w)
        return -EMSGSIZE;

    s = &u->tx[seq & HIST_MASK];
    s->seq = seq;
    s->len = (uint16_t)len;
    memcpy(s->data, ifp, len);
    u->tx_seq = (uint16_t)(seq + 1);
    if (u->tx_hist < FX38_UDPTL_HIST - 1)
        u->tx_hist++;
    u->stats.tx_packets++;
    return (int)(w - buf);
}

/* A decoded packet. items[] are the first secondaries (seq-1, seq-2, …) or FEC entries; more
 * are validated but not kept, as no use reaches them. */
struct parsed {
    uint16_t seq;
    const uint8_t *ifp;
    size_t ifp_len;
    bool is_fec;
    long span;    /* fec-npackets */
    size_t count; /* secondaries or FEC entries in the packet */
    const uint8_t *items[FX38_UDPTL_HIST];
    size_t item_len[FX38_UDPTL_HIST];
};

static int
parse(const uint8_t *pkt, size_t len, struct parsed *ret)
{
    struct rd r = {.p = pkt, .len = len, .pos = 2};
    const uint8_t *p;
    size_t n, i;
    int rc;

    if (!pkt || len < 2)
        return -EINVAL;
    ret->seq = (uint16_t)(pkt[0] << 8 | pkt[1]);
    if ((rc = rd_octets(&r, &ret->ifp, &ret->ifp_len)) < 0)
        return rc;
    /* An empty encoding is sent as one zero octet (X.691 §10.1.3), and no IFP is empty. */
    if (ret->ifp_len == 0)
        return -EINVAL;
    if (ret->ifp_len > FX38_UDPTL_MAX_IFP)
        return -EMSGSIZE;
    if (r.pos >= len)
        return -EINVAL;
    ret->is_fec = pkt[r.pos++] & 0x80; /* the 7 padding bits are ignored */
    ret->span = 0;
    if (ret->is_fec) {
        /* unconstrained INTEGER: a length octet, then 1..4 octets we can hold; negative
         * (two's complement) is meaningless for a packet count */
        if (r.pos >= len)
            return -EINVAL;
        n = pkt[r.pos++];
        if (n == 0 || n > 4 || len - r.pos < n || (pkt[r.pos] & 0x80))
            return -EINVAL;
        for (i = 0; i < n; i++)
            ret->span = ret->span << 8 | pkt[r.pos + i];
        r.pos += n;
    }
    if ((rc = rd_length(&r, &ret->count)) < 0)
        return rc;
    /* each item takes at least its length octet, so an absurd count runs out of packet */
    for (i = 0; i < ret->count; i++) {
        if ((rc = rd_octets(&r, &p, &n)) < 0)
            return rc;
        if (n > FX38_UDPTL_MAX_IFP)
            return -EMSGSIZE;
        if (i < FX38_UDPTL_HIST) {
            ret->items[i] = p;
            ret->item_len[i] = n;
        }
    }
    return r.pos == len ? 0 : -EINVAL;
}

static bool
rx_is_known(const struct fx38_udptl *u, uint16_t ref, uint16_t seq)
{
    const struct fx38_udptl_slot *s = &u->rx[seq & HIST_MASK];

    return (uint16_t)(ref - seq) < FX38_UDPTL_HIST && s->len && s->seq == seq;
}

static const uint8_t *
rx_store(struct fx38_udptl *u, uint16_t seq, const uint8_t *ifp, size_t len)
{
    struct fx38_udptl_slot *s = &u->rx[seq & HIST_MASK];

    s->seq = seq;
    s->len = (uint16_t)len;
    memcpy(s->data, ifp, len);
    return s->data;
}

static void
rx_clear(struct fx38_udptl *u)
{
    size_t i;

    for (i = 0; i < FX38_UDPTL_HIST; i++)
        u->rx[i].len = 0;
}

/* Rebuild IFP `seq` (before p->seq) into out from the parity entry covering it, if every other
 * IFP of that entry is in the rx history. Returns its length, 0 if not possible. */
static size_t
rx_fec_rebuild(const struct fx38_udptl *u, const struct parsed *p, uint16_t seq, uint8_t *out)
{
    size_t e = p->count, dist = (uint16_t)(p->seq - seq), k, m, j, back, plen, i;

    if (!p->is_fec || e == 0 || p->span <= 0)
        return 0;
    /* seq = S + m - E*k with 0 <= m < E and 1 <= k <= span */
    k = (dist + e - 1) / e;
    m = k * e - dist;
    if (k > (size_t)p->span || m >= FX38_UDPTL_HIST)
        return 0;
    plen = p->item_len[m];
    if (plen == 0)
        return 0;
    memcpy(out, p->items[m], plen);
    for (j = 1; j <= (size_t)p->span; j++) {
        const struct fx38_udptl_slot *s;

        if (j == k)
            continue;
        back = j * e - m;
        if (!rx_is_known(u, p->seq, (uint16_t)(p->seq - back)))
            return 0; /* a second loss in the group, or older than our history */
        s = &u->rx[(p->seq - back) & HIST_MASK];
        if (s->len > plen)
            return 0; /* the parity is shorter than one of its IFPs: not a parity of ours */
        for (i = 0; i < s->len; i++)
            out[i] ^= s->data[i];
    }
    return ifp_trim(out, plen);
}

/* A packet at or behind the last delivered, `back` numbers behind. */
static void
rx_old(struct fx38_udptl *u, const struct parsed *p, size_t back)
{
    if (rx_is_known(u, u->rx_last, p->seq)) {
        u->stats.duplicates++;
        return;
    }
    u->stats.late++;
    if (back < FX38_UDPTL_HIST)
        (void)rx_store(u, p->seq, p->ifp, p->ifp_len);
}

int
fx38_udptl_rx(struct fx38_udptl *u, const uint8_t *pkt, size_t len, fx38_udptl_deliver_fn *deliver,
              void *data)
{
    uint8_t rebuilt[FX38_UDPTL_MAX_IFP];
    struct parsed p;
    size_t gap = 0, i, n;
    uint16_t fwd, seq;
    bool is_counted = true;
    int rc, d, delivered = 0;

    assert(deliver);
    if ((rc = parse(pkt, len, &p)) < 0) {
        u->stats.malformed++;
        return rc;
    }
    u->stats.packets++;

    if (!u->has_rx) {
        /* The first packet. Peers number from 0, so a secondary or parity entry may hold
         * 0 .. S-1; but a peer may also start elsewhere, so what is missing is not lost. */
        u->has_rx = true;
        u->rx_last = 0xffff;
        is_counted = false;
        if (p.seq <= FX38_UDPTL_MAX_GAP)
            gap = p.seq;
    } else {
        fwd = (uint16_t)(p.seq - u->rx_last);
        d = fwd < 0x8000 ? (int)fwd : (int)fwd - 0x10000;
        if (d <= 0 && d > -SEQ_NEAR) {
            rx_old(u, &p, (size_t)-d);
            return 0;
        }
        if (d > 0 && d <= FX38_UDPTL_MAX_GAP + 1) {
            gap = (size_t)d - 1;
        } else {
            if (d > 0 && d < SEQ_NEAR)
                u->stats.lost += (uint64_t)d - 1;
            else
                u->stats.resyncs++;
            rx_clear(u);
        }
    }

    for (i = gap; i >= 1; i--) {
        const uint8_t *ifp = NULL;

        seq = (uint16_t)(p.seq - i);
        n = 0;
        if (!p.is_fec) {
            if (i - 1 < p.count && i - 1 < FX38_UDPTL_HIST && p.item_len[i - 1] > 0) {
                n = p.item_len[i - 1];
                ifp = rx_store(u, seq, p.items[i - 1], n);
                u->stats.recovered_redundancy++;
            }
        } else if ((n = rx_fec_rebuild(u, &p, seq, rebuilt)) > 0) {
            ifp = rx_store(u, seq, rebuilt, n);
            u->stats.recovered_fec++;
        }
        if (!ifp) {
            u->rx[seq & HIST_MASK].len = 0;
            if (is_counted)
                u->stats.lost++;
            continue;
        }
        deliver(data, ifp, n, seq);
        delivered++;
    }
    (void)rx_store(u, p.seq, p.ifp, p.ifp_len);
    u->rx_last = p.seq;
    deliver(data, p.ifp, p.ifp_len, p.seq);
    return delivered + 1;
}
