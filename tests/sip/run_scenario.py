# SPDX-License-Identifier: GPL-2.0-or-later
"""One SIP test: one case below, over one transport, against a fresh inklessd.

    run_scenario.py --daemon build/server/inklessd --transport udp|tcp CASE
    run_scenario.py --list

Each case writes the daemon's config (harness.base_config plus its overrides), starts the
daemon, drives it with sipp scenarios from this directory (sipp plays the carrier: "we" in the
scenario comments) or with raw sockets, checks the daemon's log where the scenario cannot see
the outcome, and stops the daemon with SIGTERM (exit status 0 required). Exit 0 pass, 1 fail,
77 skip (sipp missing).
"""

import argparse
import os
import re
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import (DIDS, SDP_AUDIO, RawClient, TestFailure, expect_status,  # noqa: E402
                     options_ok, raw_request, trunk)

CASES = {}


def case(fn):
    CASES[fn.__name__.replace("case_", "")] = fn
    return fn


def call_line(callid=r"\S+", kind=None):
    kind = kind or r"\w+"
    return r"call (%s): \d+ from '[^']*' via trunk \S+ \(.*\): answering with (%s) on port \d+" \
        % (callid, kind)


def expect_call(t, since, kind, timeout=5.0):
    """The daemon accepted a call with media `kind` and, later, logged its end."""
    m = t.daemon.wait_log(call_line(kind=kind), timeout, since, "'answering with %s' line" % kind)
    t.daemon.wait_log(r"call %s: ended after" % re.escape(m.group(1)), timeout, since,
                      "end of call %s" % m.group(1))
    return m.group(1)


def simple_call(t, scenario, kind, overrides=None, service=DIDS["local"]):
    t.need_sipp()
    t.start_daemon(overrides)
    since = t.daemon.mark()
    t.sipp_run(scenario, service)
    expect_call(t, since, kind)
    t.daemon.stop()


# ---- answering ----


@case
def case_answer_audio(t):
    """Audio offer (PCMU, PCMA): 200 answering PCMU; the daemon logs an audio call."""
    simple_call(t, "uac_audio_pcmu.xml", "audio")


@case
def case_answer_pcma(t):
    """PCMA-only offer: answered with PCMA."""
    simple_call(t, "uac_audio_pcma.xml", "audio")


@case
def case_answer_national(t):
    """Called number in national format (5551230001): found with the trunk's country code."""
    simple_call(t, "uac_audio_pcmu.xml", "audio", service="5551230001")


@case
def case_answer_tollfree(t):
    """A number bound to no trunk in particular (the toll-free one) is answered too."""
    simple_call(t, "uac_audio_pcmu.xml", "audio", service=DIDS["tollfree"])


@case
def case_answer_t38(t):
    """Image-only offer: 200 with m=image udptl t38 and the T.38 attributes."""
    simple_call(t, "uac_image.xml", "t38")


@case
def case_answer_t38_negotiate_down(t):
    """T.38 offer with a higher version and a lower bit rate: both negotiated down."""
    simple_call(t, "uac_image_down.xml", "t38")


@case
def case_answer_audio_image(t):
    """Audio and image in one offer: T.38 chosen, the audio m= line answered at port 0."""
    simple_call(t, "uac_audio_image.xml", "t38")


@case
def case_answer_audio_image_prefer_audio(t):
    """Audio and image in one offer with t38.prefer = false: audio chosen, image at port 0."""
    simple_call(t, "uac_audio_image_prefer_audio.xml", "audio", {"t38.prefer": False})


@case
def case_answer_no_sdp(t):
    """INVITE without SDP: the 200 carries our audio offer, the ACK the answer."""
    simple_call(t, "uac_no_sdp.xml", "none")


@case
def case_cancel(t):
    """CANCEL while ringing: 180, then 200 for the CANCEL and 487 for the INVITE; the call's
    slot is freed (a second call on a one-channel daemon is answered)."""
    t.need_sipp()
    t.start_daemon({"sip.answer_delay_ms": 2000, "limits.max_channels": 1})
    since = t.daemon.mark()
    t.sipp_run("uac_cancel.xml")
    m = t.daemon.wait_log(call_line(), 5, since, "'answering' line")
    t.daemon.wait_log(r"call %s: ended after" % re.escape(m.group(1)), 5, since, "end of call")
    # The channel is free again at once: with max_channels = 1 the next call is answered,
    # ringing its 2 s first.
    since = t.daemon.mark()
    t.sipp_run("uac_audio_pcmu.xml")
    expect_call(t, since, "audio")
    t.daemon.stop()


# ---- refusals ----


