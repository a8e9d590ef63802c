# SPDX-License-Identifier: GPL-2.0-or-later
"""Test harness for the SIP suite: runs the real inklessd on loopback and drives it with sipp
or with raw sockets.

Python standard library only (Debian 12's /usr/bin/python3), so the suite runs on a fresh
machine. Exit codes follow meson: 0 pass, 1 fail, 77 skip (a tool is missing).

Parallel safety: every test takes a block of PORT_BLOCK ports under an exclusive lock file and
checks that each port is free, then puts everything it binds in that block: the daemon's SIP
port (UDP and TCP), the sipp instances' SIP, media and control ports, and the daemon's media
port range. Blocks lie below the kernel's ephemeral range, so sockets bound to port 0 (our raw
clients, sipp's TCP client side) never land in them. Each test has its own temp dir for the
config, the var dir and the sipp logs.
"""

import fcntl
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

SKIP = 77
HERE = os.path.dirname(os.path.abspath(__file__))

PORT_BLOCK = 64
PORT_FIRST = 10240          # blocks: 10240, 10304, ... below the ephemeral range (32768+)
PORT_LAST = 32704
SIPP_SLOTS = 4              # sipp instances per test: SIP port base+1+i, media, control
MEDIA_OFFSET = 32           # daemon media range: base+32 .. base+63 (16 RTP/RTCP pairs)

READY_TIMEOUT = 10.0        # daemon start → "ready" log line
STOP_TIMEOUT = 15.0         # SIGTERM → exit (drain_timeout is 5 s in tests)
SIPP_TIMEOUT = 20           # sipp's own -timeout, seconds; the process is killed at +10 s

LOG_FAILURES = ("AddressSanitizer", "LeakSanitizer", "runtime error:", "ThreadSanitizer")

DIDS = {"local": "+15551230001", "tollfree": "+18005550100"}


class TestFailure(Exception):
    pass


class Skip(Exception):
    pass


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ---- ports ----


def _port_free(port, tcp=True):
    kinds = [socket.SOCK_DGRAM] + ([socket.SOCK_STREAM] if tcp else [])
    for kind in kinds:
        s = socket.socket(socket.AF_INET, kind)
        try:
            if kind == socket.SOCK_STREAM:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        finally:
            s.close()
    return True


class PortBlock:
    """PORT_BLOCK consecutive ports held under an exclusive lock until close()."""

    def __init__(self):
        lockdir = os.path.join(tempfile.gettempdir(), "inkless-test-ports")
        os.makedirs(lockdir, exist_ok=True)
        bases = list(range(PORT_FIRST, PORT_LAST + 1, PORT_BLOCK))
        random.shuffle(bases)
        for base in bases:
            fd = os.open(os.path.join(lockdir, "%d.lock" % base), os.O_RDWR | os.O_CREAT, 0o666)
            try:
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                continue
            if all(_port_free(p) for p in range(base, base + PORT_BLOCK)):
                self.fd = fd
                self.base = base
                return
            os.close(fd)
        raise TestFailure("no free block of %d ports in %d..%d" % (PORT_BLOCK, PORT_FIRST,
                                                                   PORT_LAST + PORT_BLOCK))

    @property
    def sip(self):
        return self.base

    def sipp_port(self, i):
        return self.base + 1 + i

    def sipp_media(self, i):
        return self.base + 8 + 4 * i       # sipp binds mp and mp+2

    def sipp_control(self, i):
        return self.base + 24 + i

    @property
    def media_min(self):
        return self.base + MEDIA_OFFSET

    @property
    def media_max(self):
        return self.base + PORT_BLOCK - 1

    def close(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


# ---- config ----


def _cfg_value(v, indent):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, dict):
        pad = "    " * (indent + 1)
        body = "".join("%s%s = %s;\n" % (pad, k, _cfg_value(x, indent + 1)) for k, x in v.items())
        return "{\n" + body + "    " * indent + "}"
    if isinstance(v, list):
        if v and all(isinstance(x, dict) for x in v):
            pad = "    " * (indent + 1)
            return "(\n" + ",\n".join(pad + _cfg_value(x, indent + 1) for x in v) + "\n" + \
                "    " * indent + ")"
        return "[" + ", ".join(_cfg_value(x, indent) for x in v) + "]"
    raise TypeError("cannot write %r in a libconfig file" % (v,))


