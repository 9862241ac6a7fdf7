#!/usr/bin/env bash
# Build the fuzz targets and run each for SECONDS (default 60) on seeds made from
# ../shared/data plus the corpus grown so far (fuzz/corpus, not committed).
#
#   bash fuzz/run.sh [SECONDS] [TARGET...]
#
# libFuzzer through libfuzzer-sys, on the stable toolchain: the coverage
# instrumentation cargo-fuzz adds is all stable `-C` flags; only its AddressSanitizer
# mode needs nightly, and the targets' code is safe Rust (the unsafe parts, the
# memory maps and byte casts, are bounds-checked and covered by the panics they
# would give). A crash stops the run, leaves the input in fuzz/artifacts/TARGET/
# and fails the script.
set -euo pipefail
cd "$(dirname "$0")"
SECONDS_EACH="${1:-60}"
shift || true
TARGETS=("${@:-parse text_loaders mrt database mmdb mmdb_write}")
TARGETS=(${TARGETS[*]})
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
 -Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
 -Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions -Coverflow-checks"
# With an explicit target the flags reach the targets' code, not build scripts.
TRIPLE="$(rustc -vV | sed -n 's/^host: //p')"
cargo build --quiet --release --bins --target "$TRIPLE"
SEEDS="$(mktemp -d)"
trap 'rm -rf "$SEEDS"' EXIT
"${PYTHON:-python3}" seeds.py "$SEEDS"
export GEOIP_RS_FUZZ_DATABASES="$SEEDS/databases"
status=0
for t in "${TARGETS[@]}"; do
    mkdir -p "corpus/$t" "artifacts/$t"
    log="$SEEDS/$t.log"
    rc=0
    dict=()
    [ -f "dicts/$t.dict" ] && dict=(-dict="dicts/$t.dict")
    "target/$TRIPLE/release/$t" "corpus/$t" "$SEEDS/$t" -max_total_time="$SECONDS_EACH" \
        -max_len=65536 -rss_limit_mb=1024 -timeout=10 -print_final_stats=1 \
        "${dict[@]}" -artifact_prefix="artifacts/$t/" >"$log" 2>&1 || rc=$?
    runs=$(grep -oE "stat::number_of_executed_units: *[0-9]+" "$log" | grep -oE "[0-9]+$" || echo "?")
    edges=$(grep -oE "cov: [0-9]+" "$log" | tail -1 | grep -oE "[0-9]+" || echo "?")
    echo "fuzz $t: ${SECONDS_EACH}s, $runs runs, $edges edges, exit $rc" >&2
    if [ "$rc" -ne 0 ]; then
        grep -E -A30 "panicked|ERROR: libFuzzer|SUMMARY" "$log" | head -60 >&2
        status=1
    fi
done
exit "$status"
