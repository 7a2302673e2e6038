#!/usr/bin/env bash
# What a first release needs besides passing tests; .ci/run runs it.
#
#   1. The docs build with every rustdoc warning an error (broken links,
#      missing docs on public items).
#   2. Every publishable crate packages and builds from its package alone
#      (`cargo publish --dry-run --workspace`: the crates are checked
#      against each other's packaged versions, nothing is uploaded).
#   3. synack-core builds for a bare-metal target with no `std`
#      (thumbv7em-none-eabihf, core and alloc built from source): the
#      crate's `#![no_std]` is checked, not just declared. Needs nightly
#      with rust-src (scripts/install.sh adds both); without nightly it
#      says why it skips, except under CI, where that fails.
set -euo pipefail
cd "$(dirname "$0")/.."

in_ci() { [ -n "${CI:-}" ] && [ "${CI}" != "false" ] && [ "${CI}" != "0" ]; }

echo "release-check: cargo doc (warnings are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --workspace --quiet

echo "release-check: cargo publish --dry-run --workspace"
# The dry run unpacks our own packaged crates into cargo's source cache,
# keyed by the path of its temporary registry, and reuses an unpacking
# left by an earlier run from the same path: clear ours so the crates are
# checked as they are now.
rm -rf "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/synack-*
status=0
out=$(cargo publish --dry-run --workspace --quiet 2>&1) || status=$?
printf '%s\n' "$out" | grep -v -e 'aborting upload due to dry run' -e '^\s*$' || true
if [ "$status" -ne 0 ]; then
    echo "release-check: cargo publish --dry-run failed" >&2
    exit 1
fi

echo "release-check: synack-core for thumbv7em-none-eabihf (no std)"
if ! cargo +nightly --version >/dev/null 2>&1; then
    if in_ci; then
        echo "release-check: no nightly toolchain under CI (scripts/install.sh should have it)" >&2
        exit 1
    fi
    echo "release-check: skipped the no_std build: no nightly toolchain" >&2
    exit 0
fi
cargo +nightly build --quiet -Z build-std=core,alloc \
    --target thumbv7em-none-eabihf -p synack-core
echo "release-check: passed"