def config_text(cfg):
    """libconfig text for a dict of groups (dicts) and lists."""
    return "".join("%s = %s;\n" % (k, _cfg_value(v, 0)) for k, v in cfg.items())


def trunk(name="local", sources=("127.0.0.1/32",), reinvite="none", delay_ms=200, t38=True,
          country_code="1"):
    return {"name": name, "sources": list(sources), "t38_reinvite": reinvite,
            "t38_reinvite_delay_ms": delay_ms, "t38": t38, "country_code": country_code}


def base_config(tmp, ports):
    return {
        "server": {"var_dir": os.path.join(tmp, "var"), "log_level": "info",
                   "log_target": "stderr", "drain_timeout": 5},
        "sip": {"listen": "127.0.0.1", "port": ports.sip, "transports": ["udp", "tcp"],
                "user_agent": "inkless-test", "answer_delay_ms": 0, "retry_after": 5,
                "max_sdp_bytes": 8192},
        "media": {"threads": 1, "tick_ms": 20, "address": "", "port_min": ports.media_min,
                  "port_max": ports.media_max},
        "limits": {"max_channels": 8},
        "t38": {"enabled": True, "version": 0, "max_bitrate": 14400, "max_datagram": 400,
                "ec": "redundancy", "prefer": True},
        "audio": {"pcmu": True, "pcma": True},
        "trunks": [trunk()],
        "numbers": [
            {"number": DIDS["local"], "type": "local", "trunk": "local"},
            {"number": DIDS["tollfree"], "type": "tollfree"},
        ],
    }


def merge(cfg, overrides):
    """Apply {"group.option": value} (or {"trunks": [...]}) to a config dict, in place."""
    for key, value in (overrides or {}).items():
        if "." in key:
            group, option = key.split(".", 1)
            cfg.setdefault(group, {})[option] = value
        else:
            cfg[key] = value
    return cfg


# ---- the daemon ----


class Daemon:
    """inklessd in the foreground; its stderr is collected line by line by a thread."""

    def __init__(self, path, config_path, log_path):
        self.path = path
        self.config_path = config_path
        self.log_path = log_path
        self.lines = []
        self.cond = threading.Condition()
        self.proc = None
        self.reader = None
        self.returncode = None

    def start(self):
        logf = open(self.log_path, "ab")
        self.proc = subprocess.Popen([self.path, "-c", self.config_path],
                                     stdin=subprocess.DEVNULL, stdout=logf,
                                     stderr=subprocess.PIPE)
        logf.close()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.wait_log(r"ready: SIP on 127\.0\.0\.1:\d+", READY_TIMEOUT, what="ready line")

    def _read(self):
        with open(self.log_path, "ab") as logf:
            for raw in self.proc.stderr:
                logf.write(raw)
                logf.flush()
                with self.cond:
                    self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))
                    self.cond.notify_all()
        with self.cond:
            self.lines.append(None)    # EOF marker: the daemon closed stderr
            self.cond.notify_all()

    def mark(self):
        """A position in the log; wait_log(..., since=mark) looks only at later lines."""
        with self.cond:
            return len(self.lines)

    def find(self, regex, since=0):
        rx = re.compile(regex)
        with self.cond:
            for line in self.lines[since:]:
                if line is not None and rx.search(line):
                    return line
        return None

    def wait_log(self, regex, timeout, since=0, what=None):
        """Wait for a log line matching regex (bounded). Returns the re.Match."""
        rx = re.compile(regex)
        deadline = time.monotonic() + timeout
        i = since
        with self.cond:
            while True:
                while i < len(self.lines):
                    line = self.lines[i]
                    i += 1
                    if line is None:
                        raise TestFailure("daemon exited (status %s) before %s" %
                                          (self.proc.poll(), what or repr(regex)))
                    m = rx.search(line)
                    if m:
                        return m
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TestFailure("no %s in the daemon log within %.0f s" %
                                      (what or repr(regex), timeout))
                self.cond.wait(left)

    def signal(self, sig):
        if self.proc.poll() is not None:
            raise TestFailure("daemon exited (status %s) unexpectedly" % self.proc.returncode)
        self.proc.send_signal(sig)

    def wait_exit(self, timeout):
        try:
            self.returncode = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise TestFailure("daemon still running %.0f s after it should have exited" %
                              timeout)
        self.reader.join(5)
        return self.returncode

    def stop(self):
        """SIGTERM; the daemon must exit 0 within STOP_TIMEOUT."""
        self.signal(signal.SIGTERM)
        rc = self.wait_exit(STOP_TIMEOUT)
        if rc != 0:
            raise TestFailure("daemon exited with status %d after SIGTERM" % rc)

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.reader:
            self.reader.join(5)

    def text(self):
        with self.cond:
            return "\n".join(l for l in self.lines if l is not None)


