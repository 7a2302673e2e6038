#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 30), one after the other.
#
#   fuzz/smoke.sh [SECONDS]
#
# Needs the nightly toolchain and cargo-fuzz; without them it says why it
# skips and exits 0, so it can sit in scripts that run where they are
# missing. Exits non-zero if any target finds a crash.
set -uo pipefail
cd "$(dirname "$0")"
seconds=${1:-30}

if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "smoke.sh: skipped: the nightly toolchain is not installed (rustup toolchain install nightly)"
    exit 0
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "smoke.sh: skipped: cargo-fuzz is not installed (cargo install cargo-fuzz)"
    exit 0
fi

failed=()
summary=()
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for path in fuzz_targets/*.rs; do
    target=$(basename "$path" .rs)
    echo "=== $target (${seconds}s)"
    bash run.sh "$target" "$seconds" 2>&1 | tee "$log"
    [ "${PIPESTATUS[0]}" -eq 0 ] || failed+=("$target")
    summary+=("$(grep '^run.sh: .*executions' "$log" | sed 's/^run.sh: //')")
done
echo "=== summary"
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
    echo "smoke.sh: FAILED: ${failed[*]}"
    exit 1
fi
echo "smoke.sh: every target ran ${seconds}s without a crash"
