#!/usr/bin/env bash
# Runs synack-core's tests under Miri, the interpreter that checks each
# step of a program for undefined behaviour, leaks and out-of-bounds
# accesses. The core forbids unsafe code, so what Miri can find is in the
# unsafe code it calls: siphasher, alloc and core.
#
#   scripts/miri.sh            every test: unit tests and fuzz regressions
#                              (298 tests, ~10 min on a busy 2-core machine)
#   scripts/miri.sh --quick    without the connection-pair scenarios in
#                              conn/tests/ (242 tests, ~6 min; what .ci/run runs)
#   scripts/miri.sh ... -- FILTER   only the tests whose names match
#
# Needs the nightly toolchain with the miri component (scripts/install.sh
# adds it); without it, it says why it skips and exits 0. Prints the
# wall time and the passed/failed/ignored counts at the end.
#
# Miri is a thousand and more times slower than a native debug build, so
# the tests scale their bulk transfers and long loops down under
# `cfg!(miri)`; natively they run in full. Isolation stays on: the core
# has no clock and no I/O, and quickcheck's seed comes from Miri's own
# deterministic getrandom, so a run is reproducible (-Zmiri-seed=N in
# MIRIFLAGS picks other cases). Isolation also hides the host's
# environment, so QUICKCHECK_TESTS and QUICKCHECK_GENERATOR_SIZE are set
# inside the interpreter with -Zmiri-env-set: 1 case per property
# (QUICKCHECK_TESTS=N here asks for N) of up to 20 elements, against 100
# cases of up to 100 natively; enough to drive each property's code
# through the checks, the properties themselves are the native runs' job.
#
# The data race detector is off (-Zmiri-disable-data-race-detector, a
# quarter of the time): the core is single-threaded, shares nothing and
# uses no atomics; the only other thread is libtest's, one test at a time.
# Stacked Borrows, validity and leak checks stay on.
#
# --quick leaves out conn::tests: two Connections over an in-memory wire.
# Under Miri they spend their time checksumming and copying bytes in safe
# code, and the endpoint tests, which stay, drive the same Connection code
# together with the SipHash-keyed tables and SYN cookies.
set -uo pipefail
cd "$(dirname "$0")/.."

if ! cargo +nightly miri --version >/dev/null 2>&1; then
    echo "miri.sh: skipped: cargo +nightly miri is not available (rustup +nightly component add miri rust-src)"
    exit 0
fi

skip=()
if [ "${1:-}" = "--quick" ]; then
    skip=(--skip conn::tests::)
    shift
fi
# Test-binary arguments go after `--`; add the skip there.
args=("$@")
if [ ${#skip[@]} -gt 0 ]; then
    case " ${args[*]} " in
    *" -- "*) args+=("${skip[@]}") ;;
    *) args+=(-- "${skip[@]}") ;;
    esac
fi

export MIRIFLAGS="-Zmiri-disable-data-race-detector -Zmiri-env-set=QUICKCHECK_TESTS=${QUICKCHECK_TESTS:-1} -Zmiri-env-set=QUICKCHECK_GENERATOR_SIZE=20 ${MIRIFLAGS:-}"

log=$(mktemp)
trap 'rm -f "$log"' EXIT
start=$(date +%s)
cargo +nightly miri test -p synack-core "${args[@]}" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
took=$(($(date +%s) - start))

# Sum the "test result:" lines of every test binary.
read -r passed failed ignored filtered < <(awk '/^test result:/ {
    for (i = 2; i <= NF; i++) {
        if ($i ~ /^(passed|failed|ignored);$/) { n[$i] += $(i - 1) }
        if ($i == "filtered") { n["filtered"] += $(i - 1) }
    }
} END { printf "%d %d %d %d\n", n["passed;"], n["failed;"], n["ignored;"], n["filtered"] }' "$log")
echo "miri.sh: ${passed} passed, ${failed} failed, ${ignored} ignored (${filtered} filtered out) under Miri in ${took}s (exit ${status})"
exit "$status"
