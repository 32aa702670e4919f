#!/usr/bin/env python3
"""Acceptance check (b): the official Python SDK (huaweicloudsdkmodelarts),
pointed at `nbwatch sim`, lists every instance across pages with each field of
the type the SDK's models declare, its filters and sorts answer correctly, an
unsupported sort key gets 400 ModelArts.6303 and a wrong SK gets 401 APIGW.0301.
Its start_notebook, stop_notebook, renew_lease, show_lease, show_notebook and
delete_notebook succeed and fail (wrong state, range, permission, resources) as
the service does.

  check_sdk_against_sim.py --nbwatch PATH [--instances 237 --seed 7]
  check_sdk_against_sim.py --endpoint URL --ak AK --project-id P   (SK in env SIM_SK)

Exit status 0 only when every check passed.
"""

import argparse
import decimal
import json
import math
import os
import subprocess
import sys
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"

import harness  # noqa: E402
from huaweicloudsdkcore.auth.credentials import BasicCredentials  # noqa: E402
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException  # noqa: E402
from huaweicloudsdkcore.http.http_config import HttpConfig  # noqa: E402
from huaweicloudsdkmodelarts.v1 import ListAllNotebooksRequest, ModelArtsClient  # noqa: E402
from huaweicloudsdkmodelarts.v1 import (  # noqa: E402
    DeleteNotebookRequest,
    LeaseReq,
    RenewLeaseRequest,
    ShowLeaseRequest,
    ShowNotebookRequest,
    StartNotebookRequest,
    StopNotebookRequest,
)
from huaweicloudsdkmodelarts.v1 import model as sdk_model  # noqa: E402

LIMITS = (10, 20, 50)


def make_client(endpoint, ak, sk, project_id):
    cfg = HttpConfig.get_default_config()
    cfg.ignore_ssl_verification = True  # plain http here anyway; as a user pointing at a test endpoint would
    cfg.timeout = (5, 30)
    cfg.retry_times = 0
    return (ModelArtsClient.new_builder()
            .with_http_config(cfg)
            .with_credentials(BasicCredentials(ak, sk, project_id))
            .with_endpoints([endpoint])
            .build())


class Lister:
    """ListAllNotebooks through the SDK, keeping each page's raw JSON and any
    type-conversion warnings the SDK raised while deserializing."""

    def __init__(self, client):
        self.client = client
        self.warnings = []
        self.requests = 0

    def page(self, **params):
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            self.requests += 1
            resp = self.client.list_all_notebooks(ListAllNotebooksRequest(**params))
        self.warnings += ["%s: %s" % (x.category.__name__, x.message) for x in w]
        raw = json.loads(resp.raw_content, parse_float=decimal.Decimal)
        return resp, raw

    def all(self, limit=50, **params):
        """Pages until `total` items are in hand: (responses, raw pages)."""
        resps, raws, offset = [], [], 0
        while True:
            resp, raw = self.page(limit=limit, offset=offset, **params)
            resps.append(resp)
            raws.append(raw)
            offset += limit
            if offset >= (raw.get("total") or 0) or not raw.get("data") or len(raws) > 10_000:
                return resps, raws


def items(raws):
    return [i for r in raws for i in (r.get("data") or [])]


# --- strict types: the raw JSON against the SDK's own model declarations ------

def _model(name):
    return getattr(sdk_model, name, None)