# ---- sipp ----


class SippResult:
    def __init__(self, name, returncode, error_file, message_file, screen_file):
        self.name = name
        self.returncode = returncode
        self.error_file = error_file
        self.message_file = message_file
        self.screen_file = screen_file

    def errors(self):
        try:
            with open(self.error_file, errors="replace") as f:
                return f.read()
        except OSError:
            return ""


class Sipp:
    """One sipp process, started with start() and finished with wait()."""

    def __init__(self, test, scenario, slot, service, source_ip="127.0.0.1", keys=None,
                 extra=None, name=None):
        self.test = test
        self.scenario = scenario
        self.slot = slot
        self.name = name or "%s-%d" % (os.path.splitext(scenario)[0], slot)
        logdir = os.path.join(test.tmp, "sipp-" + self.name)
        os.makedirs(logdir, exist_ok=True)
        self.error_file = os.path.join(logdir, "errors.log")
        self.message_file = os.path.join(logdir, "messages.log")
        self.screen_file = os.path.join(logdir, "screen.log")
        self.log_file = os.path.join(logdir, "log.log")
        ports = test.ports
        args = [
            test.sipp, "127.0.0.1:%d" % ports.sip,
            "-sf", os.path.join(HERE, scenario),
            "-t", "t1" if test.transport == "tcp" else "u1",
            "-i", source_ip, "-p", str(ports.sipp_port(slot)),
            "-mi", source_ip, "-mp", str(ports.sipp_media(slot)),
            "-cp", str(ports.sipp_control(slot)),
            "-s", service, "-m", "1", "-l", "1",
            "-nostdin", "-timeout", "%ds" % SIPP_TIMEOUT, "-timeout_error",
            "-trace_err", "-error_file", self.error_file,
            "-trace_msg", "-message_file", self.message_file,
            "-trace_logs", "-log_file", self.log_file,
            "-trace_screen", "-screen_file", self.screen_file,
        ]
        for k, v in (keys or {}).items():
            args += ["-key", k, str(v)]
        self.args = args + list(extra or [])
        self.proc = None

    def start(self):
        self.out = open(os.path.join(os.path.dirname(self.error_file), "stdout.log"), "wb")
        self.proc = subprocess.Popen(self.args, stdin=subprocess.DEVNULL, stdout=self.out,
                                     stderr=subprocess.STDOUT, cwd=os.path.dirname(self.error_file))
        return self

    def running(self):
        return self.proc.poll() is None

    def wait(self):
        try:
            rc = self.proc.wait(SIPP_TIMEOUT + 10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise TestFailure("sipp %s did not finish" % self.name)
        finally:
            self.out.close()
        return SippResult(self.name, rc, self.error_file, self.message_file, self.screen_file)

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


# ---- one test ----


class Test:
    """Temp dir, ports, config, daemon; use as a context manager around the test body."""

    def __init__(self, daemon_path, transport, name):
        self.daemon_path = os.path.abspath(daemon_path)
        self.transport = transport
        self.name = name
        self.sipps = []
        self.daemon = None
        self.ports = None
        self.tmp = None
        self.sipp = None

    def __enter__(self):
        if not os.access(self.daemon_path, os.X_OK):
            raise TestFailure("daemon %s is not an executable" % self.daemon_path)
        self.tmp = tempfile.mkdtemp(prefix="inkless-sip-%s-%s-" % (self.name, self.transport))
        self.ports = PortBlock()
        self.config = base_config(self.tmp, self.ports)
        self.config_path = os.path.join(self.tmp, "inkless.conf")
        return self

    def __exit__(self, exc_type, exc, tb):
        for s in self.sipps:
            s.kill()
        if self.daemon:
            self.daemon.kill()
        problem = None
        if self.daemon:
            bad = [m for m in LOG_FAILURES if m in self.daemon.text()]
            if bad:
                problem = "daemon log contains %s" % ", ".join(repr(m) for m in bad)
        failed = problem or (exc_type is not None and not issubclass(exc_type, Skip))
        if failed:
            self.dump()
        self.ports.close()
        if os.environ.get("INKLESS_KEEP_TMP"):
            log("kept %s" % self.tmp)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)
        if problem and exc_type is None:
            raise TestFailure(problem)
        return False

    def dump(self):
        """On failure: the daemon log and the sipp error and message logs, to stderr."""
        if self.daemon:
            log("---- daemon log (%s) ----\n%s" % (self.daemon.log_path, self.daemon.text()))
        for s in self.sipps:
            for label, path in (("errors", s.error_file), ("messages", s.message_file),
                                ("screen", s.screen_file)):
                try:
                    with open(path, errors="replace") as f:
                        text = f.read()
                except OSError:
                    continue
                if label == "screen":
                    text = text[-3000:]
                if text.strip():
                    log("---- sipp %s %s ----\n%s" % (s.name, label, text))

    def need_sipp(self):
        self.sipp = shutil.which("sipp")
        if not self.sipp:
            raise Skip("sipp not found (Debian package sip-tester)")

    def write_config(self, overrides=None):
        merge(self.config, overrides)
        with open(self.config_path, "w") as f:
            f.write(config_text(self.config))
        r = subprocess.run([self.daemon_path, "--check-config", "-c", self.config_path],
                           stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=10)
        if r.returncode != 0:
            raise TestFailure("--check-config refused the test config (%d): %s%s\n%s" %
                              (r.returncode, r.stdout, r.stderr, config_text(self.config)))

    def start_daemon(self, overrides=None):
        self.write_config(overrides)
        self.daemon = Daemon(self.daemon_path, self.config_path,
                             os.path.join(self.tmp, "inklessd.log"))
        self.daemon.start()
        return self.daemon

    def sipp_start(self, scenario, service=DIDS["local"], slot=None, **kw):
        if slot is None:
            slot = len(self.sipps)
        if slot >= SIPP_SLOTS:
            raise TestFailure("more than %d sipp instances in one test" % SIPP_SLOTS)
        s = Sipp(self, scenario, slot, service, **kw)
        self.sipps.append(s)
        return s.start()

    def sipp_run(self, scenario, service=DIDS["local"], expect=0, **kw):
        """Run a scenario to the end; sipp must exit with `expect` (0: every call passed)."""
        s = self.sipp_start(scenario, service, **kw)
        return self.check_sipp(s.wait(), expect)

    def check_sipp(self, res, expect=0):
        if res.returncode != expect:
            raise TestFailure("sipp %s exited %d, expected %d%s" %
                              (res.name, res.returncode, expect,
                               (":\n" + res.errors()) if res.errors().strip() else ""))
        return res


