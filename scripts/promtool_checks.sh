#!/usr/bin/env bash
# Prometheus' own checks of what nbwatch ships (run by .ci/run):
#   - promtool check rules + promtool test rules on deploy/prometheus/rules/;
#   - promtool check metrics on live /metrics in the classic format, from
#     `nbwatch serve` polling `nbwatch sim`;
#   - amtool check-config on the Alertmanager example, when amtool is installed.
#
# Usage: scripts/promtool_checks.sh [path/to/nbwatch]   (default target/debug/nbwatch)
# Installs Debian's `prometheus` package when promtool is missing. Exit 2 means
# promtool could not be had (no apt, no root, no network): the caller warns.
# Any failed check exits 1. Needs bash (for /dev/tcp), nothing else: no curl.
set -uo pipefail
trap 'exit 1' ERR
cd "$(dirname "$0")/.."
bin=${1:-target/debug/nbwatch}

if ! command -v promtool >/dev/null 2>&1; then
    echo "promtool is missing: installing Debian's prometheus package"
    sudo=()
    if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then
        sudo=(sudo -n)
    fi
    if command -v apt-get >/dev/null 2>&1; then
        "${sudo[@]}" apt-get update -qq >/dev/null 2>&1 || true
        DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq prometheus >/dev/null 2>&1 || true
    fi
    if ! command -v promtool >/dev/null 2>&1; then
        echo "promtool could not be installed"
        exit 2
    fi
fi
promtool --version 2>&1 | head -1

# A failed check exits 1 whatever the tool's own code (2 would read as "skipped").
check() {
    "$@" || { echo "FAILED: $*" >&2; exit 1; }
}

echo "-- promtool check rules, promtool test rules"
check promtool check rules deploy/prometheus/rules/nbwatch.yml
check promtool test rules deploy/prometheus/rules/nbwatch.test.yml

if command -v amtool >/dev/null 2>&1; then
    echo "-- amtool check-config"
    check amtool check-config deploy/alertmanager/alertmanager.yml
else
    echo "(amtool not installed: the Alertmanager example is not checked)"
fi

echo "-- promtool check metrics on live classic output"
tmp=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT

# Waits up to 30 s for a line matching $2 in file $1; prints the line.
wait_line() {
    for _ in $(seq 300); do
        if grep -m1 "$2" "$1" 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    echo "timed out waiting for '$2' in $1:" >&2
    cat "$1" >&2
    return 1
}

# GET http://$1$2 with Accept $3; the whole response (headers, blank line, body) on stdout.
http_get() {
    local host=${1%:*} port=${1##*:}
    exec 3<>"/dev/tcp/$host/$port"
    printf 'GET %s HTTP/1.0\r\nHost: %s\r\nAccept: %s\r\nConnection: close\r\n\r\n' "$2" "$1" "$3" >&3
    cat <&3
    exec 3<&-
}

HOME="$tmp" "$bin" sim --listen 127.0.0.1:0 --instances 300 --seed 7 >"$tmp/sim.out" 2>&1 &
pids+=($!)
sim_url=$(wait_line "$tmp/sim.out" "ModelArts simulator on" | sed -E 's/.* on (http:[^ ]+).*/\1/')

HOME="$tmp" HUAWEICLOUD_SDK_AK=NBWATCHSIMDEMOAK0001 \
    HUAWEICLOUD_SDK_SK=nbwatchSimulatorDemoSecretKey00000000000 \
    "$bin" serve --endpoint "$sim_url" --project-id 5e1f0c0a2b3d4e5f60718293a4b5c6d7 \
    --listen 127.0.0.1:0 --log-file "$tmp/serve.log" >"$tmp/serve.out" 2>&1 &
pids+=($!)
addr=$(wait_line "$tmp/serve.out" "listening on" | sed -E 's|.*listening on http://([^ ]+) .*|\1|')

healthy=no
for _ in $(seq 300); do
    if http_get "$addr" /healthz '*/*' 2>/dev/null | head -1 | grep -q ' 200 '; then
        healthy=yes
        break
    fi
    sleep 0.1
done
if [ "$healthy" != yes ]; then
    echo "nbwatch serve did not become healthy:" >&2
    http_get "$addr" /healthz '*/*' >&2 || true
    exit 1
fi

http_get "$addr" /metrics 'text/plain;version=0.0.4' >"$tmp/resp"
if ! grep -qi '^content-type: text/plain; version=0.0.4' "$tmp/resp"; then
    echo "/metrics did not answer in the classic format:" >&2
    head -5 "$tmp/resp" >&2
    exit 1
fi
sed '1,/^\r$/d' "$tmp/resp" >"$tmp/metrics.txt"
echo "$(grep -c '^modelarts_notebook_info{' "$tmp/metrics.txt") instances, $(wc -c <"$tmp/metrics.txt") bytes"
check promtool check metrics <"$tmp/metrics.txt"
echo "promtool accepts the metrics and the rules"
