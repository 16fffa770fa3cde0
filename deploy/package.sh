#!/usr/bin/env bash
# Builds the .deb packages of shoko-agent and shoko-collector with cargo-deb (installed when
# missing) into target/debian/. SHOKO_DEB_PROFILE picks the cargo profile (default release; the
# package test uses the dev build it already has). Prints the paths of the packages built.
set -euo pipefail
cd "$(dirname "$0")/.."
profile=${SHOKO_DEB_PROFILE:-release}
command -v cargo-deb >/dev/null || cargo install cargo-deb --locked -q
# Test builds are packed with fast compression.
fast=$([ "$profile" = release ] || echo --fast)
# Both binaries in one build (one feature resolution, shared with the tests' builds), then packed.
cargo build --quiet --profile "$profile" -p shoko-agent -p shoko-collector --bins
for crate in shoko-agent shoko-collector; do
    # cargo-deb prints the path of the package it wrote.
    cargo deb -p "$crate" --profile "$profile" --no-build --quiet $fast | tail -n 1
done
