#!/usr/bin/env bash
# nbwatch against the official Huawei Cloud Python SDK (huaweicloudsdkcore /
# huaweicloudsdkmodelarts): the SDK's signer checks nbwatch's requests, the SDK's
# client checks `nbwatch sim`.
#
#   tests/sdk/run_all.sh [path/to/nbwatch]      (default: target/release/nbwatch)
#
# Needs python3 with venv; the network only for `pip install` from PyPI (once: the
# venv is reused), then loopback only. Every wait is bounded. Exit 0 iff all passed.
# Env: SDKCHECK_VENV (venv dir, default ${TMPDIR:-/tmp}/nbwatch-sdkcheck-venv),
#      SDKCHECK_STEP_TIMEOUT (seconds per step, default 600), SDKCHECK_ECHO=1 (show
#      the gateway's / simulator's stderr).
set -uo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bin="${1:-$root/target/release/nbwatch}"
case "$bin" in /*) ;; *) bin="$PWD/$bin" ;; esac
venv="${SDKCHECK_VENV:-${TMPDIR:-/tmp}/nbwatch-sdkcheck-venv}"
step_timeout="${SDKCHECK_STEP_TIMEOUT:-600}"

current=""
cleanup() {
    # The step running now (a `timeout` wrapper; the Python checks stop their own
    # gateway/simulator children on SIGTERM).
    if [ -n "$current" ] && kill -0 "$current" 2>/dev/null; then
        kill -TERM "$current" 2>/dev/null
        for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$current" 2>/dev/null || break; sleep 0.5; done
        kill -KILL "$current" 2>/dev/null
    fi
}
trap cleanup EXIT
trap 'echo "run_all: interrupted" >&2; exit 130' INT TERM

say() { printf '\n### %s\n' "$*"; }

say "python venv with the official SDK ($venv)"
if [ ! -x "$venv/bin/python" ]; then
    timeout 120 python3 -m venv "$venv" || { echo "run_all: cannot create a venv (python3 -m venv)" >&2; exit 2; }
fi
if ! timeout 900 "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"; then
    echo "run_all: pip install -r tests/sdk/requirements.txt failed" >&2
    exit 2
fi
py="$venv/bin/python"
"$py" -c 'import huaweicloudsdkcore, huaweicloudsdkmodelarts' || exit 2
"$venv/bin/pip" show huaweicloudsdkcore huaweicloudsdkmodelarts 2>/dev/null | grep -E '^(Name|Version)' | paste - -

say "nbwatch binary $bin"
if [ ! -x "$bin" ]; then
    echo "run_all: no nbwatch binary at $bin (build it, or pass its path)" >&2
    exit 2
fi
for sub in list sim; do
    if ! timeout 20 "$bin" "$sub" --help >/dev/null 2>&1; then
        echo "run_all: $bin has no working \`$sub\` subcommand" >&2
        exit 2
    fi
done

# Loopback only from here on: no proxy may capture 127.0.0.1.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
export PYTHONDONTWRITEBYTECODE=1

names=()
results=()
times=()
run_step() {
    local name="$1"; shift
    say "$name"
    local t0=$SECONDS
    timeout -k 15 "$step_timeout" "$@" &
    current=$!
    wait "$current"
    local rc=$?
    current=""
    names+=("$name")
    times+=("$((SECONDS - t0))s")
    if [ "$rc" -eq 0 ]; then results+=("PASS")
    elif [ "$rc" -eq 124 ]; then results+=("FAIL (timed out after ${step_timeout}s)")
    else results+=("FAIL (exit $rc)"); fi
}

run_step "gateway unit tests (SDK-signed requests, sign_vectors.json)" \
    env SIGN_VECTORS="$root/tests/data/sign_vectors.json" "$py" -m unittest -q "$here/test_gateway.py"
run_step "(a) nbwatch list via the SDK-verifying gateway, fixture pages" \
    "$py" "$here/check_nbwatch_via_gateway.py" --nbwatch "$bin" --mode fixture
run_step "(a) nbwatch list via the SDK-verifying gateway in front of nbwatch sim" \
    "$py" "$here/check_nbwatch_via_gateway.py" --nbwatch "$bin" --mode sim
run_step "(b) the official SDK client against nbwatch sim --instances 237 --seed 7" \
    "$py" "$here/check_sdk_against_sim.py" --nbwatch "$bin" --instances 237 --seed 7

say "summary"
failed=0
for i in "${!names[@]}"; do
    printf '  %-6s %-78s %s\n' "${results[$i]%% *}" "${names[$i]}" "${times[$i]}"
    case "${results[$i]}" in PASS) ;; *) failed=1; printf '         %s\n' "${results[$i]}" ;; esac
done
if [ "$failed" -eq 0 ]; then
    echo "tests/sdk: all ${#names[@]} steps passed"
else
    echo "tests/sdk: FAILED"
fi
exit "$failed"
