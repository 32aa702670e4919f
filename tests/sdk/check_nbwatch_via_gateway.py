#!/usr/bin/env python3
"""Acceptance check (a): nbwatch's requests pass a gateway that verifies each
signature with the official SDK's own signer, `list --output json` returns
every instance across pages (names needing percent-encoding, a comma-separated
sort key), and a wrong SK fails once, on one line, without leaking a secret.

  check_nbwatch_via_gateway.py --nbwatch PATH [--mode fixture|sim]

fixture: the gateway serves generated pages itself (no simulator needed).
sim:     the gateway relays to `nbwatch sim`, with the simulator's credentials;
         the expected listing is fetched from the simulator with the official
         SDK client. Then `nbwatch extend|stop|start|delete` go through the
         gateway too: the SDK's signer verifies a PATCH with a JSON body, POSTs
         (with and without a query) and a DELETE.
Exit status 0 only when every check passed.
"""

import argparse
import json
import math
import os
import re
import secrets
import subprocess
import sys
import tempfile
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import fixture  # noqa: E402
import harness  # noqa: E402
from sdk_gateway import decode_query  # noqa: E402

RUN_TIMEOUT = 60
# What the official SDK's signer signs for ListAllNotebooks with a project id
# (sign_vectors.json); its full client adds its User-Agent, which is optional.
SDK_SIGNED = "content-type;host;x-project-id;x-sdk-date"

# (label, nbwatch filter args, the query they mean, page size nbwatch should use)
# Instances each page repeats from the one before (nbwatch's api::sweep::DEFAULT_OVERLAP).
OVERLAP = 2


def overlapped_offsets(n, page):
    """Offsets of one sweep over n instances: 0, page - OVERLAP, ... until the end is read."""
    offsets = [0]
    while offsets[-1] + page < n:
        offsets.append(offsets[-1] + page - OVERLAP)
    return offsets


CASES = [
    ("no filter", [], [], 50),
    ("--name 'my nb*中文' (spans two pages of 50)", ["--name", "my nb*中文"], [("name", "my nb*中文")], 50),
    ("--name 'a b' --page-size 10", ["--name", "a b", "--page-size", "10"], [("name", "a b")], 10),
    ("--sort-key name,create_at", ["--sort-key", "name,create_at"], [("sort_key", "name,create_at")], 50),
    (
        "--name 'my nb*中文' --sort-key name,create_at --sort-dir ASC --page-size 20",
        ["--name", "my nb*中文", "--sort-key", "name,create_at", "--sort-dir", "ASC", "--page-size", "20"],
        [("name", "my nb*中文"), ("sort_key", "name,create_at"), ("sort_dir", "ASC")],
        20,
    ),
]


def nbwatch_env(home, ak, sk):
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": home,
        "XDG_CONFIG_HOME": os.path.join(home, ".config"),
        "XDG_DATA_HOME": os.path.join(home, ".local", "share"),
        "XDG_STATE_HOME": os.path.join(home, ".local", "state"),
        "XDG_CACHE_HOME": os.path.join(home, ".cache"),
        "LANG": "C.UTF-8",
        "TERM": "dumb",
        "HUAWEICLOUD_SDK_AK": ak,
        "HUAWEICLOUD_SDK_SK": sk,
    }
    return env


