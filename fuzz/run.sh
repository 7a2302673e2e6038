#!/usr/bin/env bash
# Runs one fuzz target for a while on its corpus and prints what it did.
#
#   fuzz/run.sh TARGET SECONDS [libFuzzer options...]
#
# Uses the nightly toolchain and cargo-fuzz (cargo install cargo-fuzz).
# The core is safe Rust (#![forbid(unsafe_code)]), so the build uses no
# sanitizer (--sanitizer none): several times the executions per second,
# with overflow checks and debug assertions still on. One process, one
# core. New corpus entries go to fuzz/corpus/TARGET (only seed-* files are
# committed); a crash leaves its input in fuzz/artifacts/TARGET/.
set -euo pipefail
cd "$(dirname "$0")"

if [ $# -lt 2 ]; then
    echo "usage: $0 TARGET SECONDS [libFuzzer options...]" >&2
    echo "targets: $(ls fuzz_targets | sed 's/\.rs$//' | tr '\n' ' ')" >&2
    exit 2
fi
target=$1
seconds=$2
shift 2
if [ ! -f "fuzz_targets/$target.rs" ]; then
    echo "run.sh: no target '$target' in fuzz/fuzz_targets" >&2
    exit 2
fi

options=(-max_total_time="$seconds" -print_final_stats=1)
case "$target" in
    wire_*) options+=(-dict=tcp.dict) ;;
esac
mkdir -p "corpus/$target"

log=$(mktemp)
trap 'rm -f "$log"' EXIT
# Progress lines and, on a crash, the panic message and the input's path.
set +e
cargo +nightly fuzz run --sanitizer none "$target" "corpus/$target" -- \
    "${options[@]}" "$@" 2>&1 | tee "$log" | grep --line-buffered -E -A2 \
    '^(INFO: seed|#[0-9]+[[:space:]]+(INITED|DONE|pulse))|panicked|SUMMARY|^Done|Test unit written'
status=${PIPESTATUS[0]}
set -e

# libFuzzer's last status line: "#N DONE cov: C ft: F corp: K/B ... exec/s: E".
last=$(grep -E '^#[0-9]+' "$log" | tail -n 1 || true)
execs=$(grep -oE '^stat::number_of_executed_units: [0-9]+' "$log" | awk '{print $2}' || true)
[ -n "$execs" ] || execs=$(printf '%s\n' "$last" | grep -oE '^#[0-9]+' | tr -d '#')
cov=$(printf '%s\n' "$last" | grep -oE 'cov: [0-9]+' | awk '{print $2}')
ft=$(printf '%s\n' "$last" | grep -oE 'ft: [0-9]+' | awk '{print $2}')
corp=$(printf '%s\n' "$last" | grep -oE 'corp: [0-9]+/[0-9A-Za-z]+' | awk '{print $2}')
rate=$(printf '%s\n' "$last" | grep -oE 'exec/s: [0-9]+' | awk '{print $2}')
echo "run.sh: $target: ${execs:-?} executions (${rate:-?} exec/s; at most ${seconds}s), cov: ${cov:-?}, features: ${ft:-?}, corpus: ${corp:-?}"
if [ "$status" -ne 0 ]; then
    echo "run.sh: $target FAILED (exit $status); the input is in fuzz/artifacts/$target/" >&2
fi
exit "$status"
