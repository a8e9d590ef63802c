# SPDX-License-Identifier: GPL-2.0-or-later
"""Crash suite: inklessd killed with SIGKILL while it stores received faxes, then restarted;
the archive and the index must stay consistent and no fax may be lost (DESIGN.md "Storage":
"a crash at any point loses nothing that was reported as stored").

    crash.py --build BUILD_DIR --data TESTDATA_DIR [--seed N] [--kills N] CASE
    crash.py --list

Cases:
  ingest_kill   Faxes already received (a TIFF and its result record in spool/rx, as the
                daemon leaves them at phase E; some TIFFs without a record, as a kill mid-call
                leaves them) are ingested at startup; the daemon is killed during that ingest,
                50 times, the spool topped up before each start. Kill points: after the k-th
                fax of the start was stored plus a random part of the typical time per fax,
                or (one in five) a random time from the start. After every kill: `inkless
                scrub` is clean, every object an index row names exists, every fax is either
                still in spool/rx or in the index (once), and a fax in the index has all the
                pages of its document. At the end a start without a kill stores every fax
                exactly once, every object on disk is named by a row, and the pages exported
                are identical to the documents' as bitmaps (export + faxpages).
  rx_kill       A real fax over T.38 (tools/faxpeer, 3 pages): the daemon is killed just after
                the last page was confirmed (0-3 ms after its own phase E, or 0.5-300 ms after
                the sender's), then restarted: the fax is in the index with every page
                identical, and scrub is clean. Eight times.
  rx_during_startup
                A fax arriving while a restarted daemon still removes the tmp files of a
                crash (a large archive): its TIFF, still being written, must not be taken for
                an orphan of the crash; the fax is stored whole, as ok.
  spool_states  The states a kill leaves in windows too narrow to hit at random, made by hand:
                spool files left after the index commit, a record left after its TIFF was
                removed, a half-written record, a TIFF cut mid-page, tmp files of puts.
  corrupt       Flipped bits in page objects and a manifest: export fails and moves the object
                to archive/corrupt/, scrub exits 1 naming it and the faxes that lose a page,
                and later faxes with the same pages store them again.

Kill points come from a seeded PRNG; the seed is printed (rerun with --seed N, or
INKLESS_CRASH_SEED=N through meson). Exit 0 pass, 1 fail, 77 skip (a tool is missing).
"""

import argparse
import json
import os
import random
import re
import shutil
import struct
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "sip"))
import harness  # noqa: E402
from harness import DIDS, TestFailure, log, trunk  # noqa: E402

KILLS = 50                  # ingest_kill: SIGKILLs during the startup ingest
PENDING = 8                 # ingest_kill: faxes waiting in spool/rx at each start
RX_KILLS = 8                # rx_kill: faxes received, each followed by a SIGKILL
SPEED = 10                  # rx_kill: media clock speed-up (as tests/e2e)
INGEST_TIMEOUT = 60.0       # a start without a kill: spool/rx empty within this
CLI_TIMEOUT = 60
ORPHANS = 0.15              # ingest_kill: share of faxes left without a record (kill mid-call)
STORED = r"fax \d+ stored(?: already)?: "   # the daemon's log line for a fax ingested

ITU_DOCS = ["itutests_fine_mh.tif", "itutests_fine_mr.tif", "itutests_fine_mmr.tif",
            "itu1-8_standard_mh.tif", "itu1_fine_mh.tif", "itu4_fine_mh.tif",
            "itu7_fine_mh.tif", "test1_fine_mh.tif", "test4_fine_mh.tif"]

CASES = {}


def case(fn):
    CASES[fn.__name__.replace("case_", "")] = fn
    return fn


# ---- a daemon that can be killed before it is ready ----


