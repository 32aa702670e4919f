#!/usr/bin/env python3
"""Module circles in the crate: which modules use which, and every circle.

Reads each source file under src/ (comments and test code left out: files named
tests.rs or *_tests.rs, and what follows `#[cfg(test)]`), collects the paths it
uses (`crate::x::y`, `super::y`, `nbwatch::x`), and reports the strongly connected
components of two graphs: the top-level modules (`api`, `app`, `sim`, …) and, inside
each directory module, its submodules (`api::client`, `api::sweep`, …).

Usage: scripts/module_cycles.py [-v] [src-dir]   (-v: the uses that make each edge;
       exit 1 when there is a circle)
"""
import os
import re
import sys
from collections import defaultdict

VERBOSE = "-v" in sys.argv
ARGS = [a for a in sys.argv[1:] if a != "-v"]
SRC = ARGS[0] if ARGS else os.path.join(os.path.dirname(__file__), "..", "src")
SRC = os.path.normpath(SRC)


def module_path(rel):
    """src-relative file path -> module path list (lib.rs/main.rs -> [])."""
    parts = rel[:-3].split(os.sep)
    if parts[-1] in ("mod", "lib", "main"):
        parts = parts[:-1]
    return parts


def code_of(text):
    out = []
    for line in text.split("\n"):
        s = line.strip()
        if s.startswith("#[cfg(test)]"):
            break  # test code runs to the end of the file in this crate
        if s.startswith("//"):
            continue
        out.append(line.split("//")[0] if "//" in line and '"' not in line else line)
    return "\n".join(out)


def uses(mod, text):
    """Absolute module paths (lists) that the code of `mod` names."""
    found = []
    # `use` groups: expand `crate::api::{client, sweep::X}` one level.
    for m in re.finditer(r"\b(crate|super|nbwatch)((?:::\w+)*)::\{([^}]*)\}", text):
        base = m.group(1) + m.group(2)
        for item in m.group(3).split(","):
            item = item.strip().split(" as ")[0]
            if item and item not in ("self", "*"):
                found.append(base + "::" + item.split("::")[0].strip("{ "))
            elif item == "self":
                found.append(base)
    for m in re.finditer(r"\b((?:crate|nbwatch)(?:::\w+)+|(?:super::)+\w+(?:::\w+)*)", text):
        found.append(m.group(1))
    paths = []
    for f in found:
        segs = f.split("::")
        if segs[0] in ("crate", "nbwatch"):
            paths.append(segs[1:])
        else:
            base = list(mod)
            while segs and segs[0] == "super":
                base = base[:-1]
                segs = segs[1:]
            paths.append(base + segs)
    return paths


files = {}
for root, _, names in os.walk(SRC):
    for n in names:
        if not n.endswith(".rs") or n == "tests.rs" or n.endswith("_tests.rs"):
            continue
        rel = os.path.relpath(os.path.join(root, n), SRC)
        if os.path.basename(root) == "tests" or rel.endswith(os.sep + "tests.rs"):
            continue
        files[rel] = module_path(rel)

known = {tuple(m) for m in files.values()}
top = defaultdict(set)  # top-level module -> top-level modules it uses
why = defaultdict(set)  # (a, b) -> "file: path" that makes the edge
sub = defaultdict(lambda: defaultdict(set))  # parent -> child -> children it uses
for rel, mod in files.items():
    text = code_of(open(os.path.join(SRC, rel), encoding="utf-8").read())
    for p in uses(mod, text):
        if not mod or not p:
            continue
        if p[0] != mod[0] and (p[0],) in known:
            top[mod[0]].add(p[0])
            why[(mod[0], p[0])].add(f"{rel}: {'::'.join(p)}")
        # inside a directory module: child -> sibling child
        if len(mod) >= 2 and len(p) >= 2 and p[0] == mod[0] and p[1] != mod[1]:
            if (p[0], p[1]) in known:
                sub[mod[0]][mod[1]].add(p[1])
                why[(mod[1], p[1])].add(f"{rel}: {'::'.join(p)}")


def sccs(graph):
    index, low, stack, on, out, n = {}, {}, [], set(), [], [0]
    nodes = set(graph) | {v for vs in graph.values() for v in vs}

    def visit(v):
        index[v] = low[v] = n[0]
        n[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return out


def report(title, graph):
    found = sccs(graph)
    for comp in found:
        edges = [
            f"{a} -> {b}   ({'; '.join(sorted(why[(a, b)])[:3]) if VERBOSE else ''})"
            for a in comp
            for b in sorted(graph.get(a, ()))
            if b in comp
        ]
        print(f"{title}: circle among {', '.join(comp)}\n    " + "\n    ".join(edges))
    return len(found)


circles = report("top-level", top)
for parent in sorted(sub):
    circles += report(parent, sub[parent])
if circles == 0:
    print("no module circle")
sys.exit(1 if circles else 0)