@case
def case_reject_unknown_did(t):
    """A number that is not ours: 404."""
    t.need_sipp()
    t.start_daemon()
    t.sipp_run("uac_reject_404.xml", service="+15550000000")
    t.daemon.wait_log(r"number '\+15550000000' not ours: 404", 5, what="404 log line")
    t.daemon.stop()


@case
def case_reject_source(t):
    """INVITE from 127.0.0.2 while the only trunk allows 127.0.0.1/32: 403."""
    t.need_sipp()
    t.start_daemon({"trunks": [trunk(sources=["127.0.0.1/32"])]})
    t.sipp_run("uac_reject_403.xml", source_ip="127.0.0.2")
    t.daemon.wait_log(r"from 127\.0\.0\.2:\d+: source in no trunk: 403", 5, what="403 log line")
    t.daemon.stop()


@case
def case_reject_other_trunk(t):
    """A number bound to trunk A called through trunk B: 404; a number bound to no trunk is
    answered through trunk B."""
    t.need_sipp()
    t.start_daemon({"trunks": [trunk(sources=["127.0.0.1/32"]),
                               trunk(name="other", sources=["127.0.0.2/32"])]})
    t.sipp_run("uac_reject_404.xml", service=DIDS["local"], source_ip="127.0.0.2")
    since = t.daemon.mark()
    t.sipp_run("uac_audio_pcmu.xml", service=DIDS["tollfree"], source_ip="127.0.0.2")
    m = t.daemon.wait_log(call_line(), 5, since, "'answering' line")
    if "via trunk other " not in m.group(0):
        raise TestFailure("call through 127.0.0.2 not on trunk 'other': %s" % m.group(0))
    t.daemon.stop()


@case
def case_reject_g729(t):
    """Only G.729 offered: 488."""
    t.need_sipp()
    t.start_daemon()
    t.sipp_run("uac_reject_488_g729.xml")
    t.daemon.stop()


@case
def case_reject_video(t):
    """Only video offered: 488."""
    t.need_sipp()
    t.start_daemon()
    t.sipp_run("uac_reject_488_video.xml")
    t.daemon.stop()


@case
def case_reject_t38_trunk_off(t):
    """Only T.38 offered through a trunk with t38 = false: 488."""
    t.need_sipp()
    t.start_daemon({"trunks": [trunk(t38=False)]})
    t.sipp_run("uac_reject_488_image.xml")
    t.daemon.stop()


HOLD_MS = 3000  # how long uac_hold.xml keeps its call up (sipp -d)


def hold_call(t, service=DIDS["local"]):
    """Start a sipp that holds a call for HOLD_MS; return (sipp, Call-ID) once it is up."""
    since = t.daemon.mark()
    held = t.sipp_start("uac_hold.xml", service, extra=["-d", str(HOLD_MS)], name="held")
    m = t.daemon.wait_log(call_line(), 5, since, "'answering' line of the held call")
    return held, m.group(1)


def still_up(t, callid, what):
    """Fail (rather than pass vacuously) if the held call ended before `what` was done."""
    if t.daemon.find(r"call %s: ended after" % re.escape(callid)):
        raise TestFailure("the held call ended before %s (machine too slow for a %d ms hold?)"
                          % (what, HOLD_MS))


@case
def case_capacity(t):
    """max_channels = 1: while one call is up, a second INVITE gets 503 with Retry-After."""
    t.need_sipp()
    t.start_daemon({"limits.max_channels": 1, "sip.retry_after": 7})
    held, callid = hold_call(t)
    t.sipp_run("uac_reject_503.xml", slot=1)
    t.daemon.wait_log(r"all channels busy: 503", 5, what="'all channels busy' line")
    still_up(t, callid, "the second INVITE got its 503")
    t.check_sipp(held.wait())
    t.daemon.wait_log(r"call %s: ended after" % re.escape(callid), 5, what="end of held call")
    t.daemon.stop()


@case
def case_drain(t):
    """SIGTERM with a call up: a new INVITE gets 503 + Retry-After, the held call goes on until
    its BYE (200), then the daemon exits 0 by itself."""
    t.need_sipp()
    t.start_daemon({"server.drain_timeout": 30})
    held, callid = hold_call(t)
    since = t.daemon.mark()
    t.daemon.signal(signal.SIGTERM)
    t.daemon.wait_log(r"draining", 5, since, "'draining' line")
    t.sipp_run("uac_reject_503.xml", slot=1)
    t.daemon.wait_log(r"draining: 503", 5, since, "'draining: 503' line")
    still_up(t, callid, "the INVITE during the drain got its 503")
    t.check_sipp(held.wait())
    rc = t.daemon.wait_exit(harness.STOP_TIMEOUT)
    if rc != 0:
        raise TestFailure("daemon exited %d after draining" % rc)
    t.daemon.wait_log(r"drained: no calls left", 1, since, "'drained' line")


