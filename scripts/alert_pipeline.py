#!/usr/bin/env python3
"""The alert pipeline of deploy/, run live (called by scripts/alert_pipeline.sh).

nbwatch sim -> nbwatch serve -> Prometheus (the SHIPPED rules, unchanged) ->
Alertmanager (the shipped routes, shorter waits, webhooks to a local receiver)
-> a webhook receiver in this process. Asserts that the receiver gets an alert
for a failed, a frozen, a stuck and an auto-stop-soon instance, with the
instance's id, name and owner as the simulator has them, routed to the
`notebooks` receiver, and no secret anywhere in what it got; that nothing pages
`oncall`; that Prometheus, Alertmanager and nbwatch log no warning; that every
PromQL expression of the Grafana dashboard runs on these live series and returns
data with the labels its legend and tables show; and that a few seconds of API
failure neither resolve the alerts nor fail /healthz. Then checks the rest of
deploy/ offline: promtool check config, systemd-analyze verify of the unit, the
compose file.

Everything listens on 127.0.0.1 on free ports; every process is stopped on exit.
Standard library only (PyYAML is used for the compose file when installed).

Usage: alert_pipeline.py [--shipped-timing] NBWATCH_BINARY
  (exit 0 all good, 1 a check failed)
--shipped-timing keeps the shipped intervals (scrape and evaluation 30 s,
Alertmanager group_wait 30s, group_interval 5m; nbwatch serve's default polling)
to measure what a team gets from failure to notification; it takes 2-4 minutes.
"""

import atexit
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
DEPLOY = os.path.join(ROOT, "deploy")
RULES = os.path.join(DEPLOY, "prometheus", "rules", "nbwatch.yml")
AM_SHIPPED = os.path.join(DEPLOY, "alertmanager", "alertmanager.yml")
DASHBOARD = os.path.join(DEPLOY, "grafana", "dashboards", "nbwatch.json")

# The simulator's demo credentials (test values; see `nbwatch sim`).
AK = "NBWATCHSIMDEMOAK0001"
SK = "nbwatchSimulatorDemoSecretKey00000000000"
PROJECT = "5e1f0c0a2b3d4e5f60718293a4b5c6d7"
SIM_TOKEN = "nbwatch-sim-demo-token"

SHIPPED_TIMING = "--shipped-timing" in sys.argv[1:]
# Short enough that the whole run stays near `for: 1m` of the shipped rules.
SCRAPE = "30s" if SHIPPED_TIMING else "1s"
STUCK_AFTER = "5"
# The alerts that must reach the receiver.
WANTED = [
    "ModelArtsNotebookFailed",
    "ModelArtsNotebookFrozen",
    "ModelArtsNotebookStuck",
    "ModelArtsNotebookAutoStopSoon",
]
DEADLINE_S = 420 if SHIPPED_TIMING else 110

T0 = time.monotonic()
tmp = tempfile.mkdtemp(prefix="nbwatch-pipeline-")
procs = []


def log(msg):
    print(f"[{time.monotonic() - T0:5.1f}s] {msg}", flush=True)


class Failed(Exception):
    pass


def cleanup():
    for name, p in reversed(procs):
        if p.poll() is None:
            p.terminate()
    for name, p in reversed(procs):
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    if os.environ.get("NBWATCH_PIPELINE_KEEP"):
        print(f"kept {tmp}", file=sys.stderr)
    else:
        shutil.rmtree(tmp, ignore_errors=True)


atexit.register(cleanup)
# SIGTERM/SIGINT: leave through sys.exit so atexit stops the processes.
signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))


def start(name, argv, env=None):
    out = open(os.path.join(tmp, name + ".out"), "w")
    p = subprocess.Popen(
        argv,
        stdout=out,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=env,
        cwd=tmp,
    )
    procs.append((name, p))
    return p


