# SPDX-License-Identifier: GPL-2.0-or-later
"""RFC 4475 torture messages against inklessd, bit-exact, over one transport.

    torture.py --daemon build/server/inklessd --transport udp|tcp --data tests/data/sip/rfc4475

Each .dat file is sent as it is (over UDP one datagram from a socket of its own, over TCP on
a connection of its own), and the daemon's answers on that socket are collected.

Checks:
  - the daemon never dies (checked after every message);
  - requests the RFC calls valid (3.1.1) and the 3.2-3.4 requests get a final response, any
    status (the RFC suggests one for several, e.g. 416 for an unknown URI scheme; the table
    printed shows what came back);
  - invalid messages (3.1.2, and test.dat) get 400 or nothing. For those where RFC 4475 lets
    an element parse liberally (LWS in or around the Request-URI, escaped headers in it, a
    non-GMT Date, spaces in an addr-spec) a normal answer is fine too, and for an unknown SIP
    version 505 is the right one;
  - responses (bcast, bigcode, scalarlg, noreason, unreason) get nothing back;
  - afterwards OPTIONS still gets 200 over UDP and TCP, and SIGTERM makes the daemon exit 0.

Where the response goes is decided by the top Via (RFC 3261 18.2.2), not by the socket: a
message whose Via names another transport than the one it came over (many of these files
say TCP or TLS) may be answered elsewhere or not at all, so for those nothing coming back is
accepted too, and the table says so.
"""

import argparse
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import RawClient, TestFailure, log, options_ok  # noqa: E402

# From tests/data's README (RFC 4475 sections).
VALID = {"wsinv", "intmeth", "esc01", "escnull", "esc02", "lwsdisp", "longreq", "dblreq",
         "semiuri", "transports", "mpart01", "unreason", "noreason"}
INVALID = {"badinv01", "clerr", "ncl", "scalar02", "scalarlg", "quotbal", "ltgtruri", "lwsruri",
           "lwsstart", "trws", "escruri", "baddate", "regbadct", "badaspec", "baddn", "badvers",
           "mismatch01", "mismatch02", "bigcode", "test"}
OTHER = {"badbranch", "insuf", "unkscm", "novelsc", "unksm2", "bext01", "invut", "regaut01",
         "multi01", "mcl01", "bcast", "zeromf", "cparam01", "cparam02", "regescrt", "sdp01",
         "inv2543"}
# Invalid, but RFC 4475 allows an element to be liberal and process them.
LIBERAL_OK = {"lwsruri", "lwsstart", "trws", "escruri", "baddate", "badaspec"}

# Known deviations of the SIP stack (sofia-sip), by message and transport: what happens, and
# why it is tolerated for now. Such a message passes when it behaves as listed or as it
# should; the table marks it "known".
KNOWN = {
    ("intmeth", "tcp"): ("none", "sofia-sip's parser drops it as garbage (NUL and other "
                                 "odd bytes in quoted strings); it should get 405/501"),
}

FIRST_WAIT = 0.1   # per message: how long to wait for its final response before the next
LATE_WAIT = 1.5    # after the last message: late responses on every socket

VIA_RX = re.compile(rb"^(?:via|v)[ \t]*:[ \t\r\n]*SIP[ \t\r\n]*/[ \t\r\n]*2\.0[ \t\r\n]*/"
                    rb"[ \t\r\n]*([A-Za-z]+)", re.I | re.M)


def via_transport(data):
    """The transport in the top Via of a message ("" if there is none)."""
    head = data.split(b"\r\n\r\n", 1)[0]
    m = VIA_RX.search(head)
    return m.group(1).decode().lower() if m else ""


def expectation(name, data):
    if data.startswith(b"SIP/"):
        return "none"             # a response: nothing to answer
    if name == "badvers":
        return "505-400-or-none"
    if name in LIBERAL_OK:
        return "any"
    if name in INVALID:
        return "400-or-none"
    if name in VALID or name in OTHER:
        return "final"
    raise TestFailure("%s.dat is in no RFC 4475 section of the table: classify it" % name)


def verdict(expect, codes, via_elsewhere):
    finals = [c for c in codes if c >= 200]
    if not codes and via_elsewhere:
        return True
    if expect == "none":
        return not codes
    if expect == "any":
        return True
    if expect == "400-or-none":
        return all(c == 400 for c in finals) and bool(finals or not codes)
    if expect == "505-400-or-none":
        return all(c in (400, 505) for c in finals) and bool(finals or not codes)
    return bool(finals)


def run_torture(t, data_dir):
    files = sorted(f for f in os.listdir(data_dir) if f.endswith(".dat"))
    if len(files) < 40:
        raise TestFailure("only %d .dat files in %s" % (len(files), data_dir))
    names = [f[:-4] for f in files]
    covered = VALID | INVALID | OTHER
    unknown = set(names) - covered
    if unknown:
        raise TestFailure("not in any RFC 4475 section of the table: %s" % ", ".join(unknown))
    missing = covered - set(names)
    if missing:
        raise TestFailure("missing from %s: %s" % (data_dir, ", ".join(sorted(missing))))

    t.start_daemon()
    port = t.ports.sip
    clients = []
    for f, name in zip(files, names):
        with open(os.path.join(data_dir, f), "rb") as fh:
            data = fh.read()
        try:
            c = RawClient(t.transport, port)
            c.send(data)
        except OSError as e:
            raise TestFailure("%s: cannot send over %s: %s" % (f, t.transport, e))
        c.responses(timeout=FIRST_WAIT)
        clients.append((name, expectation(name, data), via_transport(data), c))
        if t.daemon.proc.poll() is not None:
            raise TestFailure("daemon died (status %s) after %s" % (t.daemon.proc.returncode, f))

    deadline = time.monotonic() + LATE_WAIT
    results = []
    for name, expect, via, c in clients:
        codes = c.responses(until_final=False, timeout=max(0.0, deadline - time.monotonic()))
        c.close()
        elsewhere = via != t.transport
        ok = verdict(expect, codes, elsewhere)
        note = ""
        if elsewhere and not codes:
            note = "Via says %s" % (via.upper() or "nothing")
        known = KNOWN.get((name, t.transport))
        if not ok and known and verdict(known[0], codes, False):
            ok, note = "known", known[1]
        results.append((name, expect, codes, ok, note))
    if t.daemon.proc.poll() is not None:
        raise TestFailure("daemon died (status %s)" % t.daemon.proc.returncode)

    log("%-11s %-16s %-12s %-7s %s" % ("message", "expected", "got", "verdict", "note"))
    for name, expect, codes, ok, note in results:
        log("%-11s %-16s %-12s %-7s %s" % (name, expect, " ".join(map(str, codes)) or "-",
                                          ok if ok == "known" else "ok" if ok else "WRONG",
                                          note))
    bad = [r for r in results if not r[3]]

    # Whatever happened, it still answers over both transports and stops cleanly.
    options_ok("udp", port)
    options_ok("tcp", port)
    t.daemon.stop()
    if bad:
        raise TestFailure("%d message(s) not handled as expected: %s" %
                          (len(bad), ", ".join("%s (%s: %s)" % (n, e, c or "silence")
                                               for n, e, c, _, _ in bad)))


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--daemon", required=True)
    ap.add_argument("--transport", choices=["udp", "tcp"], required=True)
    ap.add_argument("--data", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                   "..", "data", "sip", "rfc4475"))
    args = ap.parse_args()

    def run():
        with harness.Test(args.daemon, args.transport, "torture") as t:
            run_torture(t, args.data)

    return harness.main(run)


if __name__ == "__main__":
    sys.exit(main())