def run_nbwatch(nbwatch, base, project, args, env, log_file):
    cmd = [nbwatch, "--endpoint", base, "--project-id", project, "list", "--output", "json"] + args
    if log_file:
        cmd += ["--log-file", log_file]
    try:
        p = subprocess.run(cmd, env=env, capture_output=True, timeout=RUN_TIMEOUT, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return None, "", "timed out after %ds" % RUN_TIMEOUT, cmd
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace"), cmd


def sdk_reference(info, pairs):
    """Every instance the simulator lists for `pairs`, paged by the official SDK."""
    from huaweicloudsdkcore.auth.credentials import BasicCredentials
    from huaweicloudsdkcore.http.http_config import HttpConfig
    from huaweicloudsdkmodelarts.v1 import ListAllNotebooksRequest, ModelArtsClient

    cfg = HttpConfig.get_default_config()
    cfg.timeout = (5, 20)
    client = (ModelArtsClient.new_builder().with_http_config(cfg)
              .with_credentials(BasicCredentials(info["ak"], info["sk"], info["project_id"]))
              .with_endpoints([info["endpoint"]]).build())
    out, offset = [], 0
    while True:
        r = client.list_all_notebooks(ListAllNotebooksRequest(limit=50, offset=offset, **dict(pairs)))
        raw = json.loads(r.raw_content)
        out += raw["data"]
        offset += 50
        if offset >= raw["total"] or not raw["data"]:
            return out


def check_actions(c, nbwatch, base, project, env, log_file, info, stats, reset):
    """nbwatch's action requests (PATCH with a JSON body, POST, DELETE) through the
    gateway: every signature verified by the SDK's signer, every action accepted."""
    everything = sdk_reference(info, [])
    running = [i["id"] for i in everything if i.get("status") == "RUNNING" and i.get("feature") == "NOTEBOOK"]
    stopped = [i["id"] for i in everything if i.get("status") == "STOPPED" and i.get("feature") == "NOTEBOOK"]
    if not c.check(running and stopped, "the simulator has a RUNNING and a STOPPED instance"):
        return
    sim_base = info["endpoint"]

    def advance(ms):
        harness.http_json("%s/_sim/advance?ms=%d" % (sim_base, ms), method="POST")

    steps = [
        ("extend %s --duration 2h" % running[0], ["extend", running[0], "--duration", "2h"], "PATCH", None),
        ("stop %s" % running[0], ["stop", running[0]], "POST", None),
        ("start %s --duration 4h" % stopped[0], ["start", stopped[0], "--duration", "4h"], "POST", 5_000),
        ("delete %s" % running[0], ["delete", running[0]], "DELETE", None),
    ]
    for label, args, method, then_advance in steps:
        c.section("nbwatch %s, through the gateway" % label)
        reset()
        cmd = [nbwatch, "--endpoint", base, "--project-id", project] + args + ["--yes"]
        if log_file:
            cmd += ["--log-file", log_file]
        try:
            p = subprocess.run(cmd, env=env, capture_output=True, timeout=RUN_TIMEOUT, stdin=subprocess.DEVNULL)
            rc, out, err = p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")
        except subprocess.TimeoutExpired:
            rc, out, err = None, "", "timed out"
        c.check(rc == 0 and "accepted" in out, "exit 0, the service accepted it", "exit %s\n%s%s" % (rc, out, err))
        s = stats()
        acts = [v for v in s["verdicts"] if v["method"] == method]
        c.check(len(acts) == 1 and acts[0]["ok"] and acts[0]["status"] == 200,
                "one %s, its signature verified by the SDK's signer (signed: %s)"
                % (method, acts[0]["signed_headers"] if acts else "-"),
                "\n".join("%s %s: %s -> %s" % (v["method"], v["target"], v["reason"], v["status"])
                          for v in s["verdicts"]))
        c.check(s["rejected"] == 0 and s["noncanonical_query"] == 0,
                "every request accepted, every query the SDK's canonical one (%d requests)" % s["requests"])
        if then_advance:
            advance(then_advance)
        if method == "POST" and label.startswith("stop"):
            advance(5_000)  # STOPPED, so the delete below is allowed



def _sort_value(value):
    """A field's value as nbwatch orders it (src/api/order.rs): absent or null
    first, then booleans, numbers, and text by its UTF-8 bytes."""
    if value is None:
        return (0,)
    if isinstance(value, bool):
        return (1, value)
    if isinstance(value, (int, float)):
        return (2, value)
    if isinstance(value, str):
        return (3, value.encode("utf-8"))
    return (3, json.dumps(value, separators=(",", ":")).encode("utf-8"))


def merged_in_order(listings, pairs):
    """Several listings, each in the service's order, merged the way nbwatch
    promises: by the query's sort keys (create_at when none), ties by id in the
    same direction, DESC unless sort_dir is ASC; on a full tie the earlier
    listing first. A merge, not a sort: each listing keeps its own order."""
    query = dict(pairs)
    keys = [k.strip() for k in (query.get("sort_key") or "").split(",") if k.strip()] or ["create_at"]
    desc = (query.get("sort_dir") or "DESC").upper() != "ASC"

    def values(item):
        return [_sort_value(item.get(k)) for k in keys] + [_sort_value(item.get("id"))]

    heads = [list(l) for l in listings]
    out = []
    while any(heads):
        best = None
        for i, h in enumerate(heads):
            if not h:
                continue
            v = values(h[0])
            if best is None or (v > best[1] if desc else v < best[1]):
                best = (i, v)
        out.append(heads[best[0]].pop(0))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--nbwatch", required=True)
    ap.add_argument("--mode", choices=("fixture", "sim"), default="fixture")
    ap.add_argument("--sim-args", default="--instances 237 --seed 7",
                    help="arguments for `nbwatch sim` in sim mode (--manual-clock added when it has one)")
    a = ap.parse_args()
    nbwatch = os.path.abspath(a.nbwatch)
    c = harness.Checks("check_nbwatch_via_gateway (%s)" % a.mode)
    tmp = tempfile.mkdtemp(prefix="nbwatch-gw-")
    home = os.path.join(tmp, "home")
    os.makedirs(home)

    help_text = subprocess.run([nbwatch, "--help"], capture_output=True, text=True, timeout=20).stdout
    log_file = os.path.join(tmp, "nbwatch.log") if "--log-file" in help_text else None

    sim = None
    if a.mode == "fixture":
        ak = "HPUANBWATCHCHECKAK01"
        sk = "nbwCheckSk" + secrets.token_hex(15)
        project = secrets.token_hex(16)
        instances = fixture.generate()
        fixture_path = os.path.join(tmp, "fixture.json")
        with open(fixture_path, "w", encoding="utf-8") as f:
            json.dump(instances, f, ensure_ascii=False)
        gw, base = harness.start_gateway(ak, sk, fixture_path=fixture_path)

        def expected(pairs):
            return fixture.select(instances, fixture.parse(pairs))
    else:
        sim_args = a.sim_args.split()
        sim_help = subprocess.run([nbwatch, "sim", "--help"], capture_output=True, text=True, timeout=20).stdout
        if "--manual-clock" in sim_help and "--manual-clock" not in sim_args:
            sim_args.append("--manual-clock")  # nothing changes while nbwatch and the SDK list
        sim, info = harness.start_sim(nbwatch, sim_args)
        ak, sk, project = info["ak"], info["sk"], info["project_id"]
        gw, base = harness.start_gateway(ak, sk, upstream=info["endpoint"])

        def expected(pairs):
            return sdk_reference(info, pairs)

        # The simulator's own names: a non-ASCII one, as nbwatch users will type it.
        names = [i.get("name") or "" for i in sdk_reference(info, [])]
        probe = harness.non_ascii_probe(names)
        if probe:
            CASES.append(("--name %r (simulator names)" % probe, ["--name", probe], [("name", probe)], 50))

    c.hide(sk)
    print("gateway %s (%s mode), nbwatch %s" % (base, a.mode, nbwatch), flush=True)
    env = nbwatch_env(home, ak, sk)

    def stats():
        return harness.http_json(base + "/_gateway/stats")[1]

    def reset():
        harness.http_json(base + "/_gateway/reset", method="POST")

    for label, args, pairs, page in CASES:
        c.section("list %s" % label)
        reset()
        # Without --feature nbwatch lists both kinds: the NOTEBOOK listing (what
        # the service sends when no feature is given) and the CodeLab one, merged
        # into one listing in the order asked (each kind's order as sent).
        both_kinds = not any(k == "feature" for k, _ in pairs)
        want_notebook = expected(pairs)
        want_codelab = expected(pairs + [("feature", "DEFAULT")]) if both_kinds else []
        want = merged_in_order([want_notebook, want_codelab], pairs)
        rc, out, err, cmd = run_nbwatch(nbwatch, base, project, args, env, log_file)
        if not c.check(rc == 0, "exit status 0", "exit %s; command %s\nstderr: %s" % (rc, cmd, err.strip())):
            continue
        try:
            got = json.loads(out)
            ok = isinstance(got, list)
        except ValueError as e:
            got, ok = [], False
            err += "\n(stdout is not JSON: %s)" % e
        if not c.check(ok, "stdout is one JSON array", out[:300] + err[-300:]):
            continue
        ids = [i.get("id") for i in got]
        want_ids = [i["id"] for i in want]
        if a.mode == "fixture" or not pairs or "simulator" in label:
            c.check(len(want_ids) > 0, "the query matches instances (%d)" % len(want_ids))
        elif not want_ids:
            c.note("%s matches nothing in the simulator (still checks encoding and signing)" % label)
        c.check(
            sorted(ids) == sorted(want_ids) and len(set(ids)) == len(ids),
            "every instance exactly once: %d of %d" % (len(set(ids) & set(want_ids)), len(want_ids)),
            "missing %s\nextra %s\nduplicated %s" % (
                sorted(set(want_ids) - set(ids))[:5], sorted(set(ids) - set(want_ids))[:5],
                sorted({i for i in ids if ids.count(i) > 1})[:5]),
        )
        c.check(ids == want_ids, "in the order asked: each kind as the service listed it, merged by the sort keys")
        tokens = [i["token"] for i in want if i.get("token")]
        c.check(not any(t in out for t in tokens), "notebook tokens are masked in the JSON output")
        s = stats()
        c.check(s["requests"] >= 1 and s["rejected"] == 0 and s["accepted"] == s["requests"],
                "the gateway accepted every request (%d of %d) with the SDK's signer" % (s["accepted"], s["requests"]),
                "\n".join("%s %s: %s" % (v["method"], v["target"], v["reason"]) for v in s["verdicts"] if not v["ok"]))
        c.check(s["noncanonical_query"] == 0, "every query on the wire is the SDK's canonical query string",
                "\n".join(v["target"] for v in s["verdicts"] if not v["canonical_query"]))
        queries = [dict(decode_query(urllib.parse.urlsplit(v["target"]).query)) for v in s["verdicts"]]
        limits = {q.get("limit") for q in queries}
        # Each listing is one sweep of pages overlapping by OVERLAP instances
        # (offsets 0, page - OVERLAP, ...), so a shift between two reads shows.
        def offsets_of(qs):
            return sorted(int(q.get("offset", "0")) for q in qs)
        listings = [([q for q in queries if q.get("feature", "") != "DEFAULT"], len(want_notebook))]
        if both_kinds:
            listings.append(([q for q in queries if q.get("feature") == "DEFAULT"], len(want_codelab)))
        got_offsets = [offsets_of(qs) for qs, _ in listings]
        want_offsets = [overlapped_offsets(n, page) for _, n in listings]
        pages = sum(len(o) for o in want_offsets)
        c.check(limits == {str(page)} and got_offsets == want_offsets,
                "pages of %d overlapping by %d, each listing in one sweep: offsets %s" % (page, OVERLAP, want_offsets),
                "limits %s, offsets %s" % (limits, got_offsets))
        signed = sorted({";".join(h for h in v["signed_headers"].split(";") if h != "user-agent")
                         for v in s["verdicts"] if v["signed_headers"]})
        if signed != [SDK_SIGNED]:
            c.note("%s: nbwatch signs %s; the SDK signs %s" % (label, " / ".join(signed), SDK_SIGNED))
        if s["requests"] != pages:
            c.note("%s: %d requests for %d pages" % (label, s["requests"], pages))
        sent = {k: v for k, v in pairs if k in ("name", "sort_key", "sort_dir")}
        c.check(all(all(q.get(k) == v for k, v in sent.items()) for q in queries),
                "every request carries the filters unchanged: %s" % json.dumps(sent, ensure_ascii=False),
                "\n".join(json.dumps(q, ensure_ascii=False) for q in queries[:3]))
        c.check(sk not in out + err, "the SK appears neither on stdout nor on stderr")

    if sim is not None:
        check_actions(c, nbwatch, base, project, env, log_file, info, stats, reset)

    # A wrong SK: refused once, reported on one line, nothing leaked.
    targets = [("the gateway", base, lambda: stats()["requests"], reset)]
    if sim is not None:
        sim_base = info["endpoint"]

        def sim_count():
            return harness.http_json(sim_base + "/_sim/stats")[1].get("requests")

        targets.append(("the simulator directly", sim_base, sim_count, lambda: None))
    wrong_sks = []
    for where, url, count, zero in targets:
        c.section("list with a wrong SK, against %s" % where)
        zero()
        before = 0 if where == "the gateway" else count()
        wrong = "wrongSk" + secrets.token_hex(16)
        wrong_sks.append(wrong)
        c.hide(wrong)
        rc, out, err, cmd = run_nbwatch(nbwatch, url, project, [], nbwatch_env(home, ak, wrong), log_file)
        n = count() - before if before is not None else None
        c.check(rc not in (0, None), "non-zero exit (%s)" % rc)
        lines = err.rstrip("\n").split("\n") if err.strip() else []
        c.check(len(lines) == 1, "stderr is exactly one line", "stderr:\n" + err)
        c.check("APIGW.0301" in err, "it names APIGW.0301", err)
        if where == "the gateway":
            v = stats()["verdicts"]
            rid = v[0]["request_id"] if v else "?"
            c.check(rid in err, "it shows the request id %s" % rid, err)
        else:
            m = re.search(r"[0-9a-f]{32}|[0-9a-f-]{36}", err)
            c.check(m is not None, "it shows a request id", err)
        c.check(n == 1, "exactly one request reached %s (saw %s)" % (where, n))
        c.check(out == "", "nothing on stdout", out[:300])
        c.check(sk not in out + err and wrong not in out + err, "neither SK appears on stdout or stderr")

    if log_file:
        c.section("log file")
        text = open(log_file, encoding="utf-8", errors="replace").read() if os.path.exists(log_file) else ""
        c.check(not any(x in text for x in [sk] + wrong_sks), "no SK in nbwatch's log file (%d bytes)" % len(text))

    harness.stop(gw.proc)
    if sim is not None:
        harness.stop(sim.proc)
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
