/* SPDX-License-Identifier: GPL-2.0-or-later */
/* T.38 fax session: spandsp's t38_terminal on our UDPTL (see session.h).
 *
 * Data flow, all on the channel's media thread:
 *   fx38_rx_udptl ─▶ fx38_udptl_rx (recovery, ordering) ─▶ t38_core_rx_ifp_packet ─▶ T.30
 *   fx38_tick ─▶ t38_terminal_send_timeout ─▶ tx_ifp ─▶ fx38_udptl_build ─▶ send callback
 * spandsp may also transmit from inside t38_core_rx_ifp_packet (a response to a received
 * IFP); fx38_udptl's tx and rx halves are independent, so that nests safely.
 */
#include "session.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <spandsp.h>

#include "t30setup.h"

struct fx38_session {
    t38_terminal_state_t *t38;
    t38_core_state_t *core;
    struct fx38_t30 t30; /* T.30 phase D/E and the result (t30setup.h) */
    struct fx38_udptl udptl;
    fx38_send_fn *send;
    void *data;
    uint64_t samples;       /* since the session started */
    uint64_t last_activity; /* when we last received a good packet or sent one */
    uint64_t inactivity_samples;
    uint8_t pkt[FX38_UDPTL_MAX_DATAGRAM];
};

const char *
fx38_status_text(int status)
{
    return t30_completion_code_to_str(status);
}

/* The T.38 fields of a result. */
static void
fill_result(const void *owner, struct fx38_result *ret)
{
    const struct fx38_session *s = owner;
    ret->duration_samples = s->samples;
    ret->udptl = s->udptl.stats;
}

/* spandsp wants `count` copies of this IFP sent (3 for indicators by default): one UDPTL
 * packet, sent count times under one sequence number (SPANDSP-NOTES pitfall 1). Never return
 * -1: spandsp would abort the whole fax (pitfall 3). */
static int
tx_ifp(t38_core_state_t *core, void *user_data, const uint8_t *ifp, int len, int count)
{
    struct fx38_session *s = user_data;
    enum fx38_ifp_category cat =
        fx38_ifp_is_image_data(ifp, (size_t)len) ? FX38_IFP_IMAGE : FX38_IFP_CONTROL;
    int n = fx38_udptl_build(&s->udptl, ifp, (size_t)len, cat, s->pkt, sizeof(s->pkt));
    if (n < 0)
        return 0; /* oversized IFP: counted as nothing sent; T.30 recovers or fails cleanly */
    for (int i = 0; i < count && i < 8; i++)
        s->send(s->data, s->pkt, (size_t)n);
    s->last_activity = s->samples;
    return 0;
}

static void
deliver_ifp(void *data, const uint8_t *ifp, size_t len, uint16_t seq)
{
    struct fx38_session *s = data;
    (void)t38_core_rx_ifp_packet(s->core, ifp, (int)len, seq);
}

static void
apply_udptl(struct fx38_session *s, const struct fx38_params *p, bool is_init)
{
    struct fx38_udptl_config c = FX38_UDPTL_CONFIG_DEFAULT;
    c.ec = p->ec;
    c.redundancy_control = p->redundancy_control;
    c.redundancy_image = p->redundancy_image;
    if (p->fec_span > 0)
        c.fec_span = p->fec_span;
    if (p->fec_entries > 0)
        c.fec_entries = p->fec_entries;
    c.far_max_datagram = p->far_max_datagram;
    /* Out-of-range values fall back to the defaults (init) or keep the current config. */
    if (is_init)
        (void)fx38_udptl_init(&s->udptl, &c);
    else
        (void)fx38_udptl_set_config(&s->udptl, &c);
}

