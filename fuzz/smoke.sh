#!/usr/bin/env bash
# A short fuzz smoke for CI: every target for a few seconds on its seeds (a fresh copy, so
# nothing is written to fuzz/corpus). Skips, with a line saying so, when `cargo +nightly
# fuzz` is not available. Under 60 s once fuzz/target is built (the first build of the
# fuzz crate takes minutes).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  echo "fuzz smoke: skipped (cargo +nightly fuzz is not available; cargo install cargo-fuzz --locked)"
  exit 0
fi
secs=${FUZZ_SMOKE_SECONDS:-5}
cd "$here"
cargo +nightly fuzz build -s none -a
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
CORPUS="$tmp/seeds" ./seed.sh >/dev/null
for t in json_reader xml_reader register router replication_batch delta_merge; do
  mkdir -p "$tmp/artifacts/$t"
  if ! cargo +nightly fuzz run -s none -a "$t" "$tmp/seeds/$t" -- -max_total_time="$secs" \
      -timeout=10 -artifact_prefix="$tmp/artifacts/$t/" >"$tmp/$t.log" 2>&1; then
    tail -n 40 "$tmp/$t.log"
    echo "fuzz smoke: $t failed; the input is in the log above"
    exit 1
  fi
  echo "fuzz smoke: $t ok ($(grep -o 'Done [0-9]* runs' "$tmp/$t.log"))"
done
