"""Paged notebook data for the gateway's `--serve-fixture` mode.

`generate()` makes a deterministic set of instances whose names exercise query
encoding (spaces, '*', non-ASCII, look-alikes that must NOT match), and
`list_page()` answers one `GET /v1/{project_id}/notebooks/all` page with the
same minimal semantics the service documents: feature (default NOTEBOOK),
status, fuzzy name, comma-separated sort_key with one sort_dir, limit/offset.
`select()` is the whole filtered, ordered result, for checks to compare with.
"""

import json
import math
import random

LIMITS = (10, 20, 50)
SORT_KEYS = (
    "create_at",
    "update_at",
    "name",
    "status",
    "flavor",
    "feature",
    "id",
    "description",
    "workspace_id",
)
STATUSES = (
    "RUNNING",
    "STOPPED",
    "CREATING",
    "STARTING",
    "STOPPING",
    "CREATE_FAILED",
    "ERROR",
    "SNAPSHOTTING",
)

# Name stems, with how many of each. The first two are what the checks search
# for; the others are near misses a wrong encoding would let through or drop.
NAME_STEMS = (
    ("my nb*中文", 57),  # more than one page of 50
    ("My NB*中文 upper", 6),  # fuzzy match is case-insensitive
    ("my nb中文", 7),  # no '*': must not match 'my nb*中文'
    ("my nb 中文", 4),  # '*' dropped: must not match
    ("a b", 23),
    ("a+b", 5),  # '+' is not a space
    ("a_b", 5),
    ("ab", 5),
    ("train-resnet", 21),
    ("eval job, final", 9),  # a comma in a value
)


class QueryError(Exception):
    """A 400 answer: (error_code, error_msg)."""

    def __init__(self, code, msg):
        super().__init__(msg)
        self.code = code
        self.msg = msg


def generate(seed=3, base_ms=1_760_000_000_000):
    """Deterministic fixture instances (list of NotebookResp-shaped dicts)."""
    rng = random.Random(seed)
    out = []
    n = 0
    for stem, count in NAME_STEMS:
        for k in range(count):
            n += 1
            create_at = base_ms + rng.randrange(0, 30 * 86_400_000)
            feature = "DEFAULT" if n % 17 == 0 else "NOTEBOOK"
            out.append(
                {
                    "id": "%08x-%04x-4%03x-8%03x-%012x"
                    % (
                        rng.getrandbits(32),
                        rng.getrandbits(16),
                        rng.getrandbits(12),
                        rng.getrandbits(12),
                        rng.getrandbits(48),
                    ),
                    "name": "%s %02d" % (stem, k),
                    "description": "fixture instance %d" % n,
                    "status": rng.choice(STATUSES),
                    "feature": feature,
                    "flavor": rng.choice(
                        ["modelarts.vm.cpu.2u", "modelarts.vm.gpu.t4", "modelarts.vm.cpu.free"]
                    ),
                    "create_at": create_at,
                    "update_at": create_at + rng.randrange(0, 86_400_000),
                    "workspace_id": "0",
                    "token": "fixture-notebook-token-%04d" % n,
                    "url": "https://authoring.example.invalid/nb/%d/lab" % n,
                    "image": {
                        "id": "img-%d" % (n % 5),
                        "name": "pytorch1.8-cuda10.2",
                        "swr_path": "swr.example.invalid/atelier/pytorch:1.8",
                        "type": "BUILD_IN",
                        "arch": "X86_64",
                    },
                    "lease": {
                        "create_at": create_at,
                        "duration": 3_600_000 * (1 + n % 4),
                        "enable": n % 3 != 0,
                        "type": "timing",
                        "update_at": create_at,
                    },
                    "volume": {
                        "category": "EVS",
                        "ownership": "MANAGED",
                        "mount_path": "/home/ma-user/work/",
                        "capacity": 5 * (1 + n % 10),
                    },
                    "billing_items": ["STORAGE", "COMPUTE"],
                }
            )
    rng.shuffle(out)
    return out


def _first(pairs, key):
    for k, v in pairs:
        if k == key and v != "":
            return v
    return None


def _int_param(pairs, key, default, allowed=None):
    v = _first(pairs, key)
    if v is None:
        return default
    try:
        n = int(v.strip())
    except ValueError:
        n = -1
    if n < 0 or (allowed is not None and n not in allowed):
        raise QueryError("ModelArts.0101", "Invalid parameter %s: %s." % (key, v))
    return n


def parse(pairs):
    """Validates decoded query pairs; returns a dict of the query's meaning."""
    limit = _int_param(pairs, "limit", 10, LIMITS)
    offset = _int_param(pairs, "offset", 0)
    feature = (_first(pairs, "feature") or "NOTEBOOK").upper()
    if feature not in ("NOTEBOOK", "DEFAULT"):
        raise QueryError("ModelArts.0101", "Invalid parameter feature: %s." % feature)
    sort_dir = (_first(pairs, "sort_dir") or "DESC").upper()
    if sort_dir not in ("ASC", "DESC"):
        raise QueryError("ModelArts.0101", "Invalid parameter sort_dir: %s." % sort_dir)
    keys = [k.strip() for k in (_first(pairs, "sort_key") or "").split(",") if k.strip()]
    for k in keys:
        if k not in SORT_KEYS:
            raise QueryError("ModelArts.6303", "Field %s does not support sorting." % k)
    name = _first(pairs, "name")
    if name is not None and len(name) > 128:
        raise QueryError("ModelArts.0101", "Invalid parameter name: at most 128 characters.")
    return {
        "limit": limit,
        "offset": offset,
        "feature": feature,
        "status": _first(pairs, "status"),
        "name": name.lower() if name is not None else None,
        "sort_key": keys or ["create_at"],
        "desc": sort_dir == "DESC",
    }


def select(instances, q):
    """Every instance the query matches, in the order the pages list them."""
    hits = [
        i
        for i in instances
        if i.get("feature") == q["feature"]
        and (q["status"] is None or i.get("status") == q["status"])
        and (q["name"] is None or q["name"] in i.get("name", "").lower())
    ]
    hits.sort(key=lambda i: (tuple(i.get(k) for k in q["sort_key"]), i["id"]), reverse=q["desc"])
    return hits


def list_page(instances, pairs):
    """One page as the service answers it (raises QueryError for a 400)."""
    q = parse(pairs)
    hits = select(instances, q)
    total = len(hits)
    return {
        "current": q["offset"] // q["limit"],
        "data": hits[q["offset"] : q["offset"] + q["limit"]],
        "pages": math.ceil(total / q["limit"]),
        "size": q["limit"],
        "total": total,
    }


def load(path):
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    if isinstance(doc, dict):
        doc = doc.get("data", [])
    if not isinstance(doc, list):
        raise ValueError("%s: expected a JSON array of instances or {\"data\": [...]}" % path)
    return doc


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description="Write fixture instances as JSON to stdout.")
    ap.add_argument("--seed", type=int, default=3)
    a = ap.parse_args()
    print(json.dumps(generate(a.seed), ensure_ascii=False, indent=1))
