# SPDX-License-Identifier: GPL-2.0-or-later
"""One end-to-end fax test: the real inklessd and our test fax peer (tools/faxpeer) on
loopback, a whole fax over T.38, pages compared as decoded bitmaps.

    e2e.py --build BUILD_DIR --data TESTDATA_DIR CASE
    e2e.py --list

The peer plays the carrier: it calls the daemon and sends a document (inbound cases, "rx_"),
or it answers the daemon's call and receives (outbound cases, "tx_"). Every page the receiver
wrote must decode to the same bitmap as the page sent (tests/lib/faxpages), whatever the
encoding on the wire. Both ends run their media clock SPEED times faster than real time
(media.speedup, faxpeer --speed): the same code path, with the 20 ms tick shortened; one case
runs at real speed. Each case has its own ports and temp dir (tests/sip/harness.py), so cases
run in parallel. Exit 0 pass, 1 fail, 77 skip (a tool is missing).

Per-call figures (duration, pages/s) are printed as one "E2E ..." line per fax, for the notes.
"""

import argparse
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "sip"))
import harness  # noqa: E402
from harness import DIDS, Skip, TestFailure, log, trunk  # noqa: E402

SPEED = 10                       # media clock speed-up for most cases
# Fax over G.711: a late packet is as late in media time as the speed-up makes it, so on a
# loaded test machine a 10x clock turns scheduling hiccups of a few ms into audio lost from
# the jitter buffer. The G.711 cases run at 5x with a 200 ms buffer: 40 ms of real-time
# slack, close to production's 60 ms at real speed (audio.jitter_delay's default).
G711_SPEED = 5
G711 = {"audio.jitter_delay": 200}
PEER_SLACK_S = 30                # real seconds allowed beyond the fax's own duration
RECORD_TIMEOUT = 10.0            # phase E -> the result record on disk

CASES = {}


def case(fn):
    CASES[fn.__name__.replace("case_", "")] = fn
    return fn


