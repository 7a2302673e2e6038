#!/usr/bin/env bash
# The test command: installs what the tests need (once), then runs every
# test in the workspace. Tests that need root, tshark or tcpdump run when
# those are present and otherwise print why they skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
cargo test --workspace "$@"
