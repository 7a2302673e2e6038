#!/usr/bin/env bash
# The test command: installs what the tests need (once), then runs every
# test in the workspace. Tests that need root, tshark or tcpdump run when
# those are present and otherwise print why they skipped (under CI=true
# the kernel interop suite fails instead of skipping).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
cargo test --workspace --exclude synack-interop "$@"
# The Linux interop suite (synack against the kernel's TCP over TUN
# devices in private network namespaces, tshark's verdict on every
# capture), timed on its own.
start=$(date +%s)
cargo test -p synack-interop "$@"
echo "interop suite: $(( $(date +%s) - start ))s"