def output(name):
    try:
        with open(os.path.join(tmp, name + ".out"), errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def alive_or_fail(name):
    for n, p in procs:
        if n == name and p.poll() is not None:
            raise Failed(f"{name} exited with {p.returncode}:\n{output(name)[-3000:]}")


def wait_for(what, cond, timeout, names=()):
    """Polls cond() every 0.1 s until it returns something truthy (returned)."""
    end = time.monotonic() + timeout
    while True:
        for n in names:
            alive_or_fail(n)
        v = cond()
        if v:
            return v
        if time.monotonic() > end:
            detail = "".join(f"\n--- {n}:\n{output(n)[-3000:]}" for n in names)
            raise Failed(f"timed out after {timeout} s waiting for {what}{detail}")
        time.sleep(0.1)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method, url, headers=None, timeout=5):
    """(status, body text); (None, error text) when there is no answer."""
    req = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")
    except (urllib.error.URLError, OSError) as e:
        return None, str(e)


# ---------------------------------------------------------------- receiver
received = []  # (wall time s, path, parsed payload, raw text)
received_lock = threading.Lock()


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n).decode("utf-8", "replace")
        try:
            payload = json.loads(raw)
        except ValueError:
            payload = None
        with received_lock:
            received.append((time.time(), self.path, payload, raw))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def firing(path=None):
    """Every firing alert received (optionally at one receiver path), first arrival each."""
    seen = {}
    with received_lock:
        items = list(received)
    for at, p, payload, _ in items:
        if path is not None and p != path:
            continue
        for a in (payload or {}).get("alerts", []):
            if a.get("status") != "firing":
                continue
            labels = a.get("labels", {})
            key = (labels.get("alertname"), labels.get("id"), labels.get("status"))
            if key not in seen:
                seen[key] = (at, p, labels)
    return seen