class Daemon(harness.Daemon):
    """harness.Daemon, but spawn() does not wait for the ready line: the startup ingest runs
    on the storage thread from the first milliseconds, and kills must be able to land there."""

    def spawn(self):
        logf = open(self.log_path, "ab")
        self.times = []
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen([self.path, "-c", self.config_path],
                                     stdin=subprocess.DEVNULL, stdout=logf,
                                     stderr=subprocess.PIPE)
        logf.close()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        return self

    def _read(self):
        # harness.Daemon._read, also noting when each line arrived (seconds after spawn).
        with open(self.log_path, "ab") as logf:
            for raw in self.proc.stderr:
                logf.write(raw)
                logf.flush()
                with self.cond:
                    self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))
                    self.times.append(time.monotonic() - self.t0)
                    self.cond.notify_all()
        with self.cond:
            self.lines.append(None)
            self.times.append(time.monotonic() - self.t0)
            self.cond.notify_all()

    def arrivals(self, regex):
        """When lines matching regex arrived, in seconds after spawn()."""
        rx = re.compile(regex)
        with self.cond:
            return [t for l, t in zip(self.lines, self.times) if l is not None and rx.search(l)]

    def wait_count(self, regex, n, timeout):
        """Wait (bounded) until n lines match regex."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while self.count_locked(regex) < n:
                if self.lines and self.lines[-1] is None:
                    raise TestFailure("daemon exited before %d lines /%s/" % (n, regex))
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TestFailure("no %d lines /%s/ within %.0f s" % (n, regex, timeout))
                self.cond.wait(left)

    def count_locked(self, regex):
        rx = re.compile(regex)
        return sum(1 for l in self.lines if l is not None and rx.search(l))

    def kill_at(self, delay):
        """SIGKILL `delay` seconds after spawn(); returns whether it was still running."""
        left = self.t0 + delay - time.monotonic()
        if left > 0:
            time.sleep(left)
        alive = self.proc.poll() is None
        self.kill()
        return alive

    def count(self, regex):
        with self.cond:
            return self.count_locked(regex)


# ---- minimal TIFF writer: unique pages, so that new page objects are stored on every run ----


def synthetic_tiff(path, rng, npages, width=1728, rows=600):
    """An uncompressed bilevel TIFF (min-is-white, 204x196 dpi) of npages pages of random
    black rectangles (a page repeated within the document when rng says so)."""
    stride = (width + 7) // 8
    pages = []
    for _ in range(npages):
        if pages and rng.random() < 0.3:
            pages.append(pages[rng.randrange(len(pages))])   # a page dedup within the fax
            continue
        bm = bytearray(stride * rows)
        for _ in range(rng.randint(8, 30)):
            x0 = rng.randrange(stride - 1)
            x1 = rng.randint(x0 + 1, min(stride, x0 + 40))
            y0 = rng.randrange(rows - 1)
            y1 = rng.randint(y0 + 1, min(rows, y0 + 80))
            for y in range(y0, y1):
                bm[y * stride + x0:y * stride + x1] = b"\xff" * (x1 - x0)
        pages.append(bytes(bm))
    out = bytearray(b"II*\x00\x00\x00\x00\x00")
    prev_link = 4                       # where the offset of the next IFD goes
    for n, bm in enumerate(pages):
        strip = len(out)
        out += bm
        if len(out) % 2:
            out += b"\x00"
        res = len(out)
        out += struct.pack("<IIII", 204, 1, 196, 1)
        tags = [(256, 4, 1, width), (257, 4, 1, rows), (258, 3, 1, 1), (259, 3, 1, 1),
                (262, 3, 1, 0), (273, 4, 1, strip), (277, 3, 1, 1), (278, 4, 1, rows),
                (279, 4, 1, len(bm)), (282, 5, 1, res), (283, 5, 1, res + 8), (296, 3, 1, 2),
                (297, 3, 2, n | (npages << 16))]
        ifd = len(out)
        struct.pack_into("<I", out, prev_link, ifd)
        out += struct.pack("<H", len(tags))
        for tag, typ, count, value in tags:
            out += struct.pack("<HHII", tag, typ, count, value)
        prev_link = len(out)
        out += b"\x00\x00\x00\x00"
    with open(path, "wb") as f:
        f.write(out)


# ---- the test's view of a var dir ----


class Crash:
    def __init__(self, t, build, data, rng):
        self.t = t
        self.build = build
        self.data = data
        self.rng = rng
        self.inkless = os.path.join(build, "server", "inkless")
        self.faxpages = os.path.join(build, "tests", "faxpages")
        self.faxpeer = os.path.join(build, "tools", "faxpeer", "faxpeer")
        for p in (self.inkless, self.faxpages, self.faxpeer):
            if not os.access(p, os.X_OK):
                raise TestFailure("%s is not built" % p)
        self.var = os.path.join(t.tmp, "var")
        self.rx = os.path.join(self.var, "spool", "rx")
        self.objects = os.path.join(self.var, "archive", "objects")
        self.docs_dir = os.path.join(t.tmp, "docs")
        os.makedirs(self.docs_dir)
        self.run_no = 0
        self.faxes = {}          # base -> {"doc": path, "recovered": no record, "pages": n}
        self.doc_pages = {}      # doc path -> [(WxH, bitmap hash)]
        self.canon = {}          # tuple of doc pages -> page object ids (must never change)
        self.shown = {}          # (fax id, source) -> (manifest, [page ids]) from `show`
        self.seq = 0
        self.daemon = None
        self.old_logs = []

    # ---- tools ----

    def cli(self, *args, expect=0):
        argv = [self.inkless, "-c", self.t.config_path] + [str(a) for a in args]
        r = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=CLI_TIMEOUT)
        if expect is not None and r.returncode != expect:
            raise TestFailure("`inkless %s` exited %d, expected %d:\n%s%s" %
                              (" ".join(map(str, args)), r.returncode, expect, r.stdout,
                               r.stderr))
        return r

    def pages_of(self, *paths):
        r = subprocess.run([self.faxpages] + list(paths), capture_output=True, text=True,
                           timeout=120)
        if r.returncode != 0:
            raise TestFailure("faxpages cannot decode %s: %s" % (paths, r.stderr.strip()))
        out = {p: [] for p in paths}
        for line in r.stdout.splitlines():
            f = line.split()
            out[f[0]].append((f[2], f[5]))
        return out

    def pages_of_prefix(self, path):
        """How many pages a TIFF cut short still holds (libtiff stops at the first directory
        past the end)."""
        return len(self.pages_of(path)[path])

    def doc(self, name):
        path = os.path.join(self.data, "tiff", "itu", name)
        if not os.path.exists(path):
            raise TestFailure("missing test document %s" % path)
        return path

    def object_path(self, oid):
        return os.path.join(self.objects, oid[:2], oid[2:])

    def disk_objects(self):
        """(object ids, tmp file paths) under archive/objects and archive/tmp."""
        ids, tmps = set(), []
        for fan in sorted(os.listdir(self.objects)) if os.path.isdir(self.objects) else []:
            d = os.path.join(self.objects, fan)
            for name in os.listdir(d):
                if name.startswith("tmp."):
                    tmps.append(os.path.join(d, name))
                elif len(fan) == 2 and len(name) == 62:
                    ids.add(fan + name)
                else:
                    raise TestFailure("stray file in the archive: %s" % os.path.join(d, name))
        tmpdir = os.path.join(self.var, "archive", "tmp")
        if os.path.isdir(tmpdir):
            tmps += [os.path.join(tmpdir, n) for n in os.listdir(tmpdir)]
        return ids, tmps

    # ---- the daemon ----

    def config(self, overrides=None):
        cfg = {"trunks": [trunk(reinvite="none")], "server.log_level": "info"}
        cfg.update(overrides or {})
        self.t.write_config(cfg)

    def spawn(self):
        if self.daemon:
            self.old_logs.append(self.daemon.text())
        self.run_no += 1
        self.daemon = Daemon(self.t.daemon_path, self.t.config_path,
                             os.path.join(self.t.tmp, "inklessd-%02d.log" % self.run_no))
        self.t.daemon = self.daemon          # harness.Test kills it and dumps its log
        return self.daemon.spawn()

    def check_log(self, d):
        text = d.text()
        bad = [m for m in harness.LOG_FAILURES if m in text]
        if bad:
            raise TestFailure("daemon log contains %s" % bad)
        # A record we wrote whole must always parse; nothing may fail to store.
        for rx in (r"record unreadable", r"cannot store", r"cannot remove its spool files",
                   r"fax result not recorded", r"cannot record the fax result"):
            line = d.find(rx)
            if line:
                raise TestFailure("daemon run %d: %s" % (self.run_no, line))

    def wait_ingested(self, d, timeout=INGEST_TIMEOUT):
        """Poll spool/rx until no fax is left in it (the daemon ingested all)."""
        deadline = time.monotonic() + timeout
        while self.pending():
            if d.proc.poll() is not None:
                raise TestFailure("daemon exited (%s) during the ingest" % d.proc.returncode)
            if time.monotonic() > deadline:
                raise TestFailure("faxes still in spool/rx %.0f s after the start: %s" %
                                  (timeout, sorted(self.pending())[:5]))
            time.sleep(0.005)
        return time.monotonic() - d.t0

    # ---- the spool ----

    def pending(self):
        """Bases of faxes still in spool/rx (a TIFF or a record)."""
        out = set()
        for name in os.listdir(self.rx):
            for ext in (".tif", ".json"):
                if name.endswith(ext):
                    out.add(name[:-len(ext)])
        return out

    def add_fax(self, doc=None, record=True):
        """A fax as the daemon leaves it at phase E: spool/rx/<base>.tif and <base>.json
        (record False: the TIFF alone, as a kill before phase E leaves it)."""
        self.seq += 1
        base = "20240102T030405Z-%d-%d" % (self.seq % 8, self.seq)
        tif = os.path.join(self.rx, base + ".tif")
        if doc is None:
            if self.rng.random() < 0.35:
                doc = os.path.join(self.docs_dir, "synthetic-%d.tif" % self.seq)
                synthetic_tiff(doc, self.rng, self.rng.randint(1, 3))
            else:
                doc = self.doc(self.rng.choice(ITU_DOCS))
        if doc not in self.doc_pages:
            self.doc_pages[doc] = self.pages_of(doc)[doc]
        shutil.copyfile(doc, tif)
        if record:
            self.write_record(base, tif, len(self.doc_pages[doc]))
        self.faxes[base] = {"doc": doc, "recovered": not record}
        return base

    def write_record(self, base, tif, pages, name=None):
        """The result record exactly as server/store.c write_record writes it (to name, by
        default <base>.json, through a tmp file and a rename as the daemon does)."""
        rec = [("call_id", "crash-%s@127.0.0.1" % base), ("direction", "rx"),
               ("did", DIDS["local"].lstrip("+")), ("remote", "1555%07d" % self.seq),
               ("remote_ident", "15559990000"), ("trunk", "local"), ("transport", "t38"),
               ("job", ""), ("started", "2024-01-02T03:04:05Z")]
        text = "{\n" + "".join('  "%s": %s,\n' % (k, json.dumps(v)) for k, v in rec)
        text += ('  "duration_s": 42.500,\n  "success": true,\n  "t30_status": 0,\n'
                 '  "t30_text": "OK",\n  "pages": %d,\n  "bit_rate": 14400,\n  "ecm": true,\n'
                 '  "x_res": 8040,\n  "y_res": 7700,\n'
                 '  "udptl": {"packets": 1000, "recovered": 0, "lost": 0, "malformed": 0},\n'
                 '  "file": %s\n}\n' % (pages, json.dumps(tif)))
        tmp = os.path.join(self.rx, base + ".json.tmp")
        with open(tmp, "w") as f:
            f.write(text)
        os.rename(tmp, os.path.join(self.rx, name or base + ".json"))
        return text

    # ---- the checks ----

    def scrub(self):
        """`inkless scrub --json` must say clean; tmp files (a put the kill interrupted
        before its link()) are reported but are not a problem: the next start removes them."""
        r = self.cli("scrub", "--json", expect=None)
        lines = [l for l in r.stdout.splitlines() if l.startswith("{")]
        res = json.loads(lines[-1]) if lines else {}
        if r.returncode != 0 or not res.get("clean"):
            text = self.cli("scrub", expect=None)
            raise TestFailure("scrub not clean (exit %d): %s\n%s%s" %
                              (r.returncode, res, text.stdout, text.stderr))
        return res

    def index(self):
        """Every fax in the index by source file, with its page and manifest ids."""
        r = self.cli("inbox", "--json")
        rows = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
        by_source = {}
        for row in rows:
            src = row.get("source_file")
            if src in by_source:
                raise TestFailure("two index rows for %s: ids %d and %d" %
                                  (src, by_source[src]["id"], row["id"]))
            by_source[src] = row
            # Rows never change once committed: `show` each one once (by id and source, so
            # that an id given again to another fax after a lost commit is looked at anew).
            key = (row["id"], src)
            if key not in self.shown:
                s = json.loads(self.cli("show", row["id"], "--json").stdout)
                self.shown[key] = (s["manifest"], [p["hash"] for p in s["page_list"]])
            row["manifest"], row["page_ids"] = self.shown[key]
        return by_source

    def check_faxes(self, label, expect_all=False):
        """The invariants after a kill (or at the end, expect_all: every fax stored)."""
        res = self.scrub()
        rows = self.index()
        ids, tmps = self.disk_objects()
        pending = self.pending()
        for src, row in rows.items():
            base = src[:-4] if src.endswith(".tif") else src
            fax = self.faxes.get(base)
            if fax is None:
                raise TestFailure("%s: index row %d for a fax we never made: %s" %
                                  (label, row["id"], row))
            named = row["page_ids"] + ([row["manifest"]] if row["manifest"] else [])
            gone = [o for o in named if o not in ids]
            if gone:
                raise TestFailure("%s: fax %d (%s) names object(s) not in the archive: %s" %
                                  (label, row["id"], src, gone))
            want = self.doc_pages[fax["doc"]][:fax.get("pages")]
            # A TIFF without its record (a kill before phase E) is kept as partial: every
            # page in it, counted as the pages that arrived (no count from the call).
            status, counted = ("partial", len(want)) if fax["recovered"] else ("ok", len(want))
            if row["status"] != status or row["pages"] != counted or \
                    len(row["page_ids"]) != len(want) or not row["manifest"]:
                raise TestFailure("%s: fax %d (%s) stored as %s, %d page(s) (%d in the index), "
                                  "manifest '%s'; its document has %d: %s" %
                                  (label, row["id"], src, row["status"], row["pages"],
                                   len(row["page_ids"]), row["manifest"], len(want),
                                   row["t30_text"]))
            # Canonical pages depend on the bitmaps only: the same document (in MH, MR or
            # MMR) is always the same list of page objects, whatever the kills did.
            key = tuple(want)
            first = self.canon.setdefault(key, row["page_ids"])
            if first != row["page_ids"]:
                raise TestFailure("%s: fax %d (%s): page ids %s differ from another copy of the "
                                  "same pages %s" % (label, row["id"], src, row["page_ids"],
                                                     first))
            fax["id"] = row["id"]
        lost = []
        for base, fax in self.faxes.items():
            tif = os.path.exists(os.path.join(self.rx, base + ".tif"))
            rec = os.path.exists(os.path.join(self.rx, base + ".json"))
            stored = base + ".tif" in rows
            if tif and not rec and not fax["recovered"]:
                raise TestFailure("%s: %s.tif is in spool/rx without its record (the record "
                                  "goes last)" % (label, base))
            if not stored and not tif:
                lost.append(base)
            if expect_all and (not stored or tif or rec):
                raise TestFailure("%s: fax %s: in the index %s, in spool/rx %s" %
                                  (label, base, stored, tif or rec))
        if lost:
            raise TestFailure("%s: fax(es) lost: neither in spool/rx nor in the index: %s" %
                              (label, lost))
        return {"scrub": res, "rows": rows, "ids": ids, "tmps": tmps, "pending": pending}

    def check_exports(self, rows):
        """One export per distinct page list (the others name the very same objects, checked
        above): each page's bitmap as in the document."""
        done = set()
        for src, row in sorted(rows.items(), key=lambda x: x[1]["id"]):
            fax = self.faxes[src[:-4]]
            key = tuple(row["page_ids"])
            if key in done:
                continue
            done.add(key)
            out = os.path.join(self.t.tmp, "export-%d.tif" % row["id"])
            self.cli("export", row["id"], "--tiff", out)
            got = self.pages_of(out)[out]
            want = self.doc_pages[fax["doc"]][:fax.get("pages")]
            if got != want:
                bad = [i + 1 for i, (a, b) in enumerate(zip(got, want)) if a != b]
                raise TestFailure("fax %d exported: %d page(s), pages %s differ from %s" %
                                  (row["id"], len(got), bad, fax["doc"]))
            os.unlink(out)
        return len(done)


