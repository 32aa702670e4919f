#!/usr/bin/env bash
# Every benchmark of BENCHMARKS.md, for two commits side by side in one run:
# the baseline (BASE, default: the previous release) and the work tree.
#
# Usage: scripts/bench_compare.sh BASE [--short] [--only NAME[,NAME...]]
#   BASE      a commit, tag or branch; checked out in a temporary worktree with
#             its own target dir (removed at the end); or the path of a checkout
#             of the baseline (kept, and its builds reused)
#   --short   shorter runs (e2e: one source of 10,000 and two of 5,000, 60 s
#             each; fresh: a 120 s window; sweep: 3 sweeps, one per churn shape):
#             for a restructure, where "within noise" is the question
#   --only    run only these benches (parse,frame,filter,refresh,sweep,fresh,
#             serve,serve_rss,e2e)
#
# Whole-process benches (e2e, serve_rss) run the work tree's harness twice, once
# with each release binary (--bin), so only the binary differs. In-process benches
# (parse, frame, filter, refresh, sweep, fresh, serve) link the library, so each
# tree runs its own harness (and its own release `nbwatch sim`): base, then work
# tree, bench by bench, so both see the same load. The load is printed before and after each bench. Linux only.
set -euo pipefail
cd "$(dirname "$0")/.."

base="${1:?usage: scripts/bench_compare.sh BASE [--short] [--only NAMES]}"
shift
short=0
only="parse,frame,filter,refresh,sweep,fresh,serve,serve_rss,e2e"
while [ $# -gt 0 ]; do
    case "$1" in
        --short) short=1 ;;
        --only) only="$2"; shift ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
    shift
done

here="$(pwd)"
if [ -f "$base/Cargo.toml" ]; then
    # A checkout of the baseline already built: used as it is, kept.
    tree="$(cd "$base" && pwd)"
else
    tree="$(mktemp -d /tmp/nbwatch-base.XXXXXX)"
    cleanup() {
        git -C "$here" worktree remove --force "$tree" >/dev/null 2>&1 || rm -rf "$tree"
    }
    trap cleanup EXIT
    git worktree add --detach -q "$tree" "$base"
fi
echo "== baseline $(git -C "$tree" log --oneline -1)"
echo "== work tree $(git log --oneline -1)$(git diff --quiet || echo ' (with uncommitted changes)')"

echo "== build both (release binary and benches)"
(cd "$tree" && cargo build --release --locked --bin nbwatch && cargo bench --locked --no-run) 2>&1 | tail -n 3
cargo build --release --locked --bin nbwatch 2>&1 | tail -n 1
cargo bench --locked --no-run 2>&1 | tail -n 1
base_bin="$tree/target/release/nbwatch"
new_bin="$here/target/release/nbwatch"

args_for() {
    case "$1" in
        parse) echo "--warm-up-time 1 --measurement-time 3" ;;
        frame | filter | serve) echo "" ;;
        refresh) echo "--runs 3" ;;
        sweep) [ "$short" = 1 ] && echo "--sweeps 3 --churn-sweeps 1" || echo "" ;;
        fresh) [ "$short" = 1 ] && echo "--window-s 120" || echo "" ;;
        serve_rss) echo "--scrapes 20" ;;
        e2e) [ "$short" = 1 ] && echo "--sources-only --secs 60 --paint-runs 3" || echo "--secs 60 --paint-runs 10" ;;
    esac
}

for bench in ${only//,/ }; do
    # shellcheck disable=SC2046
    set -- $(args_for "$bench")
    echo
    echo "################ $bench   (load: $(cut -d' ' -f1-3 /proc/loadavg))"
    case "$bench" in
        e2e | serve_rss)
            echo "---- $bench, baseline binary"
            cargo bench --locked -q --bench "$bench" -- "$@" --bin "$base_bin"
            echo "---- $bench, work tree binary"
            cargo bench --locked -q --bench "$bench" -- "$@" --bin "$new_bin"
            ;;
        *)
            echo "---- $bench, baseline"
            # Its simulator is its own tree's release binary (target/release/nbwatch).
            (cd "$tree" && cargo bench --locked -q --bench "$bench" -- "$@")
            echo "---- $bench, work tree"
            cargo bench --locked -q --bench "$bench" -- "$@"
            ;;
    esac
done
echo
echo "== load after: $(cut -d' ' -f1-3 /proc/loadavg)"
