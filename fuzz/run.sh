#!/usr/bin/env bash
# Coverage-guided fuzzing of Steadfast's parsers and import path with cargo-fuzz (libFuzzer).
# Usage: fuzz/run.sh [SECONDS_PER_TARGET]   (default 60)
# Seeds each target's corpus from the shipped data and the CLI test fixtures, then runs every
# target. Needs cargo-fuzz (`cargo install cargo-fuzz`); works on the stable toolchain through
# RUSTC_BOOTSTRAP with sanitizers off (this machine cannot fetch a nightly toolchain).
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-60}"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
mkdir -p corpus/contributions_csv corpus/import_dry_run corpus/registry_csv corpus/ecb_rates \
  corpus/frameworks_toml corpus/tracker_csv
cp ../data/contributions-2024.csv ../crates/steadfast-cli/tests/fixtures/*.csv corpus/contributions_csv/
cp ../data/contributions-2024.csv ../crates/steadfast-cli/tests/fixtures/*.csv corpus/import_dry_run/
cp ../data/parties.csv ../data/memberships.csv corpus/registry_csv/
# The ECB history is 1.9 MB: seed with its head (inputs are capped at 4 KiB anyway).
head -n 30 ../data/ecb-eurofxref-hist.csv > corpus/ecb_rates/ecb-eurofxref-hist-head.csv
cp ../data/gdp-worldbank.csv corpus/ecb_rates/
cp ../data/frameworks.toml corpus/frameworks_toml/
# data_explorer.csv is 100 KB: seed with its head; the small files whole.
head -n 40 ../data/kiel-ust-r29/data_explorer.csv > corpus/tracker_csv/data_explorer-head.csv
cp ../data/kiel-ust-r29/release_info.csv ../data/kiel-ust-r29/weapons.csv corpus/tracker_csv/
for target in contributions_csv registry_csv import_dry_run ecb_rates frameworks_toml tracker_csv; do
  RUSTC_BOOTSTRAP=1 cargo fuzz run --sanitizer none --release "$target" -- \
    -max_total_time="$seconds" -max_len=4096
done
