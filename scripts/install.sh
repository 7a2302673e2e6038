#!/usr/bin/env bash
# Installs what synack's build and tests need on a Debian machine. Safe to
# run again: it only installs what is missing. Called by scripts/test.sh and
# .ci/run; without root it says what it could not install and carries on
# (the tests that need those tools then skip with a printed reason).
set -euo pipefail

log() { echo "install: $*" >&2; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
        sudo "$@"
    else
        return 1
    fi
}

# Debian packages: tshark and wireshark-common (dumpcap) for Wireshark's
# verdict on captures, tcpdump for capturing real Linux TCP on loopback,
# iproute2 (ip, ss, tc) for network namespaces and the interop suite,
# iperf3 for the kernel-TCP baseline of
# scripts/bench-compare.py.
apt_packages=(tshark wireshark-common tcpdump iproute2 iperf3)
missing=()
for pkg in "${apt_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    log "apt-get install ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    if ! { as_root apt-get update -qq && as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }; then
        log "could not install ${missing[*]} (need root); tests that use them will skip"
    fi
fi

# Rust components the CI checks use.
if command -v rustup >/dev/null; then
    for component in rustfmt clippy; do
        rustup component list --installed 2>/dev/null | grep -q "^$component" \
            || rustup component add "$component"
    done
fi
# cargo-fuzz for the fuzz targets in fuzz/ (fuzz/run.sh, fuzz/smoke.sh);
# it needs the nightly toolchain, so only where that is installed.
if cargo +nightly --version >/dev/null 2>&1 && ! command -v cargo-fuzz >/dev/null; then
    log "cargo install cargo-fuzz"
    cargo install --locked cargo-fuzz >/dev/null 2>&1 \
        || log "could not install cargo-fuzz; fuzz/smoke.sh will skip"
fi
# rust-src for scripts/release-check.sh's no_std build (core and alloc
# built from source for a bare-metal target).
if cargo +nightly --version >/dev/null 2>&1 \
    && ! rustup +nightly component list --installed 2>/dev/null | grep -q '^rust-src'; then
    log "rustup +nightly component add rust-src"
    rustup +nightly component add rust-src >/dev/null 2>&1 \
        || log "could not add rust-src; the no_std build in scripts/release-check.sh will fail"
fi
# Miri for scripts/miri.sh (the core's tests under the UB checker), also
# nightly only; `miri setup` builds its standard library once.
if cargo +nightly --version >/dev/null 2>&1 && ! cargo +nightly miri --version >/dev/null 2>&1; then
    log "rustup +nightly component add miri rust-src"
    rustup +nightly component add miri rust-src >/dev/null 2>&1 \
        || log "could not add the miri component; scripts/miri.sh will skip"
fi
if cargo +nightly miri --version >/dev/null 2>&1; then
    cargo +nightly miri setup >/dev/null 2>&1 \
        || log "cargo +nightly miri setup failed; scripts/miri.sh will report it"
fi
log "done"