class Fax:
    """Paths of the tools and the data, and the test (harness.Test) they run in."""

    def __init__(self, t, build, data):
        self.t = t
        self.build = build
        self.data = data
        self.faxpeer = os.path.join(build, "tools", "faxpeer", "faxpeer")
        self.faxpages = os.path.join(build, "tests", "faxpages")
        self.inkless = os.path.join(build, "server", "inkless")
        for p in (self.faxpeer, self.faxpages, self.inkless):
            if not os.access(p, os.X_OK):
                raise TestFailure("%s is not built" % p)

    def doc(self, name):
        path = os.path.join(self.data, "tiff", "itu", name)
        if not os.path.exists(path):
            raise TestFailure("missing test document %s" % path)
        return path

    # ---- the daemon ----

    def start_daemon(self, speed=SPEED, trunk_opts=None, overrides=None):
        tr = trunk(reinvite="none")
        tr.update(trunk_opts or {})
        cfg = {"media.speedup": speed, "trunks": [tr]}
        cfg.update(overrides or {})
        return self.t.start_daemon(cfg)

    def daemon_fds(self):
        """The daemon's open file descriptors, once its count has held still for 0.3 s (the
        storage thread opens and closes files of its own: the startup scan, an ingest)."""
        path = "/proc/%d/fd" % self.t.daemon.proc.pid
        last, deadline = -1, time.monotonic() + 5
        while time.monotonic() < deadline:
            n = len(os.listdir(path))
            if n == last:
                return n
            last = n
            time.sleep(0.3)
        return last

    def inkless_cli(self, *args, timeout=60):
        """Run `inkless -c CONFIG ARGS...`; returns the CompletedProcess (text)."""
        argv = [self.inkless, "-c", self.t.config_path] + list(args)
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout)

    def stored(self):
        """The faxes in the daemon's archive index (`inkless inbox --json`), oldest first."""
        r = self.inkless_cli("inbox", "--json")
        if r.returncode != 0:
            raise TestFailure("inkless inbox failed (%d): %s" % (r.returncode, r.stderr))
        return sorted((json.loads(l) for l in r.stdout.splitlines() if l.startswith("{")),
                      key=lambda x: x["id"])

    def records(self):
        """The received faxes as the archive holds them, oldest first: each index row
        (`inkless show ID --json`) with "file", its pages exported from the archive to a
        multi-page TIFF (`inkless export ID --tiff`, every object re-hashed on the way), or
        None when no page was stored."""
        out = []
        for row in self.stored():
            r = self.inkless_cli("show", str(row["id"]), "--json")
            if r.returncode != 0:
                raise TestFailure("inkless show %d failed: %s" % (row["id"], r.stderr))
            rec = json.loads(r.stdout)
            rec["file"] = None
            if rec["page_list"]:
                path = os.path.join(self.t.tmp, "fax-%d.tif" % rec["id"])
                if not os.path.exists(path):
                    r = self.inkless_cli("export", str(rec["id"]), "--tiff", path)
                    if r.returncode != 0:
                        raise TestFailure("inkless export %d failed: %s" % (rec["id"], r.stderr))
                rec["file"] = path
            out.append(rec)
        return out

    def wait_records(self, n, timeout=RECORD_TIMEOUT):
        """Wait until n faxes are stored; then the spool must hold nothing of them."""
        deadline = time.monotonic() + timeout
        while True:
            rows = self.stored()
            if len(rows) >= n or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        if len(rows) < n:
            raise TestFailure("%d fax(es) in the archive index, expected %d" % (len(rows), n))
        recs = self.records()
        if len(recs) == n:
            left = [p for p in os.listdir(os.path.join(self.t.tmp, "var", "spool", "rx"))
                    if p.endswith((".tif", ".json"))]
            if left:
                raise TestFailure("stored, but still in spool/rx: %s" % left)
        return recs

    # ---- the peer ----

    def peer_args(self, speed):
        return [self.faxpeer, "--speed", str(speed), "--seed", str(os.getpid())]

    def call(self, doc, args=(), speed=SPEED, timeout=None, expect_rc=0, did=DIDS["local"]):
        """faxpeer calls the daemon and sends `doc`; returns its per-call JSON results."""
        port = self.t.ports.sip
        argv = self.peer_args(speed) + [
            "--call", "sip:%s@127.0.0.1:%d" % (did.lstrip("+"), port),
            "--transport", self.t.transport, "--send", doc] + list(args)
        if timeout is None:
            pages = len(self.pages(doc))
            timeout = 40.0 * pages / speed + PEER_SLACK_S
        argv += ["--timeout", "%.0f" % timeout]
        return self.run_peer(argv, timeout * 2 + 30, expect_rc)

    def run_peer(self, argv, limit, expect_rc=0):
        log("$ " + " ".join(argv))
        errpath = os.path.join(self.t.tmp, "faxpeer-%d.log" % len(os.listdir(self.t.tmp)))
        with open(errpath, "wb") as err:
            try:
                r = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=err, timeout=limit)
            except subprocess.TimeoutExpired:
                raise TestFailure("faxpeer still running after %.0f s" % limit)
        with open(errpath, errors="replace") as f:
            peer_log = f.read()
        results = [json.loads(l) for l in r.stdout.decode().splitlines() if l.startswith("{")]
        if r.returncode != expect_rc:
            log("---- faxpeer log ----\n" + peer_log[-6000:])
            raise TestFailure("faxpeer exited %d, expected %d: %s" %
                              (r.returncode, expect_rc, [c.get("reason") or c.get("t30_text")
                                                         for c in results if "call" in c]))
        return [c for c in results if "call" in c]

    # ---- pages ----

    def pages(self, path):
        r = subprocess.run([self.faxpages, path], capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise TestFailure("cannot decode %s: %s" % (path, r.stderr.strip()))
        # "FILE PAGE WxH XRES YRES HASH": compare size and bitmap hash
        return [tuple(l.split()[2:3] + l.split()[5:6]) for l in r.stdout.splitlines()]

    def same_pages(self, sent, received, what):
        a, b = self.pages(sent), self.pages(received)
        if len(a) != len(b):
            raise TestFailure("%s: %d pages received, %d sent" % (what, len(b), len(a)))
        bad = [i + 1 for i, (x, y) in enumerate(zip(a, b)) if x != y]
        if bad:
            raise TestFailure("%s: page(s) %s differ from what was sent" % (what, bad))
        return len(a)


def figures(label, res, pages):
    d = res.get("duration_s") or 0.0
    media = res.get("media_s") or 0.0
    log("E2E %s: %d pages, %s bit/s, ECM %s, %.1f s wall, %.1f s media time, %.3f pages/s "
        "media time" % (label, pages, res.get("bit_rate"), "on" if res.get("ecm") else "off", d,
                        media, pages / media if media else 0.0))


def check_ok(res, what):
    if res.get("result") != "ok" or res.get("t30_status") != 0:
        raise TestFailure("%s: peer result %s (T.30 %s %s) %s" %
                          (what, res.get("result"), res.get("t30_status"), res.get("t30_text"),
                           res.get("reason")))


def receive(f, doc, peer_args=(), trunk_opts=None, overrides=None, speed=SPEED, expect=None,
            transport="t38"):
    """One inbound fax: the peer sends `doc`, the daemon receives it; every page checked.
    `expect` ({"ecm": True, "bit_rate": 9600, ...}) is checked against the daemon's record."""
    f.start_daemon(speed=speed, trunk_opts=trunk_opts, overrides=overrides)
    res = f.call(doc, peer_args, speed=speed)
    check_ok(res[0], "sender")
    rec = f.wait_records(1)[0]
    if rec["status"] != "ok" or rec["t30_code"] != 0:
        raise TestFailure("daemon's record: %s" % rec)
    n = f.same_pages(doc, rec["file"], "received fax")
    if rec["pages"] != n:
        raise TestFailure("record says %d pages, the file has %d" % (rec["pages"], n))
    for k, v in (expect or {}).items():
        if rec.get(k) != v:
            raise TestFailure("record %s = %r, expected %r (%s)" % (k, rec.get(k), v, rec))
    if rec["remote_ident"] != "15559990000" or rec["did"] != DIDS["local"].lstrip("+") or \
            rec["transport"] != transport or rec["direction"] != "rx":
        raise TestFailure("record names the wrong ends: %s" % rec)
    figures(f.t.name, res[0], n)
    f.t.daemon.stop()
    return rec, res[0]


# ---- documents, compressions, rates, resolutions, ECM ----


@case
def case_rx_mh_ecm_14400(f):
    """12-page ITU set, MH source, ECM on, V.17 14400: every page identical."""
    receive(f, f.doc("itutests_fine_mh.tif"), ["--ecm", "--max-rate", "14400"],
            expect={"ecm": True, "bit_rate": 14400, "transport": "t38"})


@case
def case_rx_mr_noecm_14400(f):
    """12-page ITU set, MR (2-D) source, ECM off, 14400."""
    receive(f, f.doc("itutests_fine_mr.tif"), ["--no-ecm", "--max-rate", "14400"],
            expect={"ecm": False, "bit_rate": 14400})


@case
def case_rx_mmr_ecm_9600(f):
    """12-page ITU set, MMR (T.6) source, ECM on, V.29 9600."""
    receive(f, f.doc("itutests_fine_mmr.tif"), ["--ecm", "--max-rate", "9600"],
            expect={"ecm": True, "bit_rate": 9600})


@case
def case_rx_mh_noecm_9600(f):
    """12-page ITU set, MH, ECM off, 9600."""
    receive(f, f.doc("itutests_fine_mh.tif"), ["--no-ecm", "--max-rate", "9600"],
            expect={"ecm": False, "bit_rate": 9600})


@case
def case_rx_standard_ecm(f):
    """8 ITU pages at standard resolution (204x98), ECM on."""
    receive(f, f.doc("itu1-8_standard_mh.tif"), ["--ecm"],
            expect={"ecm": True, "resolution": "standard"})


@case
def case_rx_standard_noecm_9600(f):
    """8 ITU pages at standard resolution, ECM off, 9600."""
    receive(f, f.doc("itu1-8_standard_mh.tif"), ["--no-ecm", "--max-rate", "9600"],
            expect={"ecm": False, "bit_rate": 9600})


# ---- UDPTL error recovery and impairments ----


@case
def case_rx_redundancy0(f):
    """No UDPTL redundancy on either side (t38UDPNoEC / ec none), clean network."""
    receive(f, f.doc("itutests_fine_mh.tif"), ["--redundancy", "0"],
            overrides={"t38.ec": "none"})


@case
def case_rx_redundancy3(f):
    """Redundancy depth 3 from the peer, the daemon's default redundancy back."""
    receive(f, f.doc("itutests_fine_mh.tif"), ["--redundancy", "3"])


@case
def case_rx_fec(f):
    """Parity FEC (t38UDPFEC) negotiated on both sides."""
    receive(f, f.doc("itutests_fine_mh.tif"), ["--fec"], overrides={"t38.ec": "fec"})


@case
def case_rx_loss5(f):
    """5 % random packet loss both ways, redundancy 3: the fax still succeeds, bit-exact."""
    _, res = receive(f, f.doc("itutests_fine_mh.tif"),
                     ["--redundancy", "3", "--loss", "5", "--ecm"])
    if not res.get("impair"):
        raise TestFailure("the peer reports no impairment figures: %s" % res)


@case
def case_rx_fec_loss(f):
    """2 % random loss both ways with parity FEC: recovered, bit-exact."""
    receive(f, f.doc("itutests_fine_mh.tif"), ["--fec", "--loss", "2", "--ecm"],
            overrides={"t38.ec": "fec"})


@case
def case_rx_impaired(f):
    """Loss in bursts, reordering, duplicates and 40 ms jitter at once, ECM, redundancy 3."""
    receive(f, f.doc("itutests_fine_mh.tif"),
            ["--redundancy", "3", "--loss", "2", "--burst", "2", "--reorder", "3", "--dup", "3",
             "--jitter", "40", "--ecm"])


# ---- how the call gets to T.38 ----


@case
def case_rx_reinvite_us(f):
    """Audio first; the daemon re-INVITEs to T.38 (trunk t38_reinvite "us")."""
    receive(f, f.doc("itu1_fine_mh.tif"), ["--t38", "wait"],
            trunk_opts={"t38_reinvite": "us", "t38_reinvite_delay_ms": 300})


@case
def case_rx_reinvite_peer(f):
    """Audio first; the peer re-INVITEs to T.38 (trunk t38_reinvite "them")."""
    receive(f, f.doc("itu1_fine_mh.tif"), ["--t38", "reinvite", "--reinvite-delay", "300"],
            trunk_opts={"t38_reinvite": "them"})


@case
def case_rx_glare(f):
    """Audio first; both re-INVITE at once: 491 and a retry after RFC 3261's random delay."""
    f.start_daemon(trunk_opts={"t38_reinvite": "either", "t38_reinvite_delay_ms": 300})
    doc = f.doc("itu1_fine_mh.tif")
    res = f.call(doc, ["--t38", "glare"])
    check_ok(res[0], "sender")
    # The peer answered our re-INVITE 491 while sending its own: the daemon must have seen
    # the 491 and scheduled its retry (RFC 3261 §14.1), and the call still got to T.38.
    if not f.t.daemon.find(r"re-INVITE glare \(491\), retrying in \d+ ms"):
        raise TestFailure("no glare happened (no 491 to the daemon's re-INVITE)")
    rec = f.wait_records(1)[0]
    f.same_pages(doc, rec["file"], "received fax")
    f.t.daemon.stop()


# ---- calls ending early ----


@case
def case_rx_bye_mid_fax(f):
    """The peer hangs up after 3 pages of 12: the daemon records a partial fax with the pages
    that arrived, frees the channel (a second call gets through with max_channels 1), and
    holds no more file descriptors than before."""
    f.start_daemon(overrides={"limits.max_channels": 1})
    fds = f.daemon_fds()
    doc = f.doc("itutests_fine_mh.tif")
    res = f.call(doc, ["--bye-after-pages", "3", "--expect-fail"], expect_rc=0)
    rec = f.wait_records(1)[0]
    if rec["status"] != "partial" or rec["pages"] < 2 or rec["pages"] > 4 or \
            len(rec["page_list"]) < rec["pages"]:
        raise TestFailure("record of a fax cut after 3 pages: %s" % rec)
    got = f.pages(rec["file"])
    want = f.pages(doc)[:len(got)]
    if not got or got[:-1] != want[:-1]:
        raise TestFailure("partial fax: pages that arrived differ from those sent")
    log("E2E partial: %d pages kept, peer saw %s" % (rec["pages"], res[0].get("pages")))
    f.t.daemon.wait_log(r"ended after", 10, what="end of the call")
    one = f.doc("itu1_fine_mh.tif")
    res = f.call(one)
    check_ok(res[0], "second call")
    f.wait_records(2)
    time.sleep(0.5)
    if f.daemon_fds() > fds:
        raise TestFailure("daemon holds %d fds after two calls, %d before" % (f.daemon_fds(), fds))
    f.t.daemon.stop()


@case
def case_rx_cancel(f):
    """The peer CANCELs while the daemon rings (answer delay): 487; then a second call to the same daemon (max_channels 1) that
    completes: the cancelled call left no channel taken."""
    f.start_daemon(overrides={"limits.max_channels": 1, "sip.answer_delay_ms": 1500})
    fds = f.daemon_fds()
    doc = f.doc("itu1_fine_mh.tif")
    res = f.call(doc, ["--cancel-after", "300", "--expect-fail"])
    if res[0].get("sip_status") != 487:
        raise TestFailure("CANCEL answered %s, expected 487" % res[0].get("sip_status"))
    res = f.call(doc)
    check_ok(res[0], "call after the CANCEL")
    f.wait_records(1)
    time.sleep(0.5)
    if f.daemon_fds() > fds:
        raise TestFailure("daemon holds %d fds, %d at start" % (f.daemon_fds(), fds))
    f.t.daemon.stop()


# ---- size, speed, load ----


@case
def case_rx_100_pages(f):
    """A 100-page document (the ITU pages over and over), ECM, at 20x speed."""
    tiffcp = shutil.which("tiffcp")
    if not tiffcp:
        raise Skip("tiffcp not found (Debian package libtiff-tools)")
    src = [f.doc("itutests_fine_mh.tif")] * 8 + [f.doc("itu%d_fine_mh.tif" % i) for i in (1, 2, 3, 4)]
    doc = os.path.join(f.t.tmp, "100pages.tif")
    subprocess.run([tiffcp, "-c", "g4"] + src + [doc], check=True, timeout=120)
    if len(f.pages(doc)) != 100:
        raise TestFailure("built a %d-page document, wanted 100" % len(f.pages(doc)))
    receive(f, doc, ["--ecm"], speed=20)


@case
def case_rx_realtime(f):
    """One page at real speed (no media clock speed-up): a fax as a carrier sends it."""
    receive(f, f.doc("itu1_fine_mh.tif"), ["--ecm"], speed=1)


@case
def case_rx_load(f):
    """The peer's load mode: 8 calls at once, 16 in all, each a 1-page fax: every one passes,
    every page received identical."""
    f.start_daemon(overrides={"limits.max_channels": 8})
    doc = f.doc("itu1_fine_mh.tif")
    res = f.call(doc, ["--calls", "16", "--concurrent", "8"])
    if len(res) != 16 or any(r.get("result") != "ok" for r in res):
        raise TestFailure("load: %s" % [r.get("result") for r in res])
    recs = f.wait_records(16)
    for r in recs:
        f.same_pages(doc, r["file"], "fax %s" % r["call_id"])
    d = [r["duration_s"] for r in res]
    log("E2E load: 16 calls, 8 at once: duration min %.1f s, max %.1f s" % (min(d), max(d)))
    f.t.daemon.stop()


# ---- the archive: show, export, dedup, scrub ----


def pbm_hash(path):
    """faxpages' bitmap hash (tests/lib/pages.c: FNV-1a over width, rows and the rows up to
    the last black one) of a raw PBM (P4, 1 = black)."""
    with open(path, "rb") as fp:
        data = fp.read()
    fields, pos = [], 0
    while len(fields) < 3:
        m = re.compile(rb"\s*(#[^\n]*\n\s*)*(\S+)").match(data, pos)
        if not m:
            raise TestFailure("%s: not a PBM" % path)
        fields.append(m.group(2))
        pos = m.end()
    if fields[0] != b"P4":
        raise TestFailure("%s: not a raw PBM" % path)
    width, rows = int(fields[1]), int(fields[2])
    stride = (width + 7) // 8
    bits = bytearray(data[pos + 1:pos + 1 + stride * rows])
    if width % 8:
        for r in range(rows):
            bits[r * stride + stride - 1] &= (0xff << (8 - width % 8)) & 0xff
    last = rows
    while last > 0 and not any(bits[(last - 1) * stride:last * stride]):
        last -= 1
    h = 1469598103934665603
    for b in width.to_bytes(4, "little") + last.to_bytes(4, "little") + \
            bytes(bits[:last * stride]):
        h = ((h ^ b) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return "%dx%d" % (width, last), "%016x" % h


@case
def case_rx_archive(f):
    """The archive end to end: the 12-page ITU set received twice, once MH and once MMR (the
    same bitmaps): both faxes stored, their pages stored once (12 page objects, dedup 2.0) and
    counted twice in `inkless usage` (24 pages); `inkless show` gives the call's result; `inkless export --pdf` gives a 12-page PDF whose
    pages, rasterised by poppler at each page's resolution, are the pages sent; `inkless
    scrub` finds everything in order."""
    for tool in ("pdfinfo", "pdftoppm"):
        if not shutil.which(tool):
            raise Skip("%s not found (Debian package poppler-utils)" % tool)
    mh, mmr = f.doc("itutests_fine_mh.tif"), f.doc("itutests_fine_mmr.tif")
    f.start_daemon()
    for n, doc in enumerate((mh, mmr), 1):
        res = f.call(doc, ["--ecm"])
        check_ok(res[0], "sender")
        recs = f.wait_records(n)
        f.same_pages(doc, recs[-1]["file"], "fax %d" % n)
    a, b = recs
    if [p["hash"] for p in a["page_list"]] != [p["hash"] for p in b["page_list"]]:
        raise TestFailure("the same pages received twice got different archive ids")
    r = f.inkless_cli("stats", "--json")
    stats = json.loads(r.stdout)
    if r.returncode != 0 or stats["faxes"] != 2 or stats["pages"] != 24 or \
            stats["page_objects"] != 12 or stats["objects"] != 14:
        raise TestFailure("stats after the same 12 pages twice: %s %s" % (stats, r.stderr))
    log("E2E archive: %s" % stats)
    # The inbox's filters, as an operator types them.
    today = time.strftime("%Y-%m-%d", time.gmtime())
    local = ("--did", DIDS["local"])
    for args, want in ((local, 2), (local + ("--status", "ok"), 2),
                       (local + ("--status", "failed"), 0), (("--did", DIDS["tollfree"]), 0),
                       (("--from", today, "--to", today), 2), (("--to", "2000-01-01"), 0),
                       (("--direction", "tx"), 0), (("--limit", "1"), 1)):
        r = f.inkless_cli("inbox", "--json", *args)
        got = [l for l in r.stdout.splitlines() if l.startswith("{")]
        if r.returncode != 0 or len(got) != want:
            raise TestFailure("inkless inbox %s: %d fax(es), expected %d (exit %d: %s)" %
                              (" ".join(args), len(got), want, r.returncode, r.stderr))
    r = f.inkless_cli("usage", "--did", DIDS["local"], "--direction", "rx", "--json")
    usage = [json.loads(l) for l in r.stdout.splitlines()]
    if r.returncode != 0 or sum(u["faxes"] for u in usage) != 2 or \
            sum(u["pages"] for u in usage) != 24:
        raise TestFailure("usage after two 12-page faxes: %s %s" % (usage, r.stderr))

    r = f.inkless_cli("show", str(a["id"]))
    for want in (r"status\s+ok, T\.30 0", r"remote\s+.*ident '15559990000'",
                 r"pages\s+12 \(stored 12\), fine", r"transfer\s+t38, 14400 bit/s, ECM on",
                 r"page 12\s+[0-9a-f]{64}"):
        if r.returncode != 0 or not re.search(want, r.stdout):
            raise TestFailure("inkless show: no /%s/ in:\n%s%s" % (want, r.stdout, r.stderr))

    pdf = os.path.join(f.t.tmp, "fax.pdf")
    r = f.inkless_cli("export", str(a["id"]), "--pdf", pdf)
    if r.returncode != 0:
        raise TestFailure("inkless export --pdf: %s" % r.stderr)
    info = subprocess.run(["pdfinfo", pdf], capture_output=True, text=True, timeout=60)
    if info.returncode != 0 or not re.search(r"^Pages:\s+12$", info.stdout, re.M):
        raise TestFailure("pdfinfo: %s%s" % (info.stdout, info.stderr))
    sent = f.pages(mh)
    for i, pg in enumerate(a["page_list"]):
        prefix = os.path.join(f.t.tmp, "page%d" % (i + 1))
        subprocess.run(["pdftoppm", "-f", str(i + 1), "-l", str(i + 1), "-rx", str(pg["xres"]),
                        "-ry", str(pg["yres"]), "-mono", "-singlefile", pdf, prefix],
                       check=True, timeout=60)
        if pbm_hash(prefix + ".pbm") != sent[i]:
            raise TestFailure("PDF page %d rasterised is not the page sent" % (i + 1))
        os.unlink(prefix + ".pbm")

    r = f.inkless_cli("scrub")
    if r.returncode != 0:
        raise TestFailure("scrub of a clean archive exited %d: %s%s" %
                          (r.returncode, r.stdout, r.stderr))
    f.t.daemon.stop()


# ---- the wire format, as tshark reads it ----


@case
def case_rx_tshark(f):
    """A whole fax captured on loopback: tshark's T.38 dissector decodes every UDPTL packet, in
    both directions, with nothing malformed."""
    dumpcap = shutil.which("dumpcap") or shutil.which("tshark")
    if not dumpcap or not shutil.which("tshark"):
        raise Skip("tshark not installed")
    ports = f.t.ports
    pcap = os.path.join(f.t.tmp, "fax.pcapng")
    flt = "udp portrange %d-%d" % (ports.media_min, ports.media_max)
    cap = subprocess.Popen([dumpcap, "-q", "-i", "lo", "-f", flt, "-w", pcap],
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE)
    deadline = time.monotonic() + 10
    while not os.path.exists(pcap) and time.monotonic() < deadline and cap.poll() is None:
        time.sleep(0.1)
    if cap.poll() is not None:
        err = cap.stderr.read().decode(errors="replace")
        if "ermission" in err or "privileges" in err:
            raise Skip("cannot capture on lo: " + err.strip())
        raise TestFailure("capture did not start: " + err.strip())
    time.sleep(0.5)
    try:
        receive(f, f.doc("itu1_fine_mh.tif"), ["--redundancy", "3"])
    finally:
        time.sleep(0.5)
        cap.send_signal(signal.SIGINT)
        try:
            cap.wait(10)
        except subprocess.TimeoutExpired:
            cap.kill()
    decode = []
    for p in range(ports.media_min, ports.media_max + 1, 2):
        decode += ["-d", "udp.port==%d,t38" % p]
    # T38FaxVersion 0 was negotiated: spandsp then encodes field types the pre-corrigendum way,
    # tshark's default reading (for version >= 1 it would be
    # t38.use_pre_corrigendum_asn1_specification:FALSE).
    r = subprocess.run(["tshark", "-r", pcap] + decode +
                       ["-T", "fields", "-E", "separator=/t", "-e", "frame.protocols",
                        "-e", "udp.srcport", "-e", "udp.dstport", "-e", "udp.payload",
                        "-e", "_ws.malformed", "-e", "_ws.expert"],
                       capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise TestFailure("tshark failed: %s" % r.stderr)
    to_us = from_us = repeats = 0
    bad = []
    seen = set()
    media = range(ports.media_min, ports.media_max + 1)
    for n, line in enumerate(r.stdout.splitlines(), 1):
        proto, sport, dport, payload, malformed, expert = (line.split("\t") + [""] * 6)[:6]
        if ":t38" not in proto:
            bad.append("frame %d not T.38: %s" % (n, proto))
        key = (sport, dport, payload)
        # T.38 end-of-data indicators go out three times under one sequence number (spandsp's
        # count; SPANDSP-NOTES pitfall 1). tshark's fragment reassembly flags the 2nd and 3rd
        # copy "[RECEIVED END OF FRAGMENT W/OUT ANY FRAGMENT DATA]": the packet itself decodes
        # (no ASN.1 exception), so that flag is accepted on a byte-identical repeat, and
        # nothing else is.
        if malformed or "Error" in expert:
            if key in seen and "END OF FRAGMENT W/OUT ANY FRAGMENT DATA" in expert and \
                    "Exception" not in expert:
                repeats += 1
            else:
                bad.append("frame %d malformed/expert: %s %s" % (n, malformed, expert))
        seen.add(key)
        if int(dport or 0) in media:
            to_us += 1
        elif int(sport or 0) in media:
            from_us += 1
    if bad:
        raise TestFailure("%d bad frames, e.g. %s" % (len(bad), bad[:5]))
    if to_us < 50 or from_us < 50:
        raise TestFailure("capture too small: %d packets to the daemon, %d from it" %
                          (to_us, from_us))
    log("E2E tshark: %d UDPTL packets to the daemon and %d from it, all T.38, none malformed "
        "(%d repeated end-of-data copies)" % (to_us, from_us, repeats))


# ---- SIP over TLS ----


def make_certs(tmp):
    """A throwaway CA, a server certificate for 127.0.0.1 and a client certificate, made with
    the openssl command line into tmp/tls (never kept). Returns their paths."""
    openssl = shutil.which("openssl")
    if not openssl:
        raise Skip("openssl not found (Debian package openssl)")
    d = os.path.join(tmp, "tls")
    os.makedirs(d)
    p = {n: os.path.join(d, n) for n in ("ca.key", "ca.pem", "server.key", "server.pem",
                                          "client.key", "client.pem", "ext.cnf")}

    def run(*args):
        r = subprocess.run([openssl] + list(args), capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise TestFailure("openssl %s: %s" % (args[0], r.stderr.strip()))

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
        "/CN=inkless test CA", "-keyout", p["ca.key"], "-out", p["ca.pem"])
    with open(p["ext.cnf"], "w") as fp:
        fp.write("basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1\n")
    for name in ("server", "client"):
        csr = os.path.join(d, name + ".csr")
        run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=inkless test " + name,
            "-keyout", p[name + ".key"], "-out", csr)
        run("x509", "-req", "-in", csr, "-CA", p["ca.pem"], "-CAkey", p["ca.key"],
            "-CAcreateserial", "-days", "2", "-extfile", p["ext.cnf"], "-out", p[name + ".pem"])
    return p


def peer_tls_dir(tmp, name, key=None, cert=None, ca=None):
    """faxpeer's --tls-dir (Sofia-SIP's layout): agent.pem = key + certificate, cafile.pem."""
    d = os.path.join(tmp, name)
    os.makedirs(d, mode=0o700)
    if key:
        with open(os.path.join(d, "agent.pem"), "w") as out:
            for src in (key, cert):
                with open(src) as fp:
                    out.write(fp.read())
    if ca:
        shutil.copy(ca, os.path.join(d, "cafile.pem"))
    return d


class Capture:
    """dumpcap on loopback with a capture filter, into a pcapng file in the test's dir."""

    def __init__(self, f, flt, name):
        self.dumpcap = shutil.which("dumpcap") or shutil.which("tshark")
        if not self.dumpcap or not shutil.which("tshark"):
            raise Skip("tshark not installed")
        self.pcap = os.path.join(f.t.tmp, name)
        self.proc = subprocess.Popen([self.dumpcap, "-q", "-i", "lo", "-f", flt, "-w", self.pcap],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while not os.path.exists(self.pcap) and time.monotonic() < deadline and \
                self.proc.poll() is None:
            time.sleep(0.1)
        if self.proc.poll() is not None:
            err = self.proc.stderr.read().decode(errors="replace")
            if "ermission" in err or "privileges" in err:
                raise Skip("cannot capture on lo: " + err.strip())
            raise TestFailure("capture did not start: " + err.strip())
        time.sleep(0.5)

    def stop(self):
        if self.proc.poll() is None:
            time.sleep(0.5)
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@case
def case_sip_tls(f):
    """SIP over TLS with client certificates (sip.tls_verify_clients): a CA, server and client
    certificates made with openssl; the peer sends a fax to the daemon's TLS port (sips:),
    every page identical and the daemon saying "tls"; a peer without a client certificate
    is refused; the daemon sends a fax through a trunk with transport "tls" to the peer
    listening on TLS; tshark sees only TLS records on both ports, no cleartext SIP. And a
    daemon told to use TLS without a certificate, or with a key that is not the
    certificate's, refuses to start, saying so."""
    certs = make_certs(f.t.tmp)
    tls_port = f.t.ports.sipp_port(3)      # no sipp in this case: its slot is free

    # "tls" without a certificate: a clear startup error, not a TLS failure at the first call.
    f.t.config = harness.merge(f.t.config, {"sip.transports": ["udp", "tcp", "tls"]})
    with open(f.t.config_path, "w") as fp:
        fp.write(harness.config_text(f.t.config))
    r = subprocess.run([f.t.daemon_path, "-c", f.t.config_path], stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=10)
    if r.returncode == 0 or "\"tls\" needs sip.tls_cert" not in r.stderr:
        raise TestFailure("TLS without a certificate: exit %d, %r" % (r.returncode, r.stderr))
    # A key that is not the certificate's: sofia-sip would only log it; the daemon stops.
    f.t.config = harness.merge(f.t.config, {
        "sip.tls_port": tls_port, "sip.tls_cert": certs["server.pem"],
        "sip.tls_key": certs["client.key"]})
    with open(f.t.config_path, "w") as fp:
        fp.write(harness.config_text(f.t.config))
    r = subprocess.run([f.t.daemon_path, "-c", f.t.config_path], stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=20)
    if r.returncode == 0 or "TLS: cannot use the certificate" not in r.stderr:
        raise TestFailure("TLS with the wrong key: exit %d, %r" % (r.returncode, r.stderr))

    peer_port = f.t.ports.sipp_port(0)
    cap = Capture(f, "tcp port %d or tcp port %d" % (tls_port, peer_port), "tls.pcapng")
    try:
        f.start_daemon(trunk_opts={"proxy": "127.0.0.1:%d" % peer_port, "transport": "tls",
                                   "caller_id": DIDS["local"]}, overrides={
            "sip.transports": ["udp", "tcp", "tls"], "sip.tls_port": tls_port,
            "sip.tls_cert": certs["server.pem"], "sip.tls_key": certs["server.key"],
            "sip.tls_ca": certs["ca.pem"], "sip.tls_verify_clients": True})
        f.t.daemon.wait_log(r"tls on %d \(client certificates required\)" % tls_port, 1,
                            what="TLS in the ready line")
        uri = "sips:%s@127.0.0.1:%d" % (DIDS["local"].lstrip("+"), tls_port)
        doc = f.doc("itu1_fine_mh.tif")
        good = peer_tls_dir(f.t.tmp, "peer", certs["client.key"], certs["client.pem"],
                            certs["ca.pem"])
        res = f.run_peer(f.peer_args(SPEED) + ["--call", uri, "--tls-dir", good, "--send", doc,
                                               "--timeout", "60"], 150)
        check_ok(res[0], "sender over TLS")
        if res[0].get("sip_transport") != "tls":
            raise TestFailure("the peer did not call over TLS: %s" % res[0])
        rec = f.wait_records(1)[0]
        f.same_pages(doc, rec["file"], "fax received over TLS")
        if not f.t.daemon.find(r"via trunk local \(127\.0\.0\.1:\d+, tls\)"):
            raise TestFailure("the daemon did not see the call as TLS")
        figures("sip_tls", res[0], 1)

        # No client certificate: the handshake is refused, the call never reaches the daemon.
        mark = f.t.daemon.mark()
        bare = peer_tls_dir(f.t.tmp, "peer-nocert", ca=certs["ca.pem"])
        res = f.run_peer(f.peer_args(SPEED) + ["--call", uri, "--tls-dir", bare, "--send", doc,
                                               "--timeout", "30", "--expect-fail"], 90)
        if res[0].get("result") == "ok" or f.t.daemon.find(r"via trunk", since=mark):
            raise TestFailure("a client without a certificate got through: %s" % res[0])
        log("E2E sip_tls: no client certificate: SIP status %s (%s)" %
            (res[0].get("sip_status"), res[0].get("reason")))

        # Outbound: the trunk (transport "tls") dials the peer listening on TLS, which wants
        # our certificate and checks it against the CA, as we check the peer's.
        out = os.path.join(f.t.tmp, "peer-rx.tif")
        peer = subprocess.Popen(
            f.peer_args(SPEED) + ["--listen", "127.0.0.1:%d" % peer_port, "--tls",
                                  "--tls-dir", good, "--receive", out, "--idle-timeout", "60",
                                  "--timeout", "60"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=open(os.path.join(f.t.tmp, "faxpeer-uas.log"), "wb"))
        try:
            time.sleep(0.3)
            r = subprocess.run([f.inkless, "-c", f.t.config_path, "send", "--to", "+15557770001",
                                "--trunk", "local", "--wait", "--timeout", "60", doc],
                               capture_output=True, text=True, timeout=90)
            if r.returncode != 0:
                raise TestFailure("inkless send over TLS exited %d: %s%s" %
                                  (r.returncode, r.stdout, r.stderr))
            out_peer, _ = peer.communicate(timeout=60)
        finally:
            if peer.poll() is None:
                peer.kill()
                peer.wait()
        res = [json.loads(l) for l in out_peer.decode().splitlines() if l.startswith('{"call"')]
        if not res:
            raise TestFailure("the TLS peer took no call")
        check_ok(res[0], "peer receiving over TLS")
        f.same_pages(doc, out, "fax sent over TLS")
        f.t.daemon.stop()
    finally:
        cap.stop()

    # The wire: TLS records only. Every payload byte on both TLS ports, both ways.
    r = subprocess.run(["tshark", "-r", cap.pcap, "-d", "tcp.port==%d,tls" % tls_port,
                        "-d", "tcp.port==%d,tls" % peer_port,
                        "-T", "fields", "-E", "separator=/t", "-e", "tcp.srcport",
                        "-e", "tcp.dstport", "-e", "tcp.payload", "-e", "tls.record.content_type",
                        "-e", "tls.record.opaque_type"],
                       capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise TestFailure("tshark failed: %s" % r.stderr)
    to_us = from_us = b""
    types = set()
    for line in r.stdout.splitlines():
        # TLS 1.3 names an encrypted record's outer type opaque_type (always 23).
        sport, dport, payload, ctype, otype = (line.split("\t") + ["", "", "", ""])[:5]
        data = bytes.fromhex(payload.replace(":", ""))
        if int(sport or 0) == tls_port or int(dport or 0) == peer_port:
            from_us += data
        else:
            to_us += data
        types.update(t for t in (ctype + "," + otype).split(",") if t)
    for what, data in (("to the daemon", to_us), ("from the daemon", from_us)):
        for clear in (b"SIP/2.0", b"INVITE sip", b"application/sdp", b"T38Fax"):
            if clear in data:
                raise TestFailure("cleartext %r %s on a TLS port" % (clear, what))
        if len(data) < 1000:
            raise TestFailure("only %d bytes %s on the TLS ports" % (len(data), what))
    if not {"22", "23"} <= types:
        raise TestFailure("no TLS handshake and application data records: %s" % sorted(types))
    log("E2E sip_tls: %d bytes to the daemon, %d from it (ports %d in, %d out), TLS records "
        "%s, no cleartext SIP" % (len(to_us), len(from_us), tls_port, peer_port, sorted(types)))


# ---- sending ----


@case
def case_tx_send(f):
    """`inkless send` queues the 12-page ITU set; the daemon calls the peer (trunk proxy) and
    sends it over T.38; the peer receives every page identical; the result record says so."""
    peer_port = f.t.ports.sipp_port(0)
    f.start_daemon(trunk_opts={"proxy": "127.0.0.1:%d" % peer_port,
                               "caller_id": DIDS["local"]})
    out = os.path.join(f.t.tmp, "peer-rx.tif")
    doc = f.doc("itutests_fine_mh.tif")
    timeout = 400.0 / SPEED + PEER_SLACK_S
    peer = subprocess.Popen(
        f.peer_args(SPEED) + ["--listen", "127.0.0.1:%d" % peer_port, "--receive", out,
                              "--idle-timeout", "%.0f" % timeout, "--timeout", "%.0f" % timeout],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=open(os.path.join(f.t.tmp, "faxpeer-uas.log"), "wb"))
    try:
        time.sleep(0.3)
        r = subprocess.run([f.inkless, "-c", f.t.config_path, "send", "--to", "+15557770001",
                            "--trunk", "local", "--wait", "--timeout", "%.0f" % timeout, doc],
                           capture_output=True, text=True, timeout=timeout + 30)
        if r.returncode != 0:
            raise TestFailure("inkless send exited %d: %s%s" % (r.returncode, r.stdout, r.stderr))
        out_peer, _ = peer.communicate(timeout=60)
    finally:
        if peer.poll() is None:
            peer.kill()
            peer.wait()
    res = [json.loads(l) for l in out_peer.decode().splitlines() if l.startswith('{"call"')]
    if not res:
        raise TestFailure("the peer took no call")
    check_ok(res[0], "receiving peer")
    n = f.same_pages(doc, out, "fax received by the peer")
    if not re.search(r'"pages": 12\b', r.stdout) or '"success": true' not in r.stdout:
        raise TestFailure("inkless send --wait printed no 12-page success: %s" % r.stdout)
    figures("tx_send", res[0], n)
    f.t.daemon.stop()


# ---- fax over G.711 ----


class SecondDaemon:
    """Another inklessd on its own ports and var dir, whose trunk "local" dials the daemon
    under test: both ends of a call are then our own server. Use as a context manager."""

    def __init__(self, f, trunk_opts=None, overrides=None, speed=G711_SPEED):
        self.f = f
        self.trunk_opts, self.overrides = trunk_opts or {}, dict(G711, **(overrides or {}))
        self.speed = speed
        self.ports = self.daemon = None

    def __enter__(self):
        self.ports = harness.PortBlock()
        self.tmp = os.path.join(self.f.t.tmp, "second")
        os.makedirs(self.tmp)
        cfg = harness.base_config(self.tmp, self.ports)
        tr = trunk(reinvite="none")
        tr.update({"proxy": "127.0.0.1:%d" % self.f.t.ports.sip, "caller_id": "15559990000"})
        tr.update(self.trunk_opts)
        harness.merge(cfg, {"media.speedup": self.speed, "trunks": [tr], "outbound.retry_base": 1,
                            "outbound.retry_max": 2, "outbound.max_attempts": 1,
                            "fax.ident": "15559990000"})
        self.tls_port = self.ports.sipp_port(3)
        harness.merge(cfg, {"sip.tls_port": self.tls_port})
        harness.merge(cfg, self.overrides)
        self.config_path = os.path.join(self.tmp, "inkless.conf")
        with open(self.config_path, "w") as fp:
            fp.write(harness.config_text(cfg))
        self.daemon = harness.Daemon(self.f.t.daemon_path, self.config_path,
                                     os.path.join(self.tmp, "inklessd.log"))
        self.daemon.start()
        return self

    def __exit__(self, exc_type, exc, tb):
        if self.daemon:
            self.daemon.kill()
            if exc_type is not None:
                log("---- second daemon log ----\n" + self.daemon.text()[-8000:])
        self.ports.close()
        return False

    def filter(self):
        """A capture filter for both daemons' SIP ports and media ranges: only this test's
        packets (tests run in parallel on the same loopback)."""
        return " or ".join("port %d or udp portrange %d-%d" % (p.sip, p.media_min, p.media_max)
                           for p in (self.f.t.ports, self.ports))

    def send(self, doc, to=DIDS["local"], timeout=200):
        """`inkless send --wait` through this daemon; returns its printed JSON result."""
        argv = [self.f.inkless, "-c", self.config_path, "send", "--to", to, "--trunk", "local",
                "--wait", "--timeout", str(timeout), doc]
        r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout + 30)
        if r.returncode != 0:
            raise TestFailure("inkless send (second daemon) exited %d: %s%s" %
                              (r.returncode, r.stdout, r.stderr))
        return r.stdout


def daemon_to_daemon(f, doc, codec, t38=False, capture=False):
    """The second daemon sends `doc` to the daemon under test with only `codec` enabled on
    both, T.38 off on both trunks (or on, for the switch); every page checked. `capture`:
    tshark must find the plain call's audio and SIP in clear (the check g711_srtp relies on
    can fail)."""
    audio = {"pcmu": codec == "pcmu", "pcma": codec == "pcma"}
    f.start_daemon(G711_SPEED, trunk_opts={"t38": t38}, overrides=dict(G711, audio=audio))
    with SecondDaemon(f, trunk_opts={"t38": t38}, overrides={"audio": audio}) as second:
        cap = Capture(f, second.filter(), "plain.pcapng") if capture and shutil.which(
            "tshark") else None
        try:
            out = second.send(doc)
        finally:
            if cap:
                cap.stop()
        if cap:
            total, clear = clear_media(cap.pcap)
            audio_clear = [c for c in clear if c.startswith("audio")]
            if len(audio_clear) < 100 or len(audio_clear) == len(clear):
                raise TestFailure("plain call: %d packets, %d with clear audio, %d with SIP "
                                  "text: the cleartext check is blind" %
                                  (total, len(audio_clear), len(clear) - len(audio_clear)))
        if '"success": true' not in out:
            raise TestFailure("the sending daemon reports no success: %s" % out)
    rec = f.wait_records(1)[0]
    if rec["status"] != "ok" or rec["transport"] != ("t38" if t38 else "g711"):
        raise TestFailure("daemon's record: %s" % rec)
    n = f.same_pages(doc, rec["file"], "received fax")
    log("E2E %s: %d pages over %s, %s bit/s, ECM %s" % (f.t.name, n, codec, rec.get("bit_rate"),
                                                        rec.get("ecm")))
    # SIGUSR1: the media workers' figures in the log, ticks counted while the fax ran.
    since = f.t.daemon.mark()
    f.t.daemon.signal(signal.SIGUSR1)
    m = f.t.daemon.wait_log(r"stats: media worker 0: 0 channel\(s\), (\d+) ticks, \d+ late, "
                            r"lateness p99 [\d.]+ ms max [\d.]+ ms, tick work [\d.]+ s", 5, since,
                            "SIGUSR1 stats line")
    if int(m.group(1)) < 1000:
        raise TestFailure("stats count %s ticks for a whole fax" % m.group(1))
    f.t.daemon.stop()


@case
def case_g711_daemons_pcmu(f):
    """Our server to our server over G.711 PCMU, no T.38 on either trunk: the 12-page ITU set
    arrives with every page identical, recorded as transport g711."""
    daemon_to_daemon(f, f.doc("itutests_fine_mh.tif"), "pcmu")


@case
def case_g711_t38_refused(f):
    """The daemon under test answers on audio and re-INVITEs to T.38 (trunk t38_reinvite us);
    the sending daemon's trunk has T.38 off, so it answers 488: the fax, already under way on
    G.711, carries on there and arrives whole."""
    doc = small_doc(f, 3)
    f.start_daemon(G711_SPEED, trunk_opts={"t38_reinvite": "us", "t38_reinvite_delay_ms": 300},
                   overrides=G711)
    since = f.t.daemon.mark()
    with SecondDaemon(f, trunk_opts={"t38": False}) as second:
        out = second.send(doc)
        if '"success": true' not in out:
            raise TestFailure("the sending daemon reports no success: %s" % out)
    f.t.daemon.wait_log(r"T\.38 re-INVITE refused \(488\): the fax stays on G\.711", 5, since,
                        "'refused (488)' line")
    rec = f.wait_records(1)[0]
    if rec["status"] != "ok" or rec["transport"] != "g711":
        raise TestFailure("daemon's record: %s" % rec)
    f.same_pages(doc, rec["file"], "received fax")
    f.t.daemon.stop()


def receive_g711(f, doc, peer_args=(), trunk_opts=None, transport="g711"):
    """An inbound fax from the peer that starts (and, unless told otherwise, stays) on G.711:
    the daemon's trunk has T.38 off unless trunk_opts say otherwise."""
    opts = {"t38": False}
    opts.update(trunk_opts or {})
    rec, res = receive(f, doc, peer_args, trunk_opts=opts, overrides=G711, speed=G711_SPEED,
                       transport=transport)
    if res.get("transport") != transport:
        raise TestFailure("the peer says the fax went over %s: %s" % (res.get("transport"), res))
    rtp = res.get("rtp") or {}
    log("E2E %s: peer %s/%s, RTP %s" % (f.t.name, res.get("transport"), res.get("codec"),
                                        json.dumps(rtp.get("jitter", rtp))))
    return rec, res


def ten_pages(f):
    """The first 10 pages of the 12-page ITU set (tiffcp), in the test's temp dir."""
    tiffcp = shutil.which("tiffcp")
    if not tiffcp:
        raise Skip("tiffcp not found (Debian package libtiff-tools)")
    out = os.path.join(f.t.tmp, "ten.tif")
    pages = ",".join(str(i) for i in range(10))
    subprocess.run([tiffcp, f.doc("itutests_fine_mh.tif") + "," + pages, out], check=True,
                   timeout=60)
    return out


@case
def case_rx_g711_pcmu(f):
    """The peer sends the 12-page ITU set over G.711 PCMU (no T.38 anywhere): every page
    identical, recorded as g711."""
    receive_g711(f, f.doc("itutests_fine_mh.tif"), ["--t38", "none", "--codec", "pcmu"])


@case
def case_rx_g711_pcma(f):
    """The same over PCMA."""
    receive_g711(f, f.doc("itutests_fine_mh.tif"), ["--t38", "none", "--codec", "pcma"])


@case
def case_rx_g711_loss_jitter(f):
    """G.711 with 0.1 % random packet loss and 0..30 ms jitter both ways, ECM on: the lost
    audio is filled in (not fed as silence) and ECM resends what was damaged; every page
    identical. The loss pattern is fixed (seed 7: fed as silence, its losses failed the fax
    between two faxpeers after 3 pages, before fill-in): a random seed would now and then drop a
    packet inside the V.17 training of TCF, which spandsp 0.0.6 does not survive (it never
    answers FTT, and takes the sender's repeated DCS for an unexpected message)."""
    receive_g711(f, f.doc("itutests_fine_mh.tif"),
                 ["--t38", "none", "--ecm", "--loss", "0.1", "--jitter", "30", "--impair",
                  "both", "--seed", "7"])


def drift(f, ppm):
    """10 pages from a peer whose audio clock is off by `ppm`: every page identical, and the
    daemon's jitter buffer took up about what the drift amounts to (dropping silent samples
    for a fast sender, inserting silence for a slow one) instead of slipping."""
    rec, res = receive_g711(f, ten_pages(f), ["--t38", "none", "--drift", str(ppm)])
    line = f.t.daemon.find(r"RTP in .* drift -\d+/\+\d+ samples")
    m = re.search(r"drift -(\d+)/\+(\d+)", line or "")
    if not m:
        raise TestFailure("no RTP figures line in the daemon log")
    taken = int(m.group(1)) if ppm > 0 else int(m.group(2))
    expected = abs(ppm) * 1e-6 * res["media_s"] * 8000
    log("E2E %s: %d samples taken up for %.0f expected" % (f.t.name, taken, expected))
    if not 0.3 * expected <= taken <= 3 * expected:
        raise TestFailure("drift of %d ppm over %.0f s: %d samples taken up, about %.0f "
                          "expected (%s)" % (ppm, res["media_s"], taken, expected, line))


@case
def case_rx_g711_drift_fast(f):
    """G.711 from a peer whose clock runs 100 ppm fast, 10 pages: the jitter buffer drops
    silent samples to keep its depth, every page identical."""
    drift(f, 100)


@case
def case_rx_g711_drift_slow(f):
    """The same with the peer's clock 100 ppm slow: silence inserted."""
    drift(f, -100)


@case
def case_rx_g711_t38_refused(f):
    """The daemon answers on audio and re-INVITEs to T.38; the peer refuses (488): the fax
    goes on over G.711 and arrives whole."""
    rec, res = receive_g711(f, f.doc("itu1_fine_mh.tif"), ["--t38", "refuse"],
                            trunk_opts={"t38": True, "t38_reinvite": "us",
                                        "t38_reinvite_delay_ms": 300})
    if res.get("t38_refused") != 1:
        raise TestFailure("the peer refused %s T.38 re-INVITEs, expected 1" %
                          res.get("t38_refused"))


@case
def case_rx_g711_switch(f):
    """The call starts on audio; after 3 s of media time (CNG and CED under way) the peer
    re-INVITEs to T.38 and the fax runs there."""
    receive_g711(f, f.doc("itu1_fine_mh.tif"),
                 ["--t38", "reinvite", "--reinvite-delay", "3000"],
                 trunk_opts={"t38": True, "t38_reinvite": "them"}, transport="t38")


def switch_to_t38(f, ours, theirs):
    """A call that starts on audio (the sender's trunk: t38_in_invite false) and is moved to
    T.38 2 s later (10 s of media time: CED, DIS and training have gone on G.711) by the
    re-INVITE of whichever end has t38_reinvite "us"; the fax then runs on T.38."""
    doc = small_doc(f, 3)
    f.start_daemon(G711_SPEED, trunk_opts={"t38_reinvite": ours, "t38_reinvite_delay_ms": 2000},
                   overrides=G711)
    since = f.t.daemon.mark()
    with SecondDaemon(f, trunk_opts={"t38_in_invite": False, "t38_reinvite": theirs,
                                     "t38_reinvite_delay_ms": 2000}) as second:
        out = second.send(doc)
        if '"success": true' not in out:
            raise TestFailure("the sending daemon reports no success: %s" % out)
    f.t.daemon.wait_log(r"answering with audio", 5, since, "'answering with audio' line")
    f.t.daemon.wait_log(r"switched (media )?audio -> t38", 5, since, "'switched' line")
    rec = f.wait_records(1)[0]
    if rec["status"] != "ok" or rec["transport"] != "t38":
        raise TestFailure("daemon's record: %s" % rec)
    f.same_pages(doc, rec["file"], "received fax")
    f.t.daemon.stop()


@case
def case_g711_switch_us(f):
    """Audio call, then the receiving daemon's T.38 re-INVITE mid-call: fax over T.38."""
    switch_to_t38(f, "us", "them")


@case
def case_g711_switch_peer(f):
    """Audio call, then the sending daemon's T.38 re-INVITE mid-call: fax over T.38."""
    switch_to_t38(f, "them", "us")


def clear_media(pcap):
    """Read a capture: (packets, those carrying cleartext): UDP packets whose payload after a
    12-octet RTP header holds a run of 16 equal octets (G.711 silence or a steady tone, which
    a fax call is full of; SRTP's ciphertext never shows one), and UDP or TCP payloads with
    SIP or SDP text."""
    r = subprocess.run(["tshark", "-r", pcap, "-T", "fields", "-E", "separator=/t",
                        "-e", "udp.payload", "-e", "tcp.payload"],
                       capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise TestFailure("tshark failed: %s" % r.stderr)
    total, clear = 0, []
    for line in r.stdout.splitlines():
        udp, tcp = (line.split("\t") + [""])[:2]
        data = bytes.fromhex((udp or tcp).replace(":", ""))
        if not data:
            continue
        total += 1
        if any(t in data for t in (b"SIP/2.0", b"INVITE sip", b"a=crypto", b"m=audio")):
            clear.append("SIP/SDP text: %r" % data[:40])
        elif udp and re.search(rb"(.)\1{15}", data[12:], re.S):
            clear.append("audio: %s" % data[:24].hex())
    return total, clear


@case
def case_g711_srtp(f):
    """SRTP over TLS: both daemons listen on TLS (throwaway certificates from openssl), the
    second dials the first over TLS, SRTP required on both trunks (so no T.38): RTP/SAVP with
    a=crypto keys, 3 pages arrive whole. tshark on loopback: no cleartext SIP or SDP anywhere
    and no RTP payload in clear; the same check on a plain RTP call finds both (so the check
    can fail)."""
    certs = make_certs(f.t.tmp)
    doc = small_doc(f, 3)
    tls = {"sip.transports": ["udp", "tcp", "tls"], "sip.tls_cert": certs["server.pem"],
           "sip.tls_key": certs["server.key"], "sip.tls_ca": certs["ca.pem"]}
    tls_port = f.t.ports.sipp_port(3)
    f.start_daemon(G711_SPEED, trunk_opts={"srtp": "required"},
                   overrides=dict(tls, **{"sip.tls_port": tls_port}, **G711))
    since = f.t.daemon.mark()
    second = SecondDaemon(f, trunk_opts={"srtp": "required", "transport": "tls",
                                         "proxy": "127.0.0.1:%d" % tls_port}, overrides=tls)
    with second:
        cap = Capture(f, second.filter() + " or tcp port %d or tcp port %d" %
                      (tls_port, second.tls_port), "srtp.pcapng")
        try:
            out = second.send(doc)
        finally:
            cap.stop()
        if '"success": true' not in out:
            raise TestFailure("the sending daemon reports no success: %s" % out)
    rec = f.wait_records(1)[0]
    if rec["status"] != "ok" or rec["transport"] != "g711":
        raise TestFailure("daemon's record: %s" % rec)
    f.same_pages(doc, rec["file"], "received fax")
    if not f.t.daemon.find(r"via trunk local \(127\.0\.0\.1:\d+, tls\)", since):
        raise TestFailure("the call did not come over TLS")
    m = f.t.daemon.wait_log(r"port \d+: SRTP in (\d+) \(late \d+, duplicate \d+, bad (\d+)\)", 5,
                            since, "SRTP figures line")
    if int(m.group(1)) < 500 or int(m.group(2)) != 0:
        raise TestFailure("SRTP figures: %s" % m.group(0))
    total, clear = clear_media(cap.pcap)
    if total < 1000 or clear:
        raise TestFailure("%d packets captured, %d in clear, e.g. %s" % (total, len(clear),
                                                                       clear[:3]))
    log("E2E g711_srtp: %d packets on the wire, none in clear; %s" % (total, m.group(0)))
    f.t.daemon.stop()


@case
def case_g711_srtp_refused(f):
    """SRTP required on the daemon's trunk, plain RTP from the caller: 488, and the sending
    daemon's job fails with that status."""
    f.start_daemon(G711_SPEED, trunk_opts={"srtp": "required"}, overrides=G711)
    since = f.t.daemon.mark()
    with SecondDaemon(f) as second:
        argv = [f.inkless, "-c", second.config_path, "send", "--to", DIDS["local"], "--trunk",
                "local", "--wait", "--timeout", "60", small_doc(f, 1)]
        r = subprocess.run(argv, capture_output=True, text=True, timeout=90)
        if r.returncode == 0 or '"sip_status": 488' not in r.stdout:
            raise TestFailure("expected the job to fail with 488: %s%s" % (r.stdout, r.stderr))
    f.t.daemon.wait_log(r"no acceptable media in offer: 488", 5, since, "488 line")
    f.t.daemon.stop()


@case
def case_g711_daemons_pcma(f):
    """The same over PCMA: 4 pages; tshark sees this plain call's audio and SIP in clear."""
    daemon_to_daemon(f, small_doc(f, 4), "pcma", capture=True)


# ---- the outbound spool: retries, resume, limits, cancel, crashes ----


class Outbound:
    """The daemon dialling the peer (trunk "local" proxied to it), jobs queued with `inkless
    send`, retries a second apart (outbound.retry_base 1)."""

    def __init__(self, f, trunk_opts=None, overrides=None):
        self.f = f
        self.peer_port = f.t.ports.sipp_port(0)
        opts = {"proxy": "127.0.0.1:%d" % self.peer_port, "caller_id": DIDS["local"]}
        opts.update(trunk_opts or {})
        cfg = {"outbound.retry_base": 1, "outbound.retry_max": 2}
        cfg.update(overrides or {})
        self.trunk_opts, self.overrides = opts, cfg
        self.peer = None

    def start_daemon(self):
        return self.f.start_daemon(trunk_opts=self.trunk_opts, overrides=self.overrides)

    def start_peer(self, calls, args=(), timeout=120):
        """faxpeer answering `calls` calls, each fax written to peer-rx-N.tif."""
        self.out = os.path.join(self.f.t.tmp, "peer-rx-%d.tif")
        argv = self.f.peer_args(SPEED) + [
            "--listen", "127.0.0.1:%d" % self.peer_port, "--receive", self.out,
            "--calls", str(calls), "--idle-timeout", str(timeout), "--timeout", str(timeout)]
        self.peer = subprocess.Popen(argv + list(args), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE,
                                     stderr=open(os.path.join(self.f.t.tmp, "faxpeer-uas.log"),
                                                 "wb"))
        time.sleep(0.3)

    def peer_results(self, timeout=120):
        try:
            out, _ = self.peer.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.peer.kill()
            out, _ = self.peer.communicate()
            raise TestFailure("the peer did not finish its calls")
        lines = [json.loads(l) for l in out.decode().splitlines() if l.startswith("{")]
        return [l for l in lines if "call" in l], ([l for l in lines if l.get("summary")] or
                                                   [{}])[0]

    def send(self, doc, wait=True, expect_rc=0, timeout=120, extra=()):
        argv = [self.f.inkless, "-c", self.f.t.config_path, "send", "--to", "+15557770001",
                "--trunk", "local"] + (["--wait", "--timeout", str(timeout)] if wait else []) + \
            list(extra) + [doc]
        r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout + 30)
        if r.returncode != expect_rc:
            raise TestFailure("inkless send exited %d, expected %d: %s%s" %
                              (r.returncode, expect_rc, r.stdout, r.stderr))
        return r.stdout.splitlines()[0].strip()

    def job(self, job_id):
        r = self.f.inkless_cli("job", job_id)
        if r.returncode != 0:
            raise TestFailure("inkless job %s: %s" % (job_id, r.stderr))
        return r.stdout

    def status(self, job_id):
        """The job's status file as a dict (state, pages_confirmed, ...; attempts as a list)."""
        path = os.path.join(self.f.t.tmp, "var", "spool", "tx", job_id, "status")
        st = {"attempt": []}
        try:
            with open(path) as fp:
                for line in fp:
                    k, _, v = line.rstrip("\n").partition("=")
                    if k == "attempt":
                        st["attempt"].append(v)
                    else:
                        st[k] = v
        except FileNotFoundError:
            st["state"] = "queued"
        return st

    def wait_state(self, job_id, states, timeout=60, pages=None):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            st = self.status(job_id)
            if st.get("state") in states and (pages is None or
                                               int(st.get("pages_confirmed", 0)) >= pages):
                return st
            time.sleep(0.05)
        raise TestFailure("job %s never reached %s (pages %s): %s" %
                          (job_id, states, pages, self.status(job_id)))


def small_doc(f, pages):
    """A `pages`-page document of distinct ITU pages (tiffcp), in the test's temp dir."""
    tiffcp = shutil.which("tiffcp")
    if not tiffcp:
        raise Skip("tiffcp not found (Debian package libtiff-tools)")
    src = [f.doc("itu%d_fine_mh.tif" % (i % 8 + 1)) for i in range(pages)]
    out = os.path.join(f.t.tmp, "doc%d.tif" % pages)
    subprocess.run([tiffcp] + src + [out], check=True, timeout=60)
    return out


@case
def case_tx_busy_retry(f):
    """The far end is busy (486) on the first call: the job is retried and sent whole on the
    second; `inkless job` lists both attempts with their SIP codes. The job is scheduled
    (--at +2): its first attempt is no earlier."""
    o = Outbound(f)
    o.start_daemon()
    doc = small_doc(f, 3)
    o.start_peer(2, ["--reject", "486", "--first-calls", "1"])
    submitted = time.time()
    job = o.send(doc, extra=["--at", "+2"])
    first = int(o.status(job)["attempt"][0].split()[0])
    if first < int(submitted) + 2:
        raise TestFailure("scheduled +2 s at %.1f, first attempt at %d" % (submitted, first))
    calls, _ = o.peer_results()
    if [c["sip_status"] for c in calls] != [486, 200]:
        raise TestFailure("peer saw %s, expected a 486 then a fax" % [c["sip_status"] for c in calls])
    f.same_pages(doc, o.out % 2, "fax after the busy retry")
    text = o.job(job)
    if not re.search(r"state\s+done", text) or not re.search(r"busy\s+SIP 486", text) or \
            not re.search(r"ok\s+SIP 200\s+T\.30\s+0", text):
        raise TestFailure("inkless job does not tell the story:\n" + text)
    log("E2E tx_busy_retry:\n" + text)
    f.t.daemon.stop()


@case
def case_tx_resume(f):
    """The far end hangs up in the middle of page 3 of 6: the retry sends pages 3..6 only;
    the peer got every page exactly once over the two calls."""
    o = Outbound(f)
    o.start_daemon()
    doc = small_doc(f, 6)
    o.start_peer(2, ["--bye-after-pages", "2", "--first-calls", "1"])
    job = o.send(doc)
    calls, _ = o.peer_results()
    if len(calls) != 2:
        raise TestFailure("the peer took %d calls, expected 2" % len(calls))
    sent = f.pages(doc)
    got1, got2 = f.pages(o.out % 1), f.pages(o.out % 2)
    if got1 != sent[:2] or got2 != sent[2:]:
        raise TestFailure("pages per call: %d then %d (want 2 then 4), or not the pages sent" %
                          (len(got1), len(got2)))
    st = o.status(job)
    if st["state"] != "done" or st["pages_confirmed"] != "6" or len(st["attempt"]) != 2:
        raise TestFailure("job status: %s" % st)
    log("E2E tx_resume:\n" + o.job(job))
    f.t.daemon.stop()


@case
def case_tx_permanent(f):
    """404 from the far end is permanent: the job fails after one attempt, no retry."""
    o = Outbound(f)
    o.start_daemon()
    o.start_peer(1, ["--reject", "404"], timeout=20)
    job = o.send(small_doc(f, 1), expect_rc=1)
    o.peer_results()
    time.sleep(2.5)  # longer than a retry would wait
    st = o.status(job)
    if st["state"] != "failed" or len(st["attempt"]) != 1:
        raise TestFailure("job status after a 404: %s" % st)
    f.t.daemon.stop()


@case
def case_tx_no_answer(f):
    """The far end rings and never answers: each attempt is canceled after
    outbound.ring_timeout (5 s) and counted as no answer; after the job's own --max-attempts
    (2, the configuration says 5) the job fails."""
    o = Outbound(f, overrides={"outbound.ring_timeout": 5})
    o.start_daemon()
    o.start_peer(2, ["--answer-delay", "60000"], timeout=40)
    job = o.send(small_doc(f, 1), expect_rc=1, timeout=60, extra=["--max-attempts", "2"])
    o.peer.kill()
    o.peer.wait()
    st = o.status(job)
    outs = [a.split()[7] for a in st["attempt"]]
    codes = [a.split()[3] for a in st["attempt"]]
    if st["state"] != "failed" or outs != ["no_answer", "no_answer"] or codes != ["487", "487"]:
        raise TestFailure("job status after two unanswered calls: %s" % st)
    f.t.daemon.stop()


@case
def case_tx_documents(f):
    """`inkless send` of a PDF (3 pages), a PNG, a JPEG and a text file (100 lines: 2 pages):
    each converted at submit and delivered with its page count; every odd TIFF in
    tests/data/tiff/odd is converted or refused with a message, never a crash."""
    for tool in ("tiff2pdf", "gs"):
        if not shutil.which(tool):
            raise Skip("%s not found" % tool)
    tmp = f.t.tmp
    pdf = os.path.join(tmp, "doc.pdf")
    subprocess.run(["tiff2pdf", "-o", pdf, small_doc(f, 3)], check=True, timeout=60)
    png, jpg = os.path.join(tmp, "page.png"), os.path.join(tmp, "page.jpg")
    for dev, out in (("pnggray", png), ("jpeggray", jpg)):
        subprocess.run(["gs", "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-sDEVICE=" + dev,
                        "-r100", "-dFirstPage=1", "-dLastPage=1", "-o", out, pdf],
                       check=True, timeout=60, stdin=subprocess.DEVNULL)
    txt = os.path.join(tmp, "note.txt")
    with open(txt, "w") as fp:
        fp.write("".join("line %d of a plain text fax\n" % i for i in range(1, 101)))
    docs = [(pdf, 3), (png, 1), (jpg, 1), (txt, 2)]

    o = Outbound(f)
    o.start_daemon()
    o.start_peer(len(docs), timeout=180)
    for doc, _ in docs:  # one at a time: call i of the peer is document i
        job = o.send(doc)
        st = o.status(job)
        if st["state"] != "done":
            raise TestFailure("%s: job %s" % (doc, st))
    calls, _ = o.peer_results()
    got = [c.get("pages") for c in calls]
    if got != [n for _, n in docs]:
        raise TestFailure("pages received per document %s, expected %s" %
                          (got, [n for _, n in docs]))

    odd = sorted(glob.glob(os.path.join(f.data, "tiff", "odd", "*")))
    refused = 0
    for path in odd:
        r = subprocess.run([f.inkless, "-c", f.t.config_path, "send", "--to", "+15557770001",
                            "--trunk", "local", path], capture_output=True, text=True,
                           timeout=120)
        if r.returncode not in (0, 1) or (r.returncode == 1 and "inkless:" not in r.stderr):
            raise TestFailure("inkless send %s: exit %d: %s" % (path, r.returncode, r.stderr))
        refused += r.returncode == 1
    log("E2E tx_documents: PDF 3, PNG 1, JPEG 1, text 2 pages delivered; %d odd TIFFs: %d "
        "converted, %d refused with a message" % (len(odd), len(odd) - refused, refused))
    f.t.daemon.stop()


@case
def case_tx_limits(f):
    """50 one-page jobs on a trunk limited to 4 calls at once and 5 calls per second: every
    fax arrives, the peer never sees more than 4 calls at once, nor more than 5 starting in
    any one second."""
    o = Outbound(f, trunk_opts={"max_channels": 4, "calls_per_second": 5},
                 overrides={"limits.max_channels": 16})
    o.start_daemon()
    doc = small_doc(f, 1)
    o.start_peer(50, timeout=240)
    jobs = [o.send(doc, wait=False) for _ in range(50)]
    calls, summary = o.peer_results(timeout=300)
    bad = [c for c in calls if c.get("result") != "ok"]
    if len(calls) != 50 or bad:
        raise TestFailure("%d calls, %d failed: %s" % (len(calls), len(bad), bad[:2]))
    if summary.get("max_concurrent", 99) > 4:
        raise TestFailure("the peer saw %s calls at once (limit 4)" % summary.get("max_concurrent"))
    starts = sorted(c["begin_s"] for c in calls)
    worst = max(sum(1 for t in starts if s <= t < s + 1.0) for s in starts)
    if worst > 5:
        raise TestFailure("%d calls started within one second (limit 5/s)" % worst)
    for j in jobs:
        o.wait_state(j, ("done",), timeout=30)
    log("E2E tx_limits: 50 jobs, at most %d at once, at most %d starts in a second, %.1f s" %
        (summary.get("max_concurrent"), worst, summary.get("elapsed_s", 0)))
    f.t.daemon.stop()


@case
def case_tx_cancel(f):
    """A job canceled while its call rings is hung up and ends canceled; canceling a finished
    job is refused."""
    o = Outbound(f)
    o.start_daemon()
    o.start_peer(1, ["--answer-delay", "20000"], timeout=30)
    job = o.send(small_doc(f, 1), wait=False)
    o.wait_state(job, ("dialing",), timeout=20)
    time.sleep(0.5)
    r = f.inkless_cli("cancel", job)
    if r.returncode != 0:
        raise TestFailure("inkless cancel: %s" % r.stderr)
    st = o.wait_state(job, ("canceled",), timeout=20)
    r = f.inkless_cli("cancel", job)
    if r.returncode != 1 or "finished" not in r.stderr:
        raise TestFailure("canceling a finished job: %d %s" % (r.returncode, r.stderr))
    o.peer.kill()
    o.peer.wait()
    log("E2E tx_cancel: %s" % st)
    f.t.daemon.stop()


@case
def case_tx_kill(f):
    """kill -9 of the daemon with a job queued (daemon down), dialing, ready, sending: after each
    restart the job goes on and completes exactly once, and no confirmed page is sent twice."""
    o = Outbound(f)
    doc = small_doc(f, 6)
    sent = f.pages(doc)
    # Queued while the daemon is down.
    f.t.write_config({"trunks": [dict(trunk(reinvite="none"), **o.trunk_opts)],
                      "media.speedup": SPEED, "outbound.retry_base": 1, "outbound.retry_max": 2})
    job = o.send(doc, wait=False)
    # Dialing: a peer that lets it ring; the daemon dies, then that peer goes away.
    o.start_peer(1, ["--answer-delay", "20000"], timeout=30)
    d = o.start_daemon()
    o.wait_state(job, ("dialing",), timeout=20)
    d.kill()
    o.peer.kill()
    o.peer.wait()
    # Ready: restarted, the job waits outbound.retry_base before its next attempt; killed
    # in that wait (no peer listens: an attempt would fail and show).
    d = o.start_daemon()
    o.wait_state(job, ("ready",), timeout=20)
    d.kill()
    # Sending: a peer that takes the fax; the daemon dies once 2 pages are confirmed. The
    # peer's call then fails (it refuses calls meanwhile: 503, retried), and a later call
    # must carry pages 3..6 only.
    o.start_peer(2, timeout=180)
    d = o.start_daemon()
    o.wait_state(job, ("sending",), timeout=60, pages=2)
    d.kill()
    # The peer's side of that call ends by its own T.30 timeout (nobody hangs it up): wait
    # for that, as a carrier's would end, so the next call finds the line free.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with open(os.path.join(f.t.tmp, "faxpeer-uas.log"), errors="replace") as fp:
            if re.search(r"call 1: ended", fp.read()):
                break
        time.sleep(0.1)
    d = o.start_daemon()
    st = o.wait_state(job, ("done",), timeout=150)
    calls, _ = o.peer_results(timeout=120)
    got = []
    for i, c in enumerate(calls, 1):
        if c.get("pages") and os.path.exists(o.out % i):
            got += f.pages(o.out % i)
    if got != sent:
        raise TestFailure("the peer got %d pages in all (want each of the %d once): %s" %
                          (len(got), len(sent), [c.get("pages") for c in calls]))
    text = o.job(job)
    if not re.search(r"interrupted", text):
        raise TestFailure("inkless job shows no interrupted attempt:\n" + text)
    log("E2E tx_kill: %s\n%s" % (st, text))
    f.t.daemon.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", help="meson build directory")
    ap.add_argument("--data", help="tests/data")
    ap.add_argument("--transport", choices=["udp", "tcp"], default="udp")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("case", nargs="?")
    args = ap.parse_args()
    if args.list:
        for name, fn in CASES.items():
            print("%-28s %s" % (name, " ".join(fn.__doc__.split())))
        return 0
    if not args.build or not args.data or args.case not in CASES:
        ap.error("need --build, --data and one of: " + ", ".join(CASES))
    build = os.path.abspath(args.build)

    def run():
        with harness.Test(os.path.join(build, "server", "inklessd"), args.transport,
                          args.case) as t:
            CASES[args.case](Fax(t, build, os.path.abspath(args.data)))

    return harness.main(run)


if __name__ == "__main__":
    sys.exit(main())