static void
apply_params(struct fx38_session *s, const struct fx38_params *p)
{
    /* The version must match the SDP's T38FaxVersion (pitfall 7). */
    t38_set_t38_version(s->core, p->version);
    t38_set_data_rate_management_method(s->core, T38_DATA_RATE_MANAGEMENT_TRANSFERRED_TCF);
    t38_terminal_set_fill_bit_removal(s->t38, p->fill_bit_removal);
    /* spandsp stores but does not enforce the datagram size (pitfall 6); it uses it to size
     * its paced chunks. The UDPTL layer enforces the real limit. */
    t38_set_max_datagram_size(s->core, fx38_udptl_get_max_ifp(&s->udptl));
    if (p->max_bitrate > 0)
        t38_set_fastest_image_data_rate(s->core, p->max_bitrate);
}

struct fx38_session *
fx38_session_new(const struct fx38_fax *fax, const struct fx38_params *params, fx38_send_fn *send,
                 fx38_done_fn *done, void *data, int *ret_error)
{
    int err = -ENOMEM;
    struct fx38_session *s = calloc(1, sizeof(*s));
    if (!s)
        goto fail;
    s->send = send;
    s->data = data;
    s->inactivity_samples =
        (uint64_t)(fax->inactivity_s > 0 ? fax->inactivity_s : 30) * FX38_SAMPLE_RATE;

    err = fx38_t30_check_fax(fax);
    if (err < 0)
        goto fail;
    err = -ENOMEM;

    apply_udptl(s, params, true);
    s->t38 = t38_terminal_init(NULL, fax->is_caller, tx_ifp, s);
    if (!s->t38)
        goto fail;
    s->core = t38_terminal_get_t38_core_state(s->t38);

    /* Paced transmission with indicators: what a T.38 gateway on UDP expects. */
    t38_terminal_set_config(s->t38, 0);
    t38_terminal_set_tep_mode(s->t38, false);
    apply_params(s, params);

    t30_state_t *t30 = t38_terminal_get_t30_state(s->t38);
    fx38_t30_configure(t30, fax, params->max_bitrate);
    fx38_t30_bind(&s->t30, t30, fax->direction, done, data, fill_result, s);
    return s;

fail:
    if (ret_error)
        *ret_error = err;
    fx38_session_free(s);
    return NULL;
}

void
fx38_set_page_handler(struct fx38_session *s, fx38_page_fn *fn)
{
    s->t30.page = fn;
}

void
fx38_set_params(struct fx38_session *s, const struct fx38_params *params)
{
    apply_udptl(s, params, false);
    apply_params(s, params);
}

int
fx38_rx_udptl(struct fx38_session *s, const uint8_t *pkt, size_t len)
{
    int n = fx38_udptl_rx(&s->udptl, pkt, len, deliver_ifp, s);
    if (n >= 0)
        s->last_activity = s->samples;
    return n;
}

void
fx38_tick(struct fx38_session *s, int samples)
{
    if (samples <= 0)
        return;
    s->samples += (uint64_t)samples;
    if (s->t30.is_done)
        return;
    /* An ECM receiver can wait for ever on a silent far end (pitfall 4). Silence both ways:
     * a sender streaming a long ECM block hears nothing back for tens of seconds, legitimately,
     * and a sender waiting for a response retransmits on T.30's own timers. */
    if (s->samples - s->last_activity > s->inactivity_samples) {
        fx38_terminate(s);
        return;
    }
    (void)t38_terminal_send_timeout(s->t38, samples);
}

void
fx38_terminate(struct fx38_session *s)
{
    fx38_t30_terminate(&s->t30);
}

bool
fx38_is_done(const struct fx38_session *s)
{
    return s->t30.is_done;
}

void
fx38_get_result(struct fx38_session *s, struct fx38_result *ret)
{
    fx38_t30_get_result(&s->t30, ret);
}

void
fx38_set_debug(struct fx38_session *s, bool on, const char *tag)
{
    logging_state_t *const logs[] = {
        t38_terminal_get_logging_state(s->t38),
        t38_core_get_logging_state(s->core),
    };
    fx38_t30_set_debug(&s->t30, on, tag, logs, sizeof(logs) / sizeof(logs[0]));
}

void
fx38_session_free(struct fx38_session *s)
{
    if (!s)
        return;
    if (s->t38)
        t38_terminal_free(s->t38);
    free(s);
}