@case
def case_reload(t):
    """SIGHUP after adding a number to the config: the new number is answered (it got 404
    before), and a call held across the reload survives (its BYE gets 200)."""
    t.need_sipp()
    t.start_daemon()
    new = "+15551239999"
    t.sipp_run("uac_reject_404.xml", service=new)
    held, callid = hold_call(t)
    t.config["numbers"].append({"number": new, "type": "local", "trunk": "local"})
    t.write_config()
    since = t.daemon.mark()
    t.daemon.signal(signal.SIGHUP)
    t.daemon.wait_log(r"reloaded: 1 trunk\(s\), 3 number\(s\)", 5, since, "'reloaded' line")
    t.sipp_run("uac_audio_pcmu.xml", service=new, slot=2)
    still_up(t, callid, "the call to the new number")
    expect_call(t, since, "audio")
    t.check_sipp(held.wait())
    t.daemon.stop()


# ---- OPTIONS ----


@case
def case_options(t):
    """OPTIONS: 200 with Allow (INVITE, ACK, BYE, CANCEL, OPTIONS) and Accept."""
    t.need_sipp()
    t.start_daemon()
    t.sipp_run("options.xml")
    t.daemon.stop()


# ---- re-INVITEs ----


@case
def case_reinvite_peer(t):
    """Trunk t38_reinvite = them: the carrier's re-INVITE to T.38 is accepted, and the one
    back to audio too."""
    t.need_sipp()
    t.start_daemon({"trunks": [trunk(reinvite="them")]})
    since = t.daemon.mark()
    t.sipp_run("uac_reinvite_peer.xml")
    t.daemon.wait_log(r"far end switched media audio -> t38", 5, since, "switch to t38")
    t.daemon.wait_log(r"far end switched media t38 -> audio", 5, since, "switch back to audio")
    if t.daemon.find(r"sending re-INVITE", since):
        raise TestFailure("the daemon sent a re-INVITE on a trunk with t38_reinvite = them")
    t.daemon.stop()


@case
def case_reinvite_peer_refused(t):
    """Trunk t38_reinvite = none: the carrier's T.38 re-INVITE gets 488, the call stays up."""
    t.need_sipp()
    t.start_daemon({"trunks": [trunk(reinvite="none")]})
    since = t.daemon.mark()
    t.sipp_run("uac_reinvite_peer_refused.xml")
    expect_call(t, since, "audio")
    t.daemon.stop()


@case
def case_reinvite_peer_refused_us(t):
    """Trunk t38_reinvite = us: only we switch to T.38, so the carrier's T.38 re-INVITE gets
    488 (our own is due only after 10 s, long after this call ended)."""
    t.need_sipp()
    t.start_daemon({"trunks": [trunk(reinvite="us", delay_ms=10000)]})
    since = t.daemon.mark()
    t.sipp_run("uac_reinvite_peer_refused.xml")
    expect_call(t, since, "audio")
    t.daemon.stop()


@case
def case_reinvite_us(t):
    """Trunk t38_reinvite = us: after the ACK the daemon re-INVITEs to T.38; we accept."""
    t.need_sipp()
    t.start_daemon({"trunks": [trunk(reinvite="us", delay_ms=200)]})
    since = t.daemon.mark()
    t.sipp_run("uac_reinvite_us.xml")
    t.daemon.wait_log(r"sending re-INVITE offering t38", 5, since, "'sending re-INVITE' line")
    t.daemon.wait_log(r"media switched audio -> t38", 5, since, "'media switched' line")
    t.daemon.stop()


@case
def case_reinvite_us_refused(t):
    """Trunk t38_reinvite = us: we refuse the daemon's T.38 re-INVITE with 488; it ACKs, then
    keeps the call on audio, where the fax carries on over G.711."""
    t.need_sipp()
    t.start_daemon({"trunks": [trunk(reinvite="us", delay_ms=200)]})
    since = t.daemon.mark()
    t.sipp_run("uac_reinvite_us_refused.xml")
    t.daemon.wait_log(r"sending re-INVITE offering t38", 5, since, "'sending re-INVITE' line")
    t.daemon.wait_log(r"refused.*\(488\)|\(488\).*refused", 5, since, "'refused (488)' line")
    expect_call(t, since, "audio")
    t.daemon.stop()