def check_type(value, decl, path, errors, unknown, seen_fields):
    """Walks `value` (raw JSON) against the SDK type declaration `decl`."""
    if value is None:
        return
    if decl.startswith("list["):
        if not isinstance(value, list):
            errors.append("%s: %s expected, got %s" % (path, decl, type(value).__name__))
            return
        for k, v in enumerate(value):
            check_type(v, decl[5:-1], "%s[%d]" % (path, k), errors, unknown, seen_fields)
        return
    if decl.startswith("dict("):
        if not isinstance(value, dict):
            errors.append("%s: %s expected, got %s" % (path, decl, type(value).__name__))
            return
        sub = decl[5:-1].split(", ", 1)[1]
        for k, v in value.items():
            check_type(v, sub, "%s.%s" % (path, k), errors, unknown, seen_fields)
        return
    prim = {
        "str": lambda v: isinstance(v, str),
        "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "float": lambda v: isinstance(v, (int, float, decimal.Decimal)) and not isinstance(v, bool),
        "bool": lambda v: isinstance(v, bool),
        "object": lambda v: True,
    }
    if decl in prim:
        if not prim[decl](value):
            errors.append("%s: %s expected, got %s %r" % (path, decl, type(value).__name__, value))
        return
    klass = _model(decl)
    if klass is None:
        errors.append("%s: the SDK has no model %s" % (path, decl))
        return
    if not klass.openapi_types:  # an enum-like model: a string value
        if not isinstance(value, str):
            errors.append("%s: %s (string enum) expected, got %r" % (path, decl, value))
        return
    if not isinstance(value, dict):
        errors.append("%s: %s object expected, got %s" % (path, decl, type(value).__name__))
        return
    wire_to_attr = {wire: attr for attr, wire in klass.attribute_map.items()}
    for key, v in value.items():
        field = "%s.%s" % (decl, key)
        attr = wire_to_attr.get(key)
        if attr is None:
            unknown.add(field)
            continue
        seen_fields.add(field)
        check_type(v, klass.openapi_types[attr], "%s.%s" % (path, key), errors, unknown, seen_fields)


def check_deserialized(obj, decl, path, errors):
    """The SDK's own objects: each attribute of the declared Python type."""
    if obj is None:
        return
    if decl.startswith("list["):
        if not isinstance(obj, list):
            errors.append("%s: SDK gave %s for %s" % (path, type(obj).__name__, decl))
            return
        for k, v in enumerate(obj):
            check_deserialized(v, decl[5:-1], "%s[%d]" % (path, k), errors)
        return
    py = {"str": str, "int": int, "bool": bool, "float": (int, float, decimal.Decimal), "object": object}
    if decl in py:
        if not isinstance(obj, py[decl]) or (decl == "int" and isinstance(obj, bool)):
            errors.append("%s: SDK gave %s for %s" % (path, type(obj).__name__, decl))
        return
    klass = _model(decl)
    if klass is None or not klass.openapi_types:
        return
    if not isinstance(obj, klass):
        errors.append("%s: SDK gave %s for %s" % (path, type(obj).__name__, decl))
        return
    for attr, sub in klass.openapi_types.items():
        check_deserialized(getattr(obj, attr), sub, "%s.%s" % (path, attr), errors)


# --- ordering ------------------------------------------------------------------

def sort_value(item, key):
    v = item.get(key)
    return (v is not None, v if v is not None else "")


def ordered(seq, keys, desc):
    vals = [tuple(sort_value(i, k) for k in keys) for i in seq]
    bad = [n for n in range(1, len(vals)) if (vals[n - 1] < vals[n] if desc else vals[n - 1] > vals[n])]
    return not bad, bad[:3], vals