# ---------------------------------------------------------------- the run
def main(binary):
    binary = os.path.abspath(binary)
    if not os.access(binary, os.X_OK):
        raise Failed(f"{binary} is not an executable: build it first (cargo build)")
    for tool in ("prometheus", "promtool", "amtool"):
        if not shutil.which(tool):
            raise Failed(f"{tool} is missing")
    am_bin = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    if not am_bin:
        raise Failed("alertmanager is missing")

    env = dict(os.environ, HOME=tmp)
    env.pop("NBWATCH_LISTEN", None)

    receiver = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    recv_port = receiver.server_address[1]

    # 1. The simulator: the demo script has a CREATE_FAILED and a FROZEN instance,
    # a creation under way (stuck after 5 s) and leases ending in 45 s and 100 s.
    start("sim", [binary, "sim", "--listen", "127.0.0.1:0", "--instances", "40", "--seed", "7"], env)
    sim = wait_for(
        "the simulator's banner",
        lambda: re.search(r"simulator on (http://127\.0\.0\.1:\d+)", output("sim")),
        30,
        ["sim"],
    ).group(1)
    log(f"nbwatch sim on {sim}")

    # 2. The exporter.
    serve_env = dict(env, HUAWEICLOUD_SDK_AK=AK, HUAWEICLOUD_SDK_SK=SK)
    start(
        "serve",
        [
            binary, "serve", "--endpoint", sim, "--project-id", PROJECT,
            "--listen", "127.0.0.1:0", "--stuck-after", STUCK_AFTER,
            *([] if SHIPPED_TIMING else ["--interval", "1", "--fast-interval", "1"]),
            "--log-file", os.path.join(tmp, "serve.log"),
        ],
        serve_env,
    )
    serve = wait_for(
        "nbwatch serve to listen",
        lambda: re.search(r"listening on http://(127\.0\.0\.1:\d+)", output("serve")),
        30,
        ["serve"],
    ).group(1)
    log(f"nbwatch serve on {serve}")

    # 3. Alertmanager: the shipped file with shorter waits and the webhook URLs
    # pointing here. Text substitution, so routes, matchers, grouping and
    # inhibitions stay exactly the shipped ones.
    with open(AM_SHIPPED) as f:
        am_text = f.read()
    edits = [(r"http://127\.0\.0\.1:5001/", f"http://127.0.0.1:{recv_port}/", 2)]
    if not SHIPPED_TIMING:
        edits += [
            (r"(?m)^  group_wait: 30s$", "  group_wait: 1s", 1),
            (r"(?m)^  group_interval: 5m$", "  group_interval: 1s", 1),
        ]
    for pattern, repl, count in edits:
        am_text, n = re.subn(pattern, repl, am_text)
        if n != count:
            raise Failed(
                f"{AM_SHIPPED} changed: expected {count} match(es) of {pattern!r}, found {n}; "
                "update scripts/alert_pipeline.py"
            )
    am_conf = os.path.join(tmp, "alertmanager.yml")
    with open(am_conf, "w") as f:
        f.write(am_text)
    run_check(["amtool", "check-config", am_conf], "amtool check-config (derived config)")
    am_port = free_port()
    start(
        "alertmanager",
        [
            am_bin, f"--config.file={am_conf}", f"--storage.path={tmp}/am",
            f"--web.listen-address=127.0.0.1:{am_port}", "--cluster.listen-address=",
        ],
    )

    # 4. Prometheus: the shipped rule file, unchanged, short intervals.
    prom_port = free_port()
    prom_conf = os.path.join(tmp, "prometheus.yml")
    with open(prom_conf, "w") as f:
        f.write(
            f"""global:
  scrape_interval: {SCRAPE}
  evaluation_interval: {SCRAPE}
rule_files:
  - {json.dumps(RULES)}
alerting:
  alertmanagers:
    - static_configs:
        - targets: ["127.0.0.1:{am_port}"]
scrape_configs:
  - job_name: nbwatch
    static_configs:
      - targets: ["{serve}"]
"""
        )
    start(
        "prometheus",
        [
            "prometheus", f"--config.file={prom_conf}", f"--storage.tsdb.path={tmp}/prom",
            f"--web.listen-address=127.0.0.1:{prom_port}",
        ],
    )
    prom = f"http://127.0.0.1:{prom_port}"
    am = f"http://127.0.0.1:{am_port}"
    names = ["sim", "serve", "alertmanager", "prometheus"]
    wait_for("Alertmanager ready", lambda: http("GET", f"{am}/-/ready")[0] == 200, 30, names)
    wait_for("Prometheus ready", lambda: http("GET", f"{prom}/-/ready")[0] == 200, 30, names)
    rules = json.loads(http("GET", f"{prom}/api/v1/rules")[1])
    loaded = {r["name"] for g in rules["data"]["groups"] for r in g["rules"]}
    missing = set(WANTED) - loaded
    if missing:
        raise Failed(f"Prometheus did not load {sorted(missing)} from {RULES}")
    log(f"Prometheus on {prom} with {len(loaded)} rules, Alertmanager on {am}, receiver on :{recv_port}")
    # Every alert of the rules routes where the shipped config means it to: the
    # exporter's own to on-call, the instances' to their owners.
    for alert in sorted(loaded):
        want = "oncall" if alert.startswith("Nbwatch") else "notebooks"
        r = subprocess.run(
            ["amtool", "config", "routes", "test", f"--config.file={AM_SHIPPED}",
             f"--verify.receivers={want}", f"alertname={alert}", "user_name=someone",
             "instance=nbwatch:7464", "job=nbwatch"],
            capture_output=True, text=True,
        )
        if r.returncode != 0:
            raise Failed(f"{alert} is not routed to {want} by {AM_SHIPPED}: {r.stdout.strip()}")
    log(f"amtool: the {len(loaded)} alerts route to oncall (Nbwatch*) or notebooks (ModelArtsNotebook*)")

    def query(expr):
        st, body = http("GET", f"{prom}/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
        try:
            j = json.loads(body)
        except ValueError:
            j = {"status": "error", "error": body}
        if st != 200 or j.get("status") != "success":
            raise Failed(f"Prometheus refused {expr!r}: {j.get('error', body)}")
        return j["data"]["result"]

    wait_for(
        "Prometheus to scrape nbwatch",
        lambda: any(s["value"][1] == "1" for s in query('up{job="nbwatch"}'))
        and query("modelarts_notebook_info"),
        90 if SHIPPED_TIMING else 30,
        names,
    )

    # The simulator's view, for labels and secrets: every instance's id, name,
    # owner and notebook token.
    def listing():
        out = []
        while True:
            st, body = http(
                "GET",
                f"{sim}/v1/{PROJECT}/notebooks/all?limit=50&offset={len(out)}",
                {"X-Auth-Token": SIM_TOKEN},
            )
            if st != 200:
                raise Failed(f"simulator listing answered {st}: {body[:300]}")
            page = json.loads(body)
            out += page["data"]
            if not page["data"] or len(out) >= page["total"]:
                return out

    truth = {nb["id"]: nb for nb in listing()}
    first_status = {i: nb["status"] for i, nb in truth.items()}

    # 5. A fresh failure: a start accepted, then START_FAILED (resources gone).
    # Of an owner with no failed instance yet: its alert is the first of its
    # Alertmanager group (alertname, user_name), so the time it takes is not
    # group_interval's.
    failing = {"CREATE_FAILED", "START_FAILED", "DELETE_FAILED", "ERROR"}
    owner = lambda nb: nb.get("user", {}).get("name")  # noqa: E731
    failed_owners = {owner(nb) for nb in truth.values() if nb["status"] in failing}
    victim = next(
        (nb for nb in sorted(truth.values(), key=lambda nb: nb["id"])
         if nb["status"] == "STOPPED" and owner(nb) not in failed_owners),
        None,
    )
    if victim is None:
        raise Failed("the simulator population has no STOPPED instance of an owner without failures")
    st, body = http("POST", f"{sim}/_sim/resources?available=late")
    if st != 200:
        raise Failed(f"/_sim/resources?available=late answered {st}: {body}")
    r = subprocess.run(
        [binary, "start", victim["id"], "--yes", "--endpoint", sim, "--project-id", PROJECT],
        env=serve_env, capture_output=True, text=True, timeout=30, cwd=tmp,
    )
    if r.returncode != 0:
        raise Failed(f"nbwatch start {victim['id']} failed ({r.returncode}): {r.stdout}{r.stderr}")
    log(f"started {victim['name']} ({victim['id']}) with starts set to fail")

    def failed_at_ms():
        now = int(time.time() * 1000)
        st, body = http("GET", f"{sim}/_sim/journal?from={now - 120000}&to={now}")
        if st != 200:
            return None
        for c in json.loads(body).get("changes", []):
            if c.get("id") == victim["id"] and c.get("to") == "START_FAILED":
                return c
        return None

    change = wait_for(f"{victim['name']} to turn START_FAILED", failed_at_ms, 30, names)
    fail_ms = change.get("at_ms")
    truth.update({nb["id"]: nb for nb in listing()})

    # 6. Wait for the four alerts at the receiver, running the dashboard's
    # queries meanwhile until each has returned data once.
    exprs = dashboard_exprs()
    pending = dict(exprs)
    log(f"waiting for {', '.join(WANTED)} (the shipped rules hold failed/frozen for 1m)")

    def got(alertname, cond=lambda labels: True):
        return [
            (at, labels)
            for (name, _, _), (at, path, labels) in firing("/notebooks").items()
            if name == alertname and cond(labels)
        ]

    # The simulator moves a START_FAILED instance on after 1 to 10 minutes: if the
    # victim leaves before `for: 1m` is over, no alert is due for it (the other
    # failed instances still must alert).
    left = {}

    def victim_left():
        if not left:
            now = int(time.time() * 1000)
            st, body = http("GET", f"{sim}/_sim/journal?from={fail_ms}&to={now}")
            if st == 200:
                for c in json.loads(body).get("changes", []):
                    if c.get("id") == victim["id"] and c.get("from") == "START_FAILED":
                        left["at_ms"] = c.get("at_ms")
        return bool(left)

    def done():
        for title, (expr, labels) in list(pending.items()):
            result = query(expr)
            if result:
                lacking = labels - set().union(*(r["metric"] for r in result))
                if lacking:
                    raise Failed(f"dashboard panel {title}: its series lack {sorted(lacking)}, "
                                 f"which its legend or table shows: {expr}")
                del pending[title]
        return (
            (got("ModelArtsNotebookFailed", lambda l: l.get("id") == victim["id"])
             or (victim_left() and got("ModelArtsNotebookFailed")))
            and all(got(a) for a in WANTED[1:])
            and not pending
        )

    try:
        wait_for("the alerts", done, DEADLINE_S, names)
    except Failed as e:
        if "timed out" not in str(e):
            raise
        have = sorted({k[0] for k in firing()})
        raise Failed(
            f"{e}\nalerts received: {have or 'none'}\n"
            f"dashboard queries without data: {sorted(pending) or 'none'}\n"
            f"Prometheus alerts: {http('GET', f'{prom}/api/v1/alerts')[1][:3000]}"
        ) from None

    # 7. What the receiver got: the instance's labels, right; no secrets.
    last = listing()
    truth.update({nb["id"]: nb for nb in last})
    # Every instance failed or frozen from the first listing to the last one was
    # alerted on, not just some.
    for alertname, statuses in (
        ("ModelArtsNotebookFailed", {"CREATE_FAILED", "START_FAILED", "DELETE_FAILED", "ERROR"}),
        ("ModelArtsNotebookFrozen", {"FROZEN"}),
    ):
        steady = {nb["id"] for nb in last
                  if nb["status"] in statuses and first_status.get(nb["id"]) == nb["status"]}
        alerted = {labels.get("id") for _, labels in got(alertname)}
        if steady - alerted:
            missing = [truth[i]["name"] for i in sorted(steady - alerted)]
            raise Failed(f"no {alertname} for {missing}, {sorted(statuses)} all along")
    for alertname in WANTED:
        for at, labels in got(alertname):
            nb = truth.get(labels.get("id"))
            if nb is None:
                raise Failed(f"{alertname} for an id the simulator never had: {labels}")
            want = {"name": nb["name"], "user_name": nb.get("user", {}).get("name")}
            for k, v in want.items():
                if labels.get(k) != v:
                    raise Failed(f"{alertname} label {k}={labels.get(k)!r}, the simulator has {v!r}: {labels}")
        at, labels = got(alertname)[0]
        log(f"{alertname}: {len(got(alertname))} instance(s), e.g. {labels.get('name')} "
            f"({labels.get('id')}, {labels.get('status', '')})")
    victim_alerts = got("ModelArtsNotebookFailed", lambda l: l.get("id") == victim["id"])
    failed = victim_alerts[0] if victim_alerts else None
    if failed and failed[1].get("status") != "START_FAILED":
        raise Failed(f"the failure alert says status {failed[1].get('status')!r}: {failed[1]}")

    # No secret and no instance URL in anything received.
    secrets = {SK: "the SK", SIM_TOKEN: "the IAM token", sim: "the API endpoint"}
    for nb in truth.values():
        if nb.get("token"):
            secrets[nb["token"]] = f"the notebook token of {nb['id']}"
        if nb.get("url"):
            secrets[nb["url"]] = f"the notebook URL of {nb['id']}"
    # Annotations that rendered: no template error, no missing label.
    with received_lock:
        payloads = [payload for _, _, payload, _ in received]
    for payload in payloads:
        for a in (payload or {}).get("alerts", []):
            for k, v in a.get("annotations", {}).items():
                if "error expanding" in v or "error executing" in v or "<no value>" in v or not v.strip():
                    raise Failed(f"annotation {k} of {a['labels'].get('alertname')} did not render: {v!r}")
    with received_lock:
        raws = [(p, raw) for _, p, _, raw in received]
    for path, raw in raws:
        for s, what in secrets.items():
            if s in raw:
                raise Failed(f"{what} reached the receiver ({path})")
    # Nothing went wrong on the way: no rule evaluation or template failing, no
    # notification refused, no exporter trouble.
    for name in ("prometheus", "alertmanager"):
        bad = [l for l in output(name).splitlines() if re.search(r"level=(warn|error)", l)]
        if bad:
            raise Failed(f"{name} logged problems:\n" + "\n".join(bad[:20]))
    try:
        with open(os.path.join(tmp, "serve.log"), errors="replace") as f:
            bad = [l for l in f if re.match(r"\S+\s+(WARN|ERROR)\s", l)]
    except OSError:
        bad = []
    if bad:
        raise Failed("nbwatch serve logged problems:\n" + "".join(bad[:20]))
    oncall = firing("/oncall")
    if oncall:
        raise Failed(f"oncall was paged while the exporter was healthy: {sorted(oncall)}")

    # 8. The API fails: the last snapshot keeps being served, so the alerts keep
    # firing (they do not resolve by themselves) while the health metrics say so.
    frozen_before = {labels["id"] for _, labels in got("ModelArtsNotebookFrozen")}
    st, body = http("POST", f"{sim}/_sim/faults?spec=500")
    if st != 200:
        raise Failed(f"/_sim/faults?spec=500 answered {st}: {body}")
    log("the simulated API now answers 500 to every request")
    outage = "count_over_time((nbwatch_last_poll_success == 0)[4s:1s]) >= 3"
    slow = 150 if SHIPPED_TIMING else 30
    wait_for("Prometheus to see polls failing for 3 evaluations", lambda: query(outage), slow, names)
    still = {s["metric"].get("id") for s in query(
        'ALERTS{alertname="ModelArtsNotebookFrozen", alertstate="firing"}')}
    if frozen_before - still:
        raise Failed(f"frozen alerts resolved while the API failed: {sorted(frozen_before - still)}")
    st, body = http("GET", f"http://{serve}/healthz")
    if st != 200 or "last poll failed" not in body:
        raise Failed(f"/healthz during a short outage answered {st}: {body}")
    http("DELETE", f"{sim}/_sim/faults")
    wait_for("polls to succeed again", lambda: query("nbwatch_last_poll_success == 1"), slow, names)
    with received_lock:
        payloads = [payload for _, _, payload, _ in received]
    resolved = [
        a["labels"].get("id")
        for payload in payloads
        for a in (payload or {}).get("alerts", [])
        if a.get("status") == "resolved" and a["labels"].get("id") in frozen_before
    ]
    if resolved:
        raise Failed(f"frozen alerts were notified resolved during the outage: {resolved}")
    log(f"through the outage the {len(frozen_before)} frozen alert(s) kept firing and "
        "/healthz stayed 200 (data younger than --max-age)")

    if failed is None:
        log(f"{victim['name']} left START_FAILED {(left['at_ms'] - fail_ms) / 1000:.0f} s after "
            "failing, before the rule's for: 1m ended: no failure -> alert time measured")
    elif fail_ms is not None:
        latency = failed[0] - fail_ms / 1000
        log(f"failure -> alert at the receiver: {latency:.1f} s "
            f"(for: 1m, scrape and evaluation every {SCRAPE}, "
            f"group_wait {'30s' if SHIPPED_TIMING else '1s'})")
    log(f"all {len(exprs)} dashboard queries returned data; {len(raws)} notifications, no secret in them")

    # 9. The rest of deploy/, offline.
    offline_checks(binary)


def dashboard_exprs():
    """Every PromQL expression of the Grafana dashboard, variables filled in."""
    try:
        with open(DASHBOARD) as f:
            d = json.load(f)
    except (OSError, ValueError) as e:
        raise Failed(f"{DASHBOARD} is not valid JSON: {e}") from None

    def walk(panels):
        for p in panels:
            yield p
            yield from walk(p.get("panels", []))

    # title -> (expr, labels its legend or table columns show, which the series must have)
    exprs = {}
    for p in walk(d.get("panels", [])):
        columns = set()
        for tr in p.get("transformations", []):
            columns |= set(tr.get("options", {}).get("indexByName", {}))
        columns -= {"Time", "Value"}
        for t in p.get("targets", []):
            if t.get("expr"):
                e = t["expr"]
                for var, value in (("${job}", "nbwatch"), ("$job", "nbwatch"),
                                   ("$__rate_interval", "1m"), ("$__interval", "15s")):
                    e = e.replace(var, value)
                if "$" in e:
                    raise Failed(f"dashboard panel {p.get('title')!r}: unknown variable in {e!r}")
                labels = set(re.findall(r"\{\{\s*(\w+)\s*\}\}", t.get("legendFormat") or ""))
                exprs[f"{p.get('title')} #{t.get('refId', len(exprs))}"] = (e, labels | columns)
    for v in d.get("templating", {}).get("list", []):
        q = v.get("query")
        q = q.get("query") if isinstance(q, dict) else q
        m = re.fullmatch(r"label_values\((.+),\s*(\w+)\)", q or "")
        if m:
            exprs[f"variable {v.get('name')}"] = (f"count by ({m.group(2)}) ({m.group(1)})", {m.group(2)})
    if not exprs:
        raise Failed(f"no PromQL expression found in {DASHBOARD}")
    return exprs


def run_check(argv, what):
    r = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT)
    if r.returncode != 0:
        raise Failed(f"{what} failed:\n{r.stdout}{r.stderr}")
    log(f"{what}: ok")