# ---- raw SIP over sockets ----


def raw_request(method, did, transport, port, local_port, callid, cseq_line=None,
                body=b"", content_length=None, extra=b"", drop=()):
    """A request as bytes; `drop` names headers to leave out, `cseq_line` replaces CSeq."""
    tp = transport.upper()
    headers = [
        (b"Via", b"SIP/2.0/%s 127.0.0.1:%d;rport;branch=z9hG4bK-raw-%s"
         % (tp.encode(), local_port, callid.encode())),
        (b"Max-Forwards", b"70"),
        (b"From", b"<sip:+15559990000@127.0.0.1>;tag=raw1"),
        (b"To", b"<sip:%s@127.0.0.1:%d>" % (did.encode(), port)),
        (b"Call-ID", callid.encode()),
        (b"CSeq", cseq_line if cseq_line is not None else b"1 " + method.encode()),
        (b"Contact", b"<sip:raw@127.0.0.1:%d>" % local_port),
    ]
    if body:
        headers.append((b"Content-Type", b"application/sdp"))
    headers.append((b"Content-Length",
                    str(len(body) if content_length is None else content_length).encode()))
    lines = [b"%s sip:%s@127.0.0.1:%d SIP/2.0" % (method.encode(), did.encode(), port)]
    lines += [b"%s: %s" % (k, v) for k, v in headers if k.decode() not in drop]
    return b"\r\n".join(lines) + b"\r\n" + extra + b"\r\n" + body