@case
def case_glare(t):
    """Both ends re-INVITE at once: the daemon answers ours 491, gets 491 for its own, and
    retries after RFC 3261's 0-2 s (it does not own the Call-ID); the retry is accepted."""
    t.need_sipp()
    t.start_daemon({"trunks": [trunk(reinvite="us", delay_ms=200)]})
    since = t.daemon.mark()
    t.sipp_run("uac_glare.xml")
    m = t.daemon.wait_log(r"re-INVITE glare \(491\), retrying in (\d+) ms", 5, since, "glare")
    if not 0 <= int(m.group(1)) <= 2000:
        raise TestFailure("retry delay %s ms outside RFC 3261's 0-2000 ms for a call we did "
                          "not originate" % m.group(1))
    t.daemon.wait_log(r"media switched audio -> t38", 5, since, "'media switched' line")
    t.daemon.stop()


# ---- malformed requests (raw sockets) ----


@case
def case_malformed(t):
    """Well-framed requests with a bad header get 400 (broken CSeq, no Call-ID, a CSeq whose
    method is not the request's); an INVITE whose Content-Length does not match its body gets
    400 or nothing; the daemon keeps answering OPTIONS over both transports afterwards."""
    t.start_daemon()
    port = t.ports.sip
    tp = t.transport
    bad = [
        ("broken CSeq", dict(cseq_line=b"abc INVITE")),
        ("CSeq without a method", dict(cseq_line=b"1")),
        ("CSeq method not the request's", dict(cseq_line=b"1 BYE")),
        ("no Call-ID", dict(drop=("Call-ID",))),
        ("no From", dict(drop=("From",))),
    ]
    for i, (what, kw) in enumerate(bad):
        c = RawClient(tp, port)
        try:
            req = raw_request("INVITE", DIDS["local"], tp, port, c.local_port,
                              "raw-bad-%d" % i, body=SDP_AUDIO, **kw)
            expect_status(c, req, 400, "INVITE with %s over %s" % (what, tp))
        finally:
            c.close()

    # Content-Length not matching the body, in an INVITE to a number that is not ours (so no
    # call is set up; a well-framed one gets 404). Longer than the body: over UDP the datagram
    # is the whole message (RFC 3261 18.3: 400); over TCP the daemon waits for the rest, so
    # nothing comes back (400 is also fine). Shorter: over UDP the extra bytes are discarded
    # and the INVITE is answered (404); over TCP the rest is the start of a garbage message
    # (400 or silence), after the 404.
    longer = {400} if tp == "udp" else {400, None}
    for i, (what, cl, allowed) in enumerate([
            ("Content-Length longer than the body", len(SDP_AUDIO) + 40, longer),
            ("Content-Length shorter than the body", len(SDP_AUDIO) - 20, {404, 400})]):
        c = RawClient(tp, port)
        try:
            req = raw_request("INVITE", "+15550000000", tp, port, c.local_port,
                              "raw-cl-%d" % i, body=SDP_AUDIO, content_length=cl)
            c.send(req)
            finals = [x for x in c.responses(until_final=False, timeout=1.5) if x >= 200]
            got = finals[0] if finals else None
            if got not in allowed or set(finals) - {got, 400}:
                raise TestFailure("INVITE with %s over %s: got %s, expected one of %s" %
                                  (what, tp, finals or "silence", sorted(allowed, key=str)))
        finally:
            c.close()

    # Garbage that is not SIP at all: silence (or 400), never a crash.
    c = RawClient(tp, port)
    try:
        c.send(b"\x00\x01\x02 this is not SIP\r\n\r\n")
        codes = c.responses(timeout=1.0)
        if any(x != 400 for x in codes):
            raise TestFailure("garbage over %s answered %s" % (tp, codes))
    finally:
        c.close()

    # It still answers, over both transports.
    options_ok("udp", port)
    options_ok("tcp", port)
    t.daemon.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--daemon", help="path to inklessd")
    ap.add_argument("--transport", choices=["udp", "tcp"], default="udp")
    ap.add_argument("--list", action="store_true", help="list the cases and exit")
    ap.add_argument("case", nargs="?")
    args = ap.parse_args()
    if args.list:
        for name, fn in CASES.items():
            print("%-32s %s" % (name, " ".join(fn.__doc__.split())))
        return 0
    if not args.daemon or args.case not in CASES:
        ap.error("need --daemon and one of: " + ", ".join(CASES))

    def run():
        with harness.Test(args.daemon, args.transport, args.case) as t:
            CASES[args.case](t)

    return harness.main(run)


if __name__ == "__main__":
    sys.exit(main())
