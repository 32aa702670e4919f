"""Shared plumbing of the tests/sdk checks: start/stop servers on loopback
ports with bounded waits, small HTTP helpers, PASS/FAIL bookkeeping."""

import atexit
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
_children = []


def _cleanup():
    for p in list(_children):
        stop(p)


atexit.register(_cleanup)


def _on_signal(signum, _frame):
    _cleanup()
    sys.exit(128 + signum)


for _s in (signal.SIGTERM, signal.SIGHUP):
    signal.signal(_s, _on_signal)


class Started:
    def __init__(self, proc, lines, stderr_lines):
        self.proc = proc
        self.lines = lines  # stdout lines so far (a reader thread appends)
        self.stderr_lines = stderr_lines


def start(cmd, env=None, ready=r"http://127\.0\.0\.1:\d+", timeout=20.0, want_lines=0, name=None):
    """Starts `cmd`, waits (at most `timeout` s) for a stdout line matching
    `ready`, then for `want_lines` more lines. Returns (Started, match)."""
    proc = subprocess.Popen(
        cmd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        errors="replace",
        start_new_session=True,  # its own process group: stop() ends it and its children
    )
    _children.append(proc)
    lines, err_lines = [], []
    cond = threading.Condition()
    tag = name or os.path.basename(cmd[0])

    def pump(stream, sink, echo):
        for line in stream:
            with cond:
                sink.append(line.rstrip("\n"))
                cond.notify_all()
            if echo:
                sys.stderr.write(line)
                sys.stderr.flush()
        with cond:
            cond.notify_all()

    threading.Thread(target=pump, args=(proc.stdout, lines, False), daemon=True).start()
    threading.Thread(target=pump, args=(proc.stderr, err_lines, os.environ.get("SDKCHECK_ECHO") == "1"),
                     daemon=True).start()
    deadline = time.monotonic() + timeout
    rx = re.compile(ready)
    with cond:
        while True:
            hit = next((i for i, l in enumerate(lines) if rx.search(l)), None)
            if hit is not None and len(lines) >= hit + 1 + want_lines:
                return Started(proc, lines, err_lines), rx.search(lines[hit])
            left = deadline - time.monotonic()
            if left <= 0 or proc.poll() is not None:
                out = "\n".join(lines[-20:] + err_lines[-20:])
                stop(proc)
                raise RuntimeError("%s did not become ready in %.0fs (exit %s):\n%s"
                                   % (tag, timeout, proc.returncode, out))
            cond.wait(min(left, 0.2))


def stop(proc, grace=3.0):
    if proc in _children:
        _children.remove(proc)
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(grace)


def http_json(url, method="GET", timeout=10):
    req = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def start_gateway(ak, sk, fixture_path=None, upstream=None, extra=(), timeout=20.0):
    """The SDK gateway on a free loopback port: (Started, base_url)."""
    env = dict(os.environ, GATEWAY_SK=sk, PYTHONUNBUFFERED="1")
    cmd = [sys.executable, os.path.join(HERE, "sdk_gateway.py"), "--ak", ak]
    cmd += ["--serve-fixture", fixture_path] if fixture_path else ["--upstream", upstream]
    cmd += list(extra)
    started, m = start(cmd, env=env, timeout=timeout, name="sdk_gateway")
    return started, m.group(0)


def sim_defaults(nbwatch, timeout=20):
    """AK, SK and project id defaults as `nbwatch sim --help` prints them."""
    out = subprocess.run([nbwatch, "sim", "--help"], capture_output=True, text=True, timeout=timeout)
    text = out.stdout + out.stderr
    found = {}
    lines = text.splitlines()
    for flag in ("ak", "sk", "project-id"):
        for i, line in enumerate(lines):
            if re.match(r"\s*(-\w, )?--%s(?![\w-])" % re.escape(flag), line):
                block = [line]
                for nxt in lines[i + 1:]:
                    if re.match(r"\s*-", nxt):
                        break
                    block.append(nxt)
                m = re.search(r"\[default: ([^\]\s]+)\]", " ".join(block))
                if m:
                    found[flag] = m.group(1)
                break
    return found


def start_sim(nbwatch, args=(), timeout=30.0):
    """`nbwatch sim` on a free loopback port. Returns (Started, info) with
    info = {endpoint, project_id, ak, sk} read from its banner (falling back to
    the defaults in `sim --help`)."""
    cmd = [nbwatch, "sim", "--listen", "127.0.0.1:0"] + list(args)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HUAWEICLOUD_", "NBWATCH_"))}
    started, m = start(cmd, env=env, timeout=timeout, want_lines=6, name="nbwatch sim")
    time.sleep(0.2)  # let the rest of the banner arrive (bounded; parsing below tolerates less)
    banner = "\n".join(started.lines)
    info = {"endpoint": m.group(0)}
    for key, label in (("project_id", "project id"), ("ak", "AK"), ("sk", "SK")):
        mm = re.search(r"^\s*%s\s+(\S+)\s*$" % re.escape(label), banner, re.M)
        if mm:
            info[key] = mm.group(1)
    if not all(k in info for k in ("project_id", "ak", "sk")):
        d = sim_defaults(nbwatch)
        info.setdefault("ak", d.get("ak"))
        info.setdefault("sk", d.get("sk"))
        info.setdefault("project_id", d.get("project-id"))
    missing = [k for k, v in info.items() if not v]
    if missing:
        stop(started.proc)
        raise RuntimeError("could not learn the simulator's %s from its banner or --help" % ", ".join(missing))
    return started, info


def non_ascii_probe(names):
    """The 3-character piece starting at a non-ASCII character that the most
    names contain (a realistic fuzzy --name that needs percent-encoding)."""
    pieces = {n[k:k + 3] for n in names for k, ch in enumerate(n) if ord(ch) > 127 and len(n) >= k + 3}
    if not pieces:
        return None
    return max(sorted(pieces), key=lambda p: sum(p.lower() in n.lower() for n in names))


class Checks:
    """PASS/FAIL lines and a summary; exit status 1 if anything failed."""

    def __init__(self, title, secrets=()):
        self.title = title
        self.secrets = list(secrets)
        self.passed = 0
        self.failed = []
        self.notes = []

    def hide(self, *secrets):
        """Secrets to redact from failure details (they are test keys, but
        a CI log should show the habit)."""
        self.secrets += [x for x in secrets if x]

    def check(self, ok, what, detail=""):
        for x in self.secrets:
            detail = detail.replace(x, "<redacted>")
        if ok:
            self.passed += 1
            print("  PASS  %s" % what, flush=True)
        else:
            self.failed.append(what)
            print("  FAIL  %s%s" % (what, ("\n        " + detail.replace("\n", "\n        ")) if detail else ""),
                  flush=True)
        return ok

    def note(self, what):
        self.notes.append(what)
        print("  NOTE  %s" % what, flush=True)

    def section(self, name):
        print("\n== %s" % name, flush=True)

    def finish(self):
        print("\n%s: %d passed, %d failed%s" % (
            self.title, self.passed, len(self.failed),
            ", %d note(s)" % len(self.notes) if self.notes else ""), flush=True)
        for f in self.failed:
            print("  failed: %s" % f)
        return 1 if self.failed else 0