SDP_AUDIO = (b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
             b"m=audio 9 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n")

STATUS_RX = re.compile(rb"^SIP/2\.0 (\d{3}) ", re.M)


class RawClient:
    """A UDP socket, or one TCP connection, to the daemon; reads responses."""

    def __init__(self, transport, port):
        self.transport = transport
        self.port = port
        kind = socket.SOCK_STREAM if transport == "tcp" else socket.SOCK_DGRAM
        self.sock = socket.socket(socket.AF_INET, kind)
        self.sock.bind(("127.0.0.1", 0))
        if transport == "tcp":
            self.sock.settimeout(5)
            self.sock.connect(("127.0.0.1", port))
        self.local_port = self.sock.getsockname()[1]
        self.buf = b""

    def send(self, data):
        if self.transport == "tcp":
            self.sock.sendall(data)
        else:
            self.sock.sendto(data, ("127.0.0.1", self.port))

    def responses(self, until_final=True, timeout=3.0):
        """Status codes of the responses received so far on this socket, waiting until a
        final one came (until_final), the timeout, or the daemon closing the connection."""
        deadline = time.monotonic() + timeout
        while True:
            codes = [int(c) for c in STATUS_RX.findall(self.buf)]
            left = deadline - time.monotonic()
            if left <= 0 or (until_final and any(c >= 200 for c in codes)):
                return codes
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except (socket.timeout, ConnectionResetError):
                return codes
            if not data:
                return codes       # TCP: the daemon closed the connection
            self.buf += data

    def close(self):
        self.sock.close()


def expect_status(client, request, allowed, what):
    client.send(request)
    codes = client.responses()
    finals = [c for c in codes if c >= 200]
    ok = (finals[:1] == [allowed] if isinstance(allowed, int)
          else (finals[:1] or [None])[0] in allowed)
    if not ok:
        raise TestFailure("%s: expected %s, got %s" % (what, allowed, codes or "silence"))
    return finals


def options_ok(transport, port):
    c = RawClient(transport, port)
    try:
        expect_status(c, raw_request("OPTIONS", "probe", transport, port, c.local_port,
                                     "raw-options-%s" % transport),
                      200, "OPTIONS over %s" % transport)
    finally:
        c.close()


def main(run, argv=None):
    """Run `run()` (which raises TestFailure or Skip), map the outcome to an exit status."""
    try:
        run()
    except Skip as e:
        log("SKIP: %s" % e)
        return SKIP
    except TestFailure as e:
        log("FAIL: %s" % e)
        return 1
    except Exception:  # a bug in the test itself, or an OS error: a failure, with its trace
        traceback.print_exc()
        return 1
    log("PASS")
    return 0
