#!/usr/bin/env bash
# End-to-end benchmarks of nbwatch (see BENCHMARKS.md):
#   - full refresh of 10,000 instances at 50 ms latency: concurrency 8 against
#     sequential paging and against the floor (benches/refresh.rs);
#   - first paint of --demo, idle CPU and memory of the dashboard in a PTY
#     against `nbwatch sim` in another process (benches/e2e.rs).
#
# Usage: scripts/bench_e2e.sh [--quick] [-- extra args for both benches]
#   --quick   CI smoke mode: tiny populations, one run, 3 s windows, in-process
#             simulator for the refresh; uses target/debug/nbwatch when no release
#             binary is built. Proves the harness works; its numbers mean nothing.
# Linux only (/proc). The machine's load changes the numbers: it is printed
# before and after; compare ratios within one run.
set -euo pipefail
cd "$(dirname "$0")/.."

args=()
if [ "${1:-}" = "--quick" ]; then
    args+=(--quick)
    shift
fi
if [ "${1:-}" = "--" ]; then
    shift
fi
args+=("$@")

echo "== load before: $(uptime)"
if [[ " ${args[*]-} " != *" --quick "* ]]; then
    cargo build --release --locked --bin nbwatch
fi
echo "== full refresh"
cargo bench --locked --bench refresh -- ${args[@]+"${args[@]}"}
echo "== first paint, idle CPU, memory"
cargo bench --locked --bench e2e -- ${args[@]+"${args[@]}"}
echo "== load after: $(uptime)"
