#!/usr/bin/env bash
# Runs every fuzz target for N seconds each (default 60) on the committed seed corpus and fails
# on any crash, leak, timeout or out-of-memory. Called by .ci/run.
# Usage: fuzz/run-ci.sh [SECONDS] [TARGET...]     (needs a nightly toolchain and cargo-fuzz)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"
here=$PWD
secs=${1:-60}
shift || true
if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    targets=(parse_image decode_records build_ops seek_schedule block_map)
fi

if ! command -v cargo-fuzz >/dev/null 2>&1; then
    echo "error: cargo-fuzz is not installed (cargo install cargo-fuzz)" >&2
    exit 1
fi

mkdir -p logs
cargo +nightly fuzz build
failed=()
for t in "${targets[@]}"; do
    # Fresh working corpus each run, seeded from the committed seeds.
    work=$(mktemp -d)
    echo "== fuzzing $t for ${secs}s"
    if cargo +nightly fuzz run "$t" "$work" "$here/seeds/$t" -- \
        -max_total_time="$secs" -dict="$here/dict/iso.dict" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 >"logs/$t.log" 2>&1; then
        grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|Done)|cov:' "logs/$t.log" |
            tail -n 4 || true
        echo "== $t: no crash"
    else
        tail -n 40 "logs/$t.log"
        echo "== $t: FAILED (see fuzz/logs/$t.log and fuzz/artifacts/$t/)"
        failed+=("$t")
    fi
    rm -rf "$work"
done

if [ "${#failed[@]}" -gt 0 ]; then
    echo "fuzz targets failed: ${failed[*]}"
    exit 1
fi
echo "all ${#targets[@]} fuzz targets ran ${secs}s without a crash"