def check_actions(c, client, info, everything):
    """start_notebook, stop_notebook, renew_lease, show_lease, show_notebook and
    delete_notebook against the simulator (its clock moved by hand)."""
    base = info["endpoint"]
    hour = 3_600_000

    def advance(ms):
        return harness.http_json("%s/_sim/advance?ms=%d" % (base, ms), method="POST")[1]["now_ms"]

    def refused(call, status, code, what):
        try:
            call()
            c.check(False, "%s is refused with %s %s" % (what, status, code))
        except ClientRequestException as e:
            c.check(e.status_code == status and e.error_code == code and bool(e.request_id),
                    "%s: %s %s with a request id" % (what, status, code),
                    "got %s %s: %s" % (e.status_code, e.error_code, e.error_msg))

    def typed(resp, decl, what):
        errors = []
        check_type(json.loads(resp.raw_content, parse_float=decimal.Decimal), decl, decl, errors, set(), set())
        c.check(not errors, "%s: every field of the type %s declares" % (what, decl), "\n".join(errors[:10]))

    def nth(status, n=0):
        found = [i["id"] for i in everything if i.get("status") == status and i.get("feature") == "NOTEBOOK"]
        return found[n] if len(found) > n else None

    running, stopped, frozen = nth("RUNNING"), nth("STOPPED"), nth("FROZEN")
    c.section("stop_notebook, start_notebook, renew_lease, show_lease, delete_notebook")
    if not (running and stopped):
        c.check(False, "the simulator has a RUNNING and a STOPPED instance")
        return
    r = client.stop_notebook(StopNotebookRequest(id=running))
    c.check(r.status == "STOPPING" and r.id == running, "stop_notebook: the instance, STOPPING")
    typed(r, "StopNotebookResponse", "stop_notebook")
    refused(lambda: client.stop_notebook(StopNotebookRequest(id=running)), 400, "ModelArts.6308",
            "stop_notebook while STOPPING")
    refused(lambda: client.delete_notebook(DeleteNotebookRequest(id=nth("RUNNING", 1))), 400, "ModelArts.6304",
            "delete_notebook of a RUNNING instance")
    advance(5_000)
    c.check(client.show_notebook(ShowNotebookRequest(id=running)).status == "STOPPED",
            "show_notebook: STOPPED a few seconds later")
    refused(lambda: client.stop_notebook(StopNotebookRequest(id=running)), 400, "ModelArts.6307",
            "stop_notebook of a STOPPED instance")

    r = client.start_notebook(StartNotebookRequest(id=running, duration=2 * hour, type="TIMING"))
    c.check(r.status == "STARTING", "start_notebook(duration=2h, type=TIMING): the instance, STARTING")
    typed(r, "StartNotebookResponse", "start_notebook")
    refused(lambda: client.start_notebook(StartNotebookRequest(id=running)), 400, "ModelArts.6306",
            "start_notebook while STARTING")
    t = advance(5_000)
    shown = client.show_notebook(ShowNotebookRequest(id=running))
    c.check(shown.status == "RUNNING" and shown.lease.duration == 2 * hour and shown.lease.enable,
            "RUNNING with a fresh 2 h lease", "status %s, lease %s" % (shown.status, shown.lease))
    typed(shown, "ShowNotebookResponse", "show_notebook")
    refused(lambda: client.start_notebook(StartNotebookRequest(id=running)), 400, "ModelArts.6305",
            "start_notebook of a RUNNING instance")

    t = advance(60_000)
    lease = client.renew_lease(RenewLeaseRequest(id=running, body=LeaseReq(duration=4 * hour, type="TIMING")))
    c.check(lease.create_at + lease.duration == t + 4 * hour and lease.enable,
            "renew_lease(4h): stops at now + 4h, not the old stop time + 4h",
            "lease %s, now %s" % (lease, t))
    typed(lease, "RenewLeaseResponse", "renew_lease")
    shown = client.show_lease(ShowLeaseRequest(id=running))
    c.check((shown.create_at, shown.duration) == (lease.create_at, lease.duration), "show_lease: the same lease")
    lease = client.renew_lease(RenewLeaseRequest(id=running, duration=3 * hour,
                                                 body=LeaseReq(duration=4 * hour, type="TIMING")))
    c.check(lease.duration == 3 * hour, "renew_lease: a duration in the query overrides the body's")
    refused(lambda: client.renew_lease(RenewLeaseRequest(id=running, body=LeaseReq(duration=60_000, type="TIMING"))),
            400, "ModelArts.6349", "renew_lease of one minute (out of 1-72 h)")
    refused(lambda: client.renew_lease(RenewLeaseRequest(id=running, body=LeaseReq(type="TIMING"))),
            400, "ModelArts.6348", "renew_lease without a duration")
    refused(lambda: client.renew_lease(RenewLeaseRequest(id=stopped, body=LeaseReq(duration=hour, type="TIMING"))),
            400, "ModelArts.6327", "renew_lease of a STOPPED instance")
    if frozen:
        refused(lambda: client.start_notebook(StartNotebookRequest(id=frozen)), 400, "ModelArts.6326",
                "start_notebook of a FROZEN instance")

    harness.http_json(base + "/_sim/deny?action=modelarts:notebook:stop", method="POST")
    refused(lambda: client.stop_notebook(StopNotebookRequest(id=running)), 403, "ModelArts.0108",
            "stop_notebook without modelarts:notebook:stop")
    harness.http_json(base + "/_sim/deny", method="DELETE")
    harness.http_json(base + "/_sim/resources?available=false", method="POST")
    refused(lambda: client.start_notebook(StartNotebookRequest(id=stopped)), 400, "ModelArts.6360",
            "start_notebook with no resources left")
    harness.http_json(base + "/_sim/resources?available=true", method="POST")

    client.stop_notebook(StopNotebookRequest(id=running))
    advance(5_000)
    r = client.delete_notebook(DeleteNotebookRequest(id=running))
    c.check(r.status == "DELETING", "delete_notebook of a STOPPED instance: the instance, DELETING")
    typed(r, "DeleteNotebookResponse", "delete_notebook")
    advance(5_000)
    c.check(client.show_notebook(ShowNotebookRequest(id=running)).status == "DELETED", "then DELETED")
    advance(180_000)
    refused(lambda: client.show_notebook(ShowNotebookRequest(id=running)), 404, "ModelArts.6309",
            "show_notebook once it is gone")
    refused(lambda: client.delete_notebook(DeleteNotebookRequest(id=running)), 404, "ModelArts.6309",
            "delete_notebook of an instance that is gone")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--nbwatch", help="start `nbwatch sim` from this binary")
    ap.add_argument("--instances", type=int, default=237)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--endpoint", help="an already running simulator instead")
    ap.add_argument("--ak")
    ap.add_argument("--project-id")
    a = ap.parse_args()
    c = harness.Checks("check_sdk_against_sim")

    sim = None
    if a.endpoint:
        info = {"endpoint": a.endpoint, "ak": a.ak, "sk": os.environ.get("SIM_SK"), "project_id": a.project_id}
    else:
        nbwatch = os.path.abspath(a.nbwatch)
        sim_help = subprocess.run([nbwatch, "sim", "--help"], capture_output=True, text=True, timeout=20).stdout
        args = ["--instances", str(a.instances), "--seed", str(a.seed)]
        if "--manual-clock" in sim_help:
            args.append("--manual-clock")  # frozen lifecycle: filter answers can be compared exactly
        sim, info = harness.start_sim(nbwatch, args)
        defaults = harness.sim_defaults(nbwatch)
        c.section("simulator")
        c.check(defaults.get("ak") == info["ak"] and defaults.get("sk") == info["sk"]
                and defaults.get("project-id") == info["project_id"],
                "`nbwatch sim --help` shows the default AK, SK and project id the banner uses",
                "help: %s\nbanner: %s" % (defaults, {k: info[k] for k in ("ak", "sk", "project_id")}))
        print("  sim %s %s" % (info["endpoint"], " ".join(args)))
    client = make_client(info["endpoint"], info["ak"], info["sk"], info["project_id"])
    lst = Lister(client)

    # ---- every instance across pages ------------------------------------------
    c.section("ListAllNotebooks, every page (limit 50)")
    by_feature = {}
    for feature in ("NOTEBOOK", "DEFAULT"):
        resps, raws = lst.all(limit=50, feature=feature)
        by_feature[feature] = (resps, raws)
    resps, raws = lst.all(limit=50)  # the server's default feature
    everything = items(raws)
    ids = [i.get("id") for i in everything]
    total = raws[0].get("total")
    c.check(len(ids) == total and len(set(ids)) == len(ids),
            "default feature: %d instances over %d pages, each once (total %s)" % (len(ids), len(raws), total))
    nb_ids = [i.get("id") for i in items(by_feature["NOTEBOOK"][1])]
    c.check(nb_ids == ids, "the default feature is NOTEBOOK (same listing as feature=NOTEBOOK)")
    all_ids = set(nb_ids) | {i.get("id") for i in items(by_feature["DEFAULT"][1])}
    if a.endpoint is None:
        c.check(len(all_ids) == a.instances,
                "NOTEBOOK + DEFAULT = every simulated instance: %d of %d" % (len(all_ids), a.instances))
    for n, (resp, raw) in enumerate(zip(resps, raws)):
        want = {"current": n, "size": 50, "pages": math.ceil(total / 50), "total": total}
        got = {k: raw.get(k) for k in want}
        if not c.check(got == want and len(raw.get("data") or []) == min(50, total - 50 * n),
                       "page %d: current/size/pages/total and data length" % n,
                       "got %s with %d items, want %s" % (got, len(raw.get("data") or []), want)):
            break
        c.check([x.id for x in resp.data] == [i.get("id") for i in raw["data"]] and resp.total == total,
                "page %d: the SDK's ListAllNotebooksResponse holds the same items" % n)

    # ---- field types --------------------------------------------------------
    c.section("every field of the type the SDK's models declare")
    errors, unknown, seen = [], set(), set()
    for feature, (fresps, fraws) in by_feature.items():
        for p, raw in enumerate(fraws):
            check_type(raw, "ListAllNotebooksResponse", "%s page %d" % (feature, p), errors, unknown, seen)
            check_deserialized(fresps[p], "ListAllNotebooksResponse", "%s page %d (SDK object)" % (feature, p),
                               errors)
    c.check(not errors, "raw JSON and SDK objects match the declared types (%d fields checked)" % len(seen),
            "\n".join(errors[:15]) + ("\n… %d more" % (len(errors) - 15) if len(errors) > 15 else ""))
    c.check(not lst.warnings, "the SDK deserialized without type-conversion warnings",
            "\n".join(sorted(set(lst.warnings))[:10]))
    declared = {"NotebookResp.%s" % w for w in sdk_model.NotebookResp.attribute_map.values()}
    never = sorted(declared - seen)
    if never:
        c.note("NotebookResp fields the simulator never sent: %s" % ", ".join(f.split(".", 1)[1] for f in never))
    if unknown:
        c.note("fields the simulator sends that the SDK model does not declare (tolerated, ignored by the SDK): %s"
               % ", ".join(sorted(unknown)))

    # ---- filters -------------------------------------------------------------
    c.section("filters")
    for feature in ("DEFAULT", "NOTEBOOK"):
        got = items(by_feature[feature][1])
        c.check(got and all(i.get("feature") == feature for i in got),
                "feature=%s: %d instances, all %s" % (feature, len(got), feature))
    statuses = sorted({i.get("status") for i in everything})
    absent = [s for s in ("FROZEN", "DELETED", "SNAPSHOTTING", "INIT") if s not in statuses][:1]
    for status in statuses + absent:
        _, sraws = lst.all(limit=50, status=status)
        got = [i.get("id") for i in items(sraws)]
        want = [i.get("id") for i in everything if i.get("status") == status]
        c.check(sorted(got) == sorted(want), "status=%s: %d instances, exactly those in that status" % (status, len(want)),
                "got %d, want %d" % (len(got), len(want)))
    names = [i.get("name") or "" for i in everything]
    probes = []
    if names:
        longest = max(names, key=len)
        probes.append(longest[1:max(2, len(longest) // 2)].upper())  # a middle part, other case
        common = max({n[:3] for n in names if len(n) >= 3}, key=lambda p: sum(x.startswith(p) for x in names),
                     default="")
        if common:
            probes.append(common)
        wide = harness.non_ascii_probe(names)
        if wide:
            probes.append(wide.upper())  # non-ASCII (in another case where it has one)
    # Values the SDK percent-encodes: the simulator must verify the SDK's signature
    # of each (a 401 here is a signing mismatch) and match them literally.
    probes += ["no-such-notebook-zz", "my nb*中文+~/=&x:y", "100%", "a;b", "q?x#y", "a b"]
    for probe in probes:
        _, nraws = lst.all(limit=50, name=probe)
        got = [i.get("id") for i in items(nraws)]
        want = [i.get("id") for i in everything if probe.lower() in (i.get("name") or "").lower()]
        c.check(sorted(got) == sorted(want), "name=%r (fuzzy, any case): %d instances" % (probe, len(want)),
                "got %d: %s" % (len(got), [i.get("name") for i in items(nraws)][:5]))

    # ---- sorting -------------------------------------------------------------
    c.section("sort_key / sort_dir")
    for keys in ("name", "create_at", "update_at", "status", "name,create_at", "status,name"):
        for direction in ("ASC", "DESC"):
            _, sraws = lst.all(limit=50, sort_key=keys, sort_dir=direction)
            got = items(sraws)
            ok, bad, _ = ordered(got, keys.split(","), direction == "DESC")
            c.check(ok and sorted(i.get("id") for i in got) == sorted(ids),
                    "sort_key=%s sort_dir=%s: every instance, in that order" % (keys, direction),
                    "out of order at %s: %s" % (bad, [[got[n - 1].get(k) for k in keys.split(",")] + ["→"]
                                                      + [got[n].get(k) for k in keys.split(",")] for n in bad]))
    ok, bad, _ = ordered(everything, ["create_at"], True)
    if not ok:
        c.note("with no sort_key the listing is not newest-first by create_at")
    try:
        lst.page(limit=10, sort_key="name,token")
        c.check(False, "sort_key=name,token (unsupported field) is refused")
    except ClientRequestException as e:
        c.check(e.status_code == 400 and e.error_code == "ModelArts.6303",
                "sort_key=name,token: the SDK raises ClientRequestException 400 ModelArts.6303",
                "got %s %s: %s" % (e.status_code, e.error_code, e.error_msg))
        c.check(bool(e.request_id), "… with the X-Request-Id (%s)" % e.request_id)

    # ---- limits ----------------------------------------------------------------
    c.section("limit 10 / 20 / 50")
    for limit in LIMITS:
        resps_l, raws_l = lst.all(limit=limit)
        got = [i.get("id") for i in items(raws_l)]
        first = raws_l[0]
        c.check(len(first.get("data") or []) == min(limit, total) and first.get("size") == limit
                and first.get("pages") == math.ceil(total / limit) and len(raws_l) == max(1, math.ceil(total / limit)),
                "limit=%d: pages of %d, pages=%d" % (limit, limit, math.ceil(total / limit)),
                "first page: %d items, size %s, pages %s" % (len(first.get("data") or []), first.get("size"),
                                                             first.get("pages")))
        c.check(got == ids, "limit=%d: same instances in the same order as limit=50" % limit)

    # ---- actions ---------------------------------------------------------------
    if sim is not None:
        check_actions(c, client, info, everything)

    # ---- a wrong SK --------------------------------------------------------------
    c.section("a wrong SK")
    bad_client = make_client(info["endpoint"], info["ak"], info["sk"] + "x", info["project_id"])
    try:
        bad_client.list_all_notebooks(ListAllNotebooksRequest(limit=10))
        c.check(False, "a wrong SK is refused")
    except ClientRequestException as e:
        c.check(e.status_code == 401 and e.error_code == "APIGW.0301",
                "the SDK raises ClientRequestException 401 APIGW.0301",
                "got %s %s: %s" % (e.status_code, e.error_code, e.error_msg))
        c.check(bool(e.request_id), "… with the X-Request-Id (%s)" % e.request_id)
        c.check(info["sk"] not in str(e.error_msg), "… and the error message does not contain the SK")

    print("\n  %d SDK requests" % lst.requests)
    if sim is not None:
        harness.stop(sim.proc)
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