def offline_checks(binary):
    run_check(["promtool", "check", "config", os.path.join(DEPLOY, "prometheus", "prometheus.yml")],
              "promtool check config deploy/prometheus/prometheus.yml")

    # systemd unit: the binary and the environment file where this run has them.
    if shutil.which("systemd-analyze"):
        unit_dir = os.path.join(tmp, "systemd")
        os.makedirs(unit_dir)
        env_file = os.path.join(unit_dir, "serve.env")
        shutil.copy(os.path.join(DEPLOY, "systemd", "serve.env.example"), env_file)
        with open(os.path.join(DEPLOY, "systemd", "nbwatch-serve.service")) as f:
            unit = f.read()
        for old, new in (("/usr/local/bin/nbwatch", binary), ("/etc/nbwatch/serve.env", env_file)):
            if old not in unit:
                raise Failed(f"nbwatch-serve.service no longer mentions {old}: update this script")
            unit = unit.replace(old, new)
        path = os.path.join(unit_dir, "nbwatch-serve.service")
        with open(path, "w") as f:
            f.write(unit)
        r = subprocess.run(["systemd-analyze", "verify", path], capture_output=True, text=True)
        # verify prints problems with the unit (and sometimes with the host's own
        # units): fail on any line about ours.
        ours = [l for l in (r.stdout + r.stderr).splitlines() if "nbwatch-serve" in l]
        if r.returncode != 0 or ours:
            raise Failed(f"systemd-analyze verify nbwatch-serve.service:\n{r.stdout}{r.stderr}")
        log("systemd-analyze verify deploy/systemd/nbwatch-serve.service: ok")
    else:
        log("(systemd-analyze not installed: the systemd unit is not verified)")

    compose = os.path.join(DEPLOY, "compose.yaml")
    if shutil.which("docker") and subprocess.run(
        ["docker", "compose", "version"], capture_output=True
    ).returncode == 0:
        run_check(["docker", "compose", "-f", compose, "config", "--quiet"], "docker compose config")
    try:
        import yaml  # noqa: PLC0415 (optional)
    except ImportError:
        log("(PyYAML not installed: compose.yaml is not parsed)")
        return
    with open(compose) as f:
        c = yaml.safe_load(f)
    services = c.get("services", {})
    want = {"sim", "nbwatch", "prometheus", "alertmanager", "grafana"}
    if not want <= set(services):
        raise Failed(f"compose.yaml lacks services {sorted(want - set(services))}")
    for name, s in services.items():
        for v in s.get("volumes", []):
            src = v.split(":")[0]
            if src.startswith(".") and not os.path.exists(os.path.join(DEPLOY, src)):
                raise Failed(f"compose.yaml service {name} mounts {src}, which does not exist")
        build = s.get("build")
        if build and not os.path.exists(os.path.join(DEPLOY, build["context"], build["dockerfile"])):
            raise Failed(f"compose.yaml service {name} builds from a missing Dockerfile")
    # nbwatch's own command lines must parse: run each with --help appended.
    for name in ("sim", "nbwatch"):
        cmd = services[name].get("command", [])
        r = subprocess.run([binary, *cmd, "--help"], capture_output=True, text=True, timeout=10)
        if r.returncode != 0:
            raise Failed(f"compose.yaml service {name}: `nbwatch {' '.join(cmd)}` is refused:\n{r.stderr}")
    for p in ("provisioning/dashboards/nbwatch.yml", "provisioning/datasources/prometheus.yml"):
        with open(os.path.join(DEPLOY, "grafana", p)) as f:
            yaml.safe_load(f)
    log("compose.yaml and Grafana provisioning parse; their nbwatch command lines are accepted")


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--shipped-timing"]
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        sys.exit(1)
    try:
        main(args[0])
    except Failed as e:
        print(f"FAILED: {e}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(1)
    log("the alert pipeline works")