# ---- ingest_kill ----


@case
def case_ingest_kill(c, kills=KILLS):
    """Kill -9 the daemon at random points of its startup ingest, 50 times; after each kill
    scrub is clean, no row names a missing object and no fax is lost; a last start stores
    every fax once with its pages intact."""
    c.config()
    os.makedirs(c.rx, mode=0o750)
    # Calibrate on a start like those to come (the very first one also creates the index
    # and the fan-out directories): when the first fax is stored, and the typical time
    # between two.
    for _ in range(2):
        for _ in range(PENDING):
            c.add_fax()
        d = c.spawn()
        c.wait_ingested(d)
        d.wait_log(r"ready: SIP", 10, what="ready line")
        d.stop()
        c.check_log(d)
    c.check_faxes("calibration")
    times = d.arrivals(STORED)
    first = times[0]
    gaps = sorted(b - a for a, b in zip(times, times[1:]))
    gap = max(gaps[len(gaps) // 2], 0.002)
    log("a start stores its first fax after %.3f s, then one every %.3f s (median; %.3f s "
        "for all %d)" % (first, gap, times[-1], PENDING))

    # Each kill: either timed from the start, in [0, 1.2 x first] (opening the archive and
    # the index, removing tmp files, the first fax), or after the k-th fax of this start was
    # stored, 0 to 1.5 median gaps later (inside the next fax's ingest, or just after).
    mid = early = late = tmp_left = orphans_seen = 0
    prev_tmps = []
    t_start = time.monotonic()
    for i in range(1, kills + 1):
        while len(c.pending()) < PENDING:
            c.add_fax(record=c.rng.random() >= ORPHANS)
        before = c.pending()
        objs_before, _ = c.disk_objects()
        k = c.rng.randrange(PENDING) if c.rng.random() < 0.8 else 0
        delay = c.rng.uniform(0, 1.5 * gap) if k else c.rng.uniform(0, 1.2 * first)
        d = c.spawn()
        if k:
            d.wait_count(STORED, k, INGEST_TIMEOUT)
            label = "kill %d, %.1f ms after fax %d of the start" % (i, delay * 1000, k)
            time.sleep(delay)
            alive = d.kill_at(0)
        else:
            label = "kill %d, %.1f ms after the start" % (i, delay * 1000)
            alive = d.kill_at(delay)
        if not alive:
            raise TestFailure("%s: the daemon had exited (%s) by itself" %
                              (label, d.proc.returncode))
        c.check_log(d)
        st = c.check_faxes(label)
        stored = d.count(STORED)
        # The tmp files the previous kill left are removed by the next start, before its
        # ingest: if this run stored anything, none of them may be there.
        if stored and any(os.path.exists(p) for p in prev_tmps):
            raise TestFailure("%s: tmp files of the previous kill still there after a start "
                              "that ingested: %s" % (label, prev_tmps))
        referenced = set()
        for row in st["rows"].values():
            referenced.update(row["page_ids"] + [row["manifest"]])
        orphans = st["ids"] - referenced
        new_objs = st["ids"] - objs_before
        after = st["pending"]
        if not after:
            late += 1
        elif after == before and not new_objs and not st["tmps"]:
            early += 1
        else:
            mid += 1
        tmp_left += bool(st["tmps"])
        orphans_seen += bool(orphans)
        prev_tmps = st["tmps"]
        log("%s: %d/%d faxes stored, %d new object(s), %d unreferenced, %d tmp; scrub clean, "
            "%d objects" % (label, len(before) - len(after), len(before), len(new_objs),
                            len(orphans), len(st["tmps"]), st["scrub"]["objects"]))
    loop_s = time.monotonic() - t_start
    log("%d kills in %.1f s: %d during the ingest, %d before it began, %d after it ended; "
        "%d left tmp files, %d left objects no row names yet" %
        (kills, loop_s, mid, early, late, tmp_left, orphans_seen))
    if mid < kills // 2:
        raise TestFailure("only %d of %d kills landed during an ingest: the kill points do "
                          "not cover it" % (mid, kills))

    # The end: one start without a kill stores everything left, once each.
    d = c.spawn()
    c.wait_ingested(d)
    d.wait_log(r"ready: SIP", 10, what="ready line")
    d.stop()
    c.check_log(d)
    st = c.check_faxes("final", expect_all=True)
    if st["tmps"] or st["scrub"]["tmp"]:
        raise TestFailure("tmp files left after a clean start and stop: %s" % st["tmps"])
    referenced = set()
    for row in st["rows"].values():
        referenced.update(row["page_ids"] + [row["manifest"]])
    # An object stored by a killed ingest is stored again, byte for byte, by the retry: once
    # every fax is in, every object is named by some row.
    if st["ids"] != referenced:
        raise TestFailure("objects on disk but named by no row: %s; named but missing: %s" %
                          (sorted(st["ids"] - referenced)[:5], sorted(referenced - st["ids"])))
    stats = json.loads(c.cli("stats", "--json").stdout)
    pages = sum(len(r["page_ids"]) for r in st["rows"].values())
    page_objs = len(set(p for r in st["rows"].values() for p in r["page_ids"]))
    if stats["faxes"] != len(c.faxes) or stats["pages"] != pages or \
            stats["page_objects"] != page_objs or stats["objects"] != len(st["ids"]):
        raise TestFailure("stats %s, expected %d faxes, %d pages, %d page objects, %d objects"
                          % (stats, len(c.faxes), pages, page_objs, len(st["ids"])))
    n = c.check_exports(st["rows"])
    log("final: %d faxes, each once, %d pages (%d distinct page objects, dedup %.2f); "
        "%d distinct documents exported, every page identical" %
        (len(c.faxes), pages, page_objs, stats["dedup_ratio"], n))


# ---- rx_kill ----


class Peer:
    """faxpeer sending a document to the daemon; a thread reads its log and notes when the
    sender reached phase E with every page confirmed (MCF to the last page)."""

    DONE = re.compile(r"call 1: fax sent over \S+: (.*) \((-?\d+)\), (\d+) pages")

    def __init__(self, c, doc, timeout, speed=SPEED):
        self.argv = [c.faxpeer, "--speed", str(speed), "--seed", str(c.rng.randrange(1 << 30)),
                     "--call", "sip:%s@127.0.0.1:%d" % (DIDS["local"].lstrip("+"),
                                                        c.t.ports.sip),
                     "--transport", "udp", "--send", doc, "--timeout", "%.0f" % timeout]
        self.lines = []
        self.done = threading.Event()
        self.match = None
        self.t_done = None
        log("$ " + " ".join(self.argv))
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for raw in self.proc.stderr:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self.lines.append(line)
            m = self.DONE.search(line)
            if m and not self.done.is_set():
                self.match, self.t_done = m, time.monotonic()
                self.done.set()
        self.done.set()         # EOF: the peer exited, with or without a result

    def confirmed(self, pages):
        """Did the sender see every page confirmed and end with T.30 OK?"""
        m = self.match
        return bool(m) and m.group(2) == "0" and int(m.group(3)) == pages

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()    # it would wait for the dead daemon's answer to its BYE
        self.proc.wait()
        self.reader.join(5)


@case
def case_rx_kill(c, kills=RX_KILLS):
    """A fax over T.38, the daemon killed just after the sender's last page was confirmed,
    restarted: the fax is in the index with all its pages, scrub is clean."""
    doc = c.doc("itu1_fine_mh.tif")
    tiffcp = shutil.which("tiffcp")
    if tiffcp:
        doc = os.path.join(c.docs_dir, "three-pages.tif")
        subprocess.run([tiffcp, c.doc("itu1_fine_mh.tif"), c.doc("test1_fine_mh.tif"),
                        c.doc("itu2_fine_mh.tif"), doc], check=True, timeout=60)
    want = c.pages_of(doc)[doc]
    c.config({"media.speedup": SPEED})
    timeout = 40.0 * len(want) / SPEED + 30
    outcomes = []
    for i in range(1, kills + 1):
        d = c.spawn()
        d.wait_log(r"ready: SIP on 127\.0\.0\.1:\d+", harness.READY_TIMEOUT, what="ready line")
        known = set(c.index())
        mark = d.mark()
        peer = Peer(c, doc, timeout)
        try:
            # Two triggers. The daemon's own phase E (DCN received: the sender had its MCF for
            # the last page) then 0-3 ms: the result record is being written. Or the sender's
            # phase E as it reports it, then 0.5-300 ms, log-uniform: about half land in the
            # ingest (some 15 ms), the rest after it.
            if c.rng.random() < 0.4:
                d.wait_log(r"fax received ok", timeout, since=mark, what="the daemon's phase E")
                delay = c.rng.uniform(0, 0.003)
                label = "fax %d, kill %.1f ms after the daemon's phase E" % (i, delay * 1000)
                time.sleep(delay)
                d.kill()
                peer.done.wait(10)
            else:
                peer.done.wait(timeout + 10)
                delay = 0.0005 * (600 ** c.rng.random())
                label = "fax %d, kill %.1f ms after the sender's phase E" % (i, delay * 1000)
                if not peer.confirmed(len(want)):
                    raise TestFailure("fax %d: the sender did not end with every page "
                                      "confirmed: %s" % (i, peer.match and peer.match.group(0)))
                left = peer.t_done + delay - time.monotonic()
                if left > 0:
                    time.sleep(left)
                d.kill()
        finally:
            peer.stop()
        if not peer.confirmed(len(want)):
            raise TestFailure("%s: the sender did not end with every page confirmed: %s\n"
                              "---- faxpeer log ----\n%s" %
                              (label, peer.match and peer.match.group(0),
                               "\n".join(peer.lines[-40:])))
        c.check_log(d)
        recorded = bool(d.find(STORED))
        leftover = sorted(os.listdir(c.rx))
        # Restart: what the kill left in spool/rx is ingested at startup.
        d = c.spawn()
        d.wait_log(r"ready: SIP", harness.READY_TIMEOUT, what="ready line")
        c.wait_ingested(d, 30)
        d.stop()
        c.check_log(d)
        res = c.scrub()
        rows = c.index()
        new = [r for s, r in rows.items() if s not in known]
        if len(new) != 1:
            raise TestFailure("%s: %d new faxes in the index, expected 1: %s" %
                              (label, len(new), new))
        row = new[0]
        # A kill before the result record was written leaves the TIFF alone: recovered as
        # partial (the daemon cannot know how the call ended), but with every page.
        is_recovered = "recovered after a restart" in row["t30_text"]
        if len(row["page_ids"]) != len(want) or row["pages"] != len(want):
            raise TestFailure("%s: fax %d stored with %d page(s) (%d counted), the sender "
                              "had %d confirmed: %s" % (label, row["id"], len(row["page_ids"]),
                                                        row["pages"], len(want), row))
        if row["status"] != ("partial" if is_recovered else "ok"):
            raise TestFailure("%s: fax %d stored as %s: %s" % (label, row["id"], row["status"],
                                                               row["t30_text"]))
        if is_recovered:
            # The call's details come from its provisional record (written at answer): the
            # DID, the caller and the Call-ID, so the fax is in the right inbox and counted
            # in usage with the pages that arrived.
            if row["did"] != harness.DIDS["local"].lstrip("+") or \
                    row["remote_number"] != "15559990000" or not row["call_id"]:
                raise TestFailure("%s: fax %d recovered without its call details: did '%s', "
                                  "remote '%s', call_id '%s'" %
                                  (label, row["id"], row["did"], row["remote_number"],
                                   row["call_id"]))
            log("%s: recovered from the TIFF and the call's provisional record" % label)
        out = os.path.join(c.t.tmp, "rx-%d.tif" % i)
        c.cli("export", row["id"], "--tiff", out)
        got = c.pages_of(out)[out]
        if got != want:
            raise TestFailure("%s: exported fax %d differs from the document sent" %
                              (label, row["id"]))
        how = ("stored before the kill" if recorded else
               "record in spool/rx" if any(n.endswith(".json") for n in leftover) else
               "TIFF only in spool/rx" if leftover else "nothing in spool/rx")
        outcomes.append(how)
        log("%s: %s; after the restart fax %d is %s with %d pages, identical; scrub clean "
            "(%d objects)" % (label, how, row["id"], row["status"], len(want),
                              res["objects"]))
    log("rx_kill: %s" % ", ".join("%s x%d" % (k, outcomes.count(k))
                                  for k in sorted(set(outcomes))))


# ---- rx_during_startup ----


@case
def case_rx_during_startup(c):
    """A fax arriving while the daemon still cleans up after a crash: tmp files of a big
    archive take a second to remove, and the fax's TIFF appears in spool/rx meanwhile. It is
    a call in progress, not an orphan of the crash: it must be stored whole, once, as ok."""
    speed = 20
    c.config({"media.speedup": speed})
    os.makedirs(c.rx, mode=0o750)
    d = c.spawn()
    d.wait_log(r"ready: SIP", harness.READY_TIMEOUT, what="ready line")
    d.stop()
    doc = c.doc("itu1_fine_mh.tif")
    want = c.pages_of(doc)[doc]
    tmpdir = os.path.join(c.var, "archive", "tmp")
    links = 0
    for attempt in (1, 2):
        # Tmp files of interrupted puts, many (hard links: cheap to make, slow enough to
        # remove), so that the startup cleanup outlasts the call's first second.
        target = 120000 * attempt
        while links < target:
            if links % 50000 == 0:      # ext4 allows 65000 links to a file
                src = os.path.join(tmpdir, "tmp.src%012x" % links)
                with open(src, "wb"):
                    pass
            links += 1
            os.link(src, os.path.join(tmpdir, "tmp.%016x" % links))
        known = set(c.index())
        d = c.spawn()
        d.wait_log(r"ready: SIP", harness.READY_TIMEOUT, what="ready line")
        peer = Peer(c, doc, 60, speed=speed)
        t_tif = None
        deadline = time.monotonic() + 30
        while t_tif is None and not peer.done.is_set() and time.monotonic() < deadline:
            if any(n.endswith(".tif") for n in os.listdir(c.rx)):
                t_tif = time.monotonic() - d.t0
            else:
                time.sleep(0.002)
        peer.done.wait(60)
        peer.stop()
        if not peer.confirmed(len(want)):
            raise TestFailure("the sender did not end with every page confirmed: %s\n%s" %
                              (peer.match and peer.match.group(0), "\n".join(peer.lines[-30:])))
        d.wait_log(STORED, 30, what="the fax stored")
        cleaned = d.arrivals(r"removed \d+ temporary file")
        d.stop()
        c.check_log(d)
        c.scrub()
        new = [r for s, r in c.index().items() if s not in known]
        if len(new) != 1 or new[0]["status"] != "ok" or len(new[0]["page_ids"]) != len(want) \
                or new[0]["pages"] != len(want):
            raise TestFailure("a fax received during the startup cleanup is stored as %s" %
                              [(r["id"], r["status"], r["pages"], len(r["page_ids"]),
                                r["t30_text"]) for r in new])
        out = os.path.join(c.t.tmp, "startup-%d.tif" % attempt)
        c.cli("export", new[0]["id"], "--tiff", out)
        if c.pages_of(out)[out] != want:
            raise TestFailure("the fax received during the startup cleanup differs")
        hit = t_tif is not None and cleaned and t_tif < cleaned[0]
        log("attempt %d: %d tmp files removed %.3f s after the start; the call's TIFF appeared "
            "at %s s; stored ok with every page" %
            (attempt, links + (links + 49999) // 50000, cleaned[0] if cleaned else -1,
             "%.3f" % t_tif if t_tif is not None else "?"))
        if hit:
            return
    raise harness.Skip("the startup cleanup was over before the call's TIFF appeared, twice: "
                       "the race this case is about was not reached")


# ---- spool_states ----


@case
def case_spool_states(c):
    """The states a kill leaves in windows too narrow to hit at random, made by hand: spool
    files still there after the index commit, a record left after its TIFF was removed, a
    record half written, a TIFF cut mid-page, tmp files of interrupted puts. One start must
    settle each: no second row, nothing lost, every tmp file gone, scrub clean."""
    c.config()
    os.makedirs(c.rx, mode=0o750)
    a = c.add_fax(c.doc("itutests_fine_mmr.tif"))
    b = c.add_fax(c.doc("itu1-8_standard_mh.tif"))
    saved = {}
    for base in (a, b):
        for ext in (".tif", ".json"):
            with open(os.path.join(c.rx, base + ext), "rb") as f:
                saved[base + ext] = f.read()
    d = c.spawn()
    c.wait_ingested(d)
    d.wait_log(r"ready: SIP", 10, what="ready line")
    d.stop()
    before = c.check_faxes("first start", expect_all=True)["rows"]

    # a: killed after its index commit, before the spool files were removed.
    # b: killed between the removal of its TIFF and of its record.
    for name in (a + ".tif", a + ".json", b + ".json"):
        with open(os.path.join(c.rx, name), "wb") as f:
            f.write(saved[name])
    # e: killed while writing the result record (a TIFF and a half-written .json.tmp).
    e = c.add_fax(c.doc("itu1-8_standard_mh.tif"), record=False)
    text = c.write_record(e, os.path.join(c.rx, e + ".tif"), 8, name=e + ".json.tmp")
    with open(os.path.join(c.rx, e + ".json.tmp"), "r+") as f:
        f.truncate(len(text) // 2)
    # f: killed mid-call: the TIFF cut in the middle of a page, no record.
    f_ = c.add_fax(c.doc("itutests_fine_mh.tif"), record=False)
    tif = os.path.join(c.rx, f_ + ".tif")
    with open(tif, "r+b") as fh:
        fh.truncate(os.path.getsize(tif) // 2)
    cut = c.pages_of_prefix(tif)
    c.faxes[f_]["pages"] = cut
    # ... with the provisional record the daemon writes when it answers (<base>.call): the
    # recovered fax keeps the call's details.
    c.write_record(f_, tif, 0, name=f_ + ".call")
    # Tmp files of puts killed before their link(): one in a fan-out directory (arc_put),
    # one in archive/tmp (arc_put_fd).
    tmps = [os.path.join(c.objects, "ab", "tmp.0123456789abcdef"),
            os.path.join(c.var, "archive", "tmp", "tmp.fedcba9876543210")]
    for p in tmps:
        with open(p, "wb") as fh:
            fh.write(b"II*\x00half a page")
        os.chmod(p, 0o444)
    res = c.scrub()
    if res["tmp"] != 2:
        raise TestFailure("scrub counts %d tmp files, 2 are there: %s" % (res["tmp"], res))
    c.check_faxes("states made")
    # An `inkless send` killed before its commit, two hours ago (a job directory), and one
    # converting right now: the old one goes to spool/purge, the fresh one is left alone.
    old_job = os.path.join(c.var, "spool", "tmp", "20240102T030405Z-0123456789ab")
    os.makedirs(old_job)
    with open(os.path.join(old_job, "job"), "w") as fh:
        fh.write("id=20240102T030405Z-0123456789ab\n")
    two_hours_ago = time.time() - 7200
    os.utime(old_job, (two_hours_ago, two_hours_ago))
    fresh = os.path.join(c.var, "spool", "tmp", "convert-1-2.tif")
    open(fresh, "wb").close()

    d = c.spawn()
    c.wait_ingested(d)
    d.wait_log(r"ready: SIP", 10, what="ready line")
    d.stop()
    c.check_log(d)
    st = c.check_faxes("after the start", expect_all=True)
    for base in (a, b):
        if st["rows"][base + ".tif"]["id"] != before[base + ".tif"]["id"] or \
                st["rows"][base + ".tif"]["manifest"] != before[base + ".tif"]["manifest"]:
            raise TestFailure("fax %s changed when its spool files were ingested again" % base)
        if not d.find(r"stored already: %s\.tif" % base):
            raise TestFailure("no 'stored already' for %s" % base)
    row = st["rows"][f_ + ".tif"]
    if row["call_id"] != "crash-%s@127.0.0.1" % f_ or row["did"] != DIDS["local"].lstrip("+"):
        raise TestFailure("the TIFF cut mid-page lost its call's details (.call): %s" % row)
    if os.path.exists(old_job) or not os.path.exists(os.path.join(
            c.var, "spool", "purge", os.path.basename(old_job), "job")) or \
            not os.path.exists(fresh):
        raise TestFailure("spool/tmp: the old leftover not moved to spool/purge, or the fresh "
                          "one touched: %s" % os.listdir(os.path.join(c.var, "spool", "tmp")))
    left = [p for p in tmps if os.path.exists(p)] + st["tmps"]
    if left or st["scrub"]["tmp"] or not d.find(r"removed 2 temporary file"):
        raise TestFailure("tmp files not removed at startup: %s" % left)
    if os.listdir(c.rx):
        raise TestFailure("spool/rx not empty: %s" % os.listdir(c.rx))
    log("spool files of a stored fax, a record alone: ingested again as 'stored already', no "
        "second row; a half-written record: removed, its TIFF kept as partial with all 8 "
        "pages; a TIFF cut mid-page: partial with its %d whole page(s) and its call's details; "
        "2 tmp files removed; "
        "scrub clean" % cut)
    n = c.check_exports(st["rows"])
    log("%d faxes exported, pages identical" % n)


# ---- corrupt ----


def flip_byte(path, rng):
    os.chmod(path, 0o644)
    with open(path, "r+b") as f:
        data = bytearray(f.read())
        i = rng.randrange(len(data))
        data[i] ^= 0x01 << rng.randrange(8)
        f.seek(0)
        f.write(data)
    os.chmod(path, 0o444)
    return bytes(data)


@case
def case_corrupt(c):
    """A flipped bit in stored objects: export and scrub detect it, move the object to
    archive/corrupt/, name the faxes that lose a page; a later fax with that page heals it."""
    c.config()
    os.makedirs(c.rx, mode=0o750)
    a = c.add_fax(c.doc("itutests_fine_mh.tif"))      # 12 pages
    b = c.add_fax(c.doc("itu1_fine_mh.tif"))          # its page 1
    s = c.add_fax(c.doc("itu1-8_standard_mh.tif"))    # 8 other pages
    d = c.spawn()
    c.wait_ingested(d)
    d.wait_log(r"ready: SIP", 10, what="ready line")
    d.stop()
    rows = c.check_faxes("before", expect_all=True)["rows"]
    fa, fb, fs = (rows[x + ".tif"] for x in (a, b, s))
    corrupt_dir = os.path.join(c.var, "archive", "corrupt")

    # 1. export finds a corrupt page (page 1 of a, shared with b) and moves it away.
    p1 = fa["page_ids"][0]
    if fb["page_ids"] != [p1]:
        raise TestFailure("itu1 is not page 1 of the ITU set in the archive")
    bad1 = flip_byte(c.object_path(p1), c.rng)
    out = os.path.join(c.t.tmp, "export.tif")
    r = c.cli("export", fb["id"], "--tiff", out, expect=1)
    if "corrupt" not in r.stderr or p1 not in r.stderr or os.path.exists(out):
        raise TestFailure("export of a corrupt page: %s (output left: %s)" %
                          (r.stderr.strip(), os.path.exists(out)))
    moved = os.path.join(corrupt_dir, p1)
    if os.path.exists(c.object_path(p1)) or not os.path.exists(moved) or \
            open(moved, "rb").read() != bad1:
        raise TestFailure("corrupt object %s not moved to archive/corrupt/" % p1)

    # 2. scrub finds a corrupt page (page 5 of the standard set) and a corrupt manifest
    # (fax a's), moves them, and exits 1 naming them and the faxes that lose them.
    p5 = fs["page_ids"][4]
    flip_byte(c.object_path(p5), c.rng)
    flip_byte(c.object_path(fa["manifest"]), c.rng)
    r = c.cli("scrub", expect=1)
    want = [r"missing\s+%s: page of fax %d, fax %d" % (p1, min(fa["id"], fb["id"]),
                                                       max(fa["id"], fb["id"])),
            r"corrupt\s+%s: moved to archive/corrupt/\S* ?\(page of fax %d\)" % (p5, fs["id"]),
            r"missing\s+%s: page of fax %d" % (p5, fs["id"]),
            r"corrupt\s+%s: moved to archive/corrupt/" % fa["manifest"],
            r"manifest %s of fax %d: missing" % (fa["manifest"], fa["id"]),
            r"PROBLEMS FOUND"]
    for rx in want:
        if not re.search(rx, r.stdout):
            raise TestFailure("scrub output lacks /%s/:\n%s" % (rx, r.stdout))
    for oid in (p5, fa["manifest"]):
        if os.path.exists(c.object_path(oid)) or \
                not os.path.exists(os.path.join(corrupt_dir, oid)):
            raise TestFailure("scrub did not move %s to archive/corrupt/" % oid)
    r = c.cli("export", fs["id"], "--pdf", os.path.join(c.t.tmp, "s.pdf"), expect=1)
    if "missing" not in r.stderr or p5 not in r.stderr:
        raise TestFailure("export of a fax with a missing page: %s" % r.stderr.strip())
    c.cli("export", fa["id"], "--tiff", out, expect=1)    # its page 1 is gone too
    log("export and scrub found the corrupt objects, moved them to archive/corrupt/ and "
        "named the faxes: %s" % sorted(os.listdir(corrupt_dir)))

    # 3. A page still corrupt in place when the same page arrives again: the put finds other
    # bytes under its name, moves them to archive/corrupt/ and stores the good page. Another
    # fax brings back p1 and p5 (missing since the move).
    p2 = fa["page_ids"][1]
    flip_byte(c.object_path(p2), c.rng)
    a2 = c.add_fax(c.doc("itutests_fine_mr.tif"))
    s2 = c.add_fax(c.doc("itu1-8_standard_mh.tif"))
    d = c.spawn()
    c.wait_ingested(d)
    d.wait_log(r"ready: SIP", 10, what="ready line")
    d.stop()
    c.check_log(d)
    if not os.path.exists(os.path.join(corrupt_dir, p2)):
        raise TestFailure("the put of a page over a corrupt copy kept no copy in corrupt/")
    # Fax a's manifest names call details only fax a has: it stays missing.
    r = c.cli("scrub", expect=1)
    problems = [l for l in r.stdout.splitlines() if not l.startswith("scrub:")]
    if problems != ["manifest %s of fax %d: missing" % (fa["manifest"], fa["id"])]:
        raise TestFailure("after new copies of the pages, scrub still reports:\n%s" % r.stdout)
    rows = c.index()
    for x in (fa, fb, fs, rows[a2 + ".tif"], rows[s2 + ".tif"]):
        out = os.path.join(c.t.tmp, "healed-%d.tif" % x["id"])
        c.cli("export", x["id"], "--tiff", out)
        if c.pages_of(out)[out] != c.doc_pages[c.faxes[x["source_file"][:-4]]["doc"]]:
            raise TestFailure("fax %d exported after the repair differs" % x["id"])
    log("new faxes with the same pages stored them again (the corrupt copy in place moved "
        "aside): every fax exports identical; only fax %d's manifest stays missing" % fa["id"])


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", help="meson build directory")
    ap.add_argument("--data", help="tests/data")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--kills", type=int, default=None, help="kills (ingest_kill, rx_kill)")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("case", nargs="?")
    args = ap.parse_args()
    if args.list:
        for name, fn in CASES.items():
            print("%-18s %s" % (name, " ".join(fn.__doc__.split())))
        return 0
    if not args.build or not args.data or args.case not in CASES:
        ap.error("need --build, --data and one of: " + ", ".join(CASES))
    seed = args.seed
    if seed is None and os.environ.get("INKLESS_CRASH_SEED"):
        seed = int(os.environ["INKLESS_CRASH_SEED"])
    if seed is None:
        seed = int.from_bytes(os.urandom(4), "little")
    log("seed %d (rerun: crash.py ... --seed %d %s, or INKLESS_CRASH_SEED=%d)" %
        (seed, seed, args.case, seed))
    build = os.path.abspath(args.build)

    def run():
        with harness.Test(os.path.join(build, "server", "inklessd"), "udp",
                          "crash-" + args.case) as t:
            c = Crash(t, build, os.path.abspath(args.data), random.Random(seed))
            try:
                if args.kills is not None and args.case in ("ingest_kill", "rx_kill"):
                    CASES[args.case](c, args.kills)
                else:
                    CASES[args.case](c)
            except BaseException:
                for text in c.old_logs[-2:]:
                    log("---- earlier daemon run log ----\n%s" % text[-4000:])
                log("seed %d" % seed)
                raise

    return harness.main(run)


if __name__ == "__main__":
    sys.exit(main())
