#!/usr/bin/env bash
# The alert pipeline of deploy/, run live (run by .ci/run after the promtool checks):
#   nbwatch sim -> nbwatch serve -> Prometheus with the SHIPPED rules
#   (deploy/prometheus/rules/nbwatch.yml, unchanged) -> Alertmanager with the shipped
#   routes (deploy/alertmanager/alertmanager.yml; differences below) -> a webhook
#   receiver, which must get a failed, a frozen, a stuck and an auto-stop-soon alert
#   carrying the instance's id, name and owner, and no secret. The Grafana
#   dashboard's every query must run on the live series and return data. A few seconds
#   of API failure must not resolve the alerts nor fail /healthz. Then, offline:
#   promtool check config, systemd-analyze verify on the unit, the compose file.
#
# Differences from the shipped deployment, so the run takes ~80 s rather than minutes:
#   - Prometheus scrapes and evaluates every 1 s (shipped: 30 s); the rules'
#     `for: 1m` is kept, so a failure takes a minute to alert, as it will for you;
#   - Alertmanager: group_wait 1s and group_interval 1s at the top route (shipped:
#     30s, 5m), webhook URLs pointing to the local receiver (shipped: 127.0.0.1:5001);
#   - nbwatch serve: --stuck-after 5 (default 600) and polls every second.
# Everything listens on 127.0.0.1 on free ports; every process is stopped on exit.
#
# Usage: scripts/alert_pipeline.sh [--shipped-timing] [path/to/nbwatch]
#   (default target/debug/nbwatch). --shipped-timing keeps the shipped intervals and
#   waits (2-4 minutes) to measure failure -> notification as a team gets it.
# Installs Debian's prometheus and prometheus-alertmanager packages (and python3)
# when missing. Exit 2 means they could not be had (no apt, no root, no network):
# the caller warns. Any failed check exits 1.
set -uo pipefail
cd "$(dirname "$0")/.."
timing=()
if [ "${1:-}" = --shipped-timing ]; then
    timing=(--shipped-timing)
    shift
fi
bin=${1:-target/debug/nbwatch}

have_all() {
    command -v python3 >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1 &&
        command -v promtool >/dev/null 2>&1 && command -v amtool >/dev/null 2>&1 &&
        { command -v prometheus-alertmanager >/dev/null 2>&1 || command -v alertmanager >/dev/null 2>&1; }
}

if ! have_all; then
    echo "installing Debian's prometheus, prometheus-alertmanager and python3 packages"
    sudo=()
    if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then
        sudo=(sudo -n)
    fi
    if command -v apt-get >/dev/null 2>&1; then
        "${sudo[@]}" apt-get update -qq >/dev/null 2>&1 || true
        DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq \
            prometheus prometheus-alertmanager python3 >/dev/null 2>&1 || true
    fi
    if ! have_all; then
        echo "Prometheus, Alertmanager or python3 could not be installed"
        exit 2
    fi
fi
prometheus --version 2>&1 | head -1
{ command -v prometheus-alertmanager >/dev/null 2>&1 && prometheus-alertmanager --version 2>&1 ||
    alertmanager --version 2>&1; } | head -1

# 0 or 1 only: 2 would read as "skipped".
python3 scripts/alert_pipeline.py "${timing[@]}" "$bin" || exit 1
