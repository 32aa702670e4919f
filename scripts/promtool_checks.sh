#!/usr/bin/env bash
# Prometheus' own checks of what nbwatch ships (run by .ci/run):
#   - promtool check rules + promtool test rules on deploy/prometheus/rules/, with
#     the series of both --status-series modes (nbwatch.test.yml: all,
#     nbwatch.current.test.yml: current);
#   - promtool check metrics on live /metrics in the classic format, from
#     `nbwatch serve` polling `nbwatch sim`, with each --status-series, and the
#     gzip body (as Prometheus asks for it) decoded equal to the plain one;
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
check promtool test rules deploy/prometheus/rules/nbwatch.test.yml \
    deploy/prometheus/rules/nbwatch.current.test.yml

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

# Checks the live metrics of `nbwatch serve --status-series $1`.
check_live() {
    local mode=$1 out="$tmp/serve-$1"
    HOME="$tmp" HUAWEICLOUD_SDK_AK=NBWATCHSIMDEMOAK0001 \
        HUAWEICLOUD_SDK_SK=nbwatchSimulatorDemoSecretKey00000000000 \
        "$bin" serve --endpoint "$sim_url" --project-id 5e1f0c0a2b3d4e5f60718293a4b5c6d7 \
        --listen 127.0.0.1:0 --log-file "$out.log" --status-series "$mode" >"$out.out" 2>&1 &
    pids+=($!)
    local addr
    addr=$(wait_line "$out.out" "listening on" | sed -E 's|.*listening on http://([^ ]+) .*|\1|')

    local healthy=no
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

    http_get "$addr" /metrics 'text/plain;version=0.0.4' >"$out.resp"
    if ! grep -qi '^content-type: text/plain; version=0.0.4' "$out.resp"; then
        echo "/metrics did not answer in the classic format:" >&2
        head -5 "$out.resp" >&2
        exit 1
    fi
    sed '1,/^\r$/d' "$out.resp" >"$out.txt"
    local n statuses
    n=$(grep -c '^modelarts_notebook_info{' "$out.txt")
    statuses=$(grep -c '^modelarts_notebook_status{' "$out.txt")
    echo "--status-series $mode: $n instances, $statuses status series, $(wc -c <"$out.txt") bytes"
    case $mode in
        current) [ "$statuses" -eq "$n" ] || { echo "FAILED: one status series per instance" >&2; exit 1; } ;;
        all) [ "$statuses" -ge $((n * 14)) ] || { echo "FAILED: 14 status series per instance" >&2; exit 1; } ;;
    esac
    check promtool check metrics <"$out.txt"
    # What Prometheus gets: gzip, decoded equal to the plain text (the exporter's
    # own counters may move between the two scrapes: only the instance lines).
    if command -v gzip >/dev/null 2>&1; then
        http_get_gzip "$addr" /metrics >"$out.gz.resp"
        sed '1,/^\r$/d' "$out.gz.resp" | gzip -dc >"$out.gz.txt"
        if ! diff <(grep '^modelarts_' "$out.txt") <(grep '^modelarts_' "$out.gz.txt") >/dev/null; then
            echo "FAILED: the gzip body decodes to other instance lines than the plain one" >&2
            exit 1
        fi
    fi
}

# GET http://$1$2 as Prometheus asks (classic format, gzip).
http_get_gzip() {
    local host=${1%:*} port=${1##*:}
    exec 3<>"/dev/tcp/$host/$port"
    printf 'GET %s HTTP/1.0\r\nHost: %s\r\nAccept: text/plain;version=0.0.4\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n' "$2" "$1" >&3
    cat <&3
    exec 3<&-
}

check_live current
check_live all
echo "promtool accepts the metrics and the rules"
