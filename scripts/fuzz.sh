#!/usr/bin/env bash
# Fuzzes what evgrid reads from outside (fuzz/: T/CEC envelopes and Data, OCPP-J frames and
# payloads, station files, tariffs and opening hours): first every input that once crashed
# (fuzz/regressions/TARGET/, must pass), then each target for RUNS inputs at most (default
# 200000) and SECONDS at most (default 15), from its seeds (fuzz/seeds/TARGET/), with a fixed
# seed so that a run is repeatable. A crash fails the script and leaves its input in
# fuzz/artifacts/TARGET/.
#   bash scripts/fuzz.sh                 the short run of the test command
#   bash scripts/fuzz.sh 0 600           a longer local run: 10 minutes a target, no run bound
# Built with cargo-fuzz when it is installed (cargo install cargo-fuzz), else with the same
# instrumentation through plain cargo (stable Rust: no sanitizer; overflow and debug checks on).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-200000}
seconds=${2:-15}
targets=(tcec_envelope ocpp_frame station_files tariff_hours)
triple=$(rustc -vV | sed -n 's/^host: //p')

if cargo fuzz --version >/dev/null 2>&1; then
  cargo fuzz build --sanitizer none -O
else
  (cd fuzz && RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing \
-Cllvm-args=-simplifycfg-branch-fold-threshold=0 -Cllvm-args=-sanitizer-coverage-stack-depth \
-Cdebug-assertions=on -Ccodegen-units=1" \
    cargo build --release --locked --target "$triple")
fi
bin="fuzz/target/$triple/release"

for t in "${targets[@]}"; do
  mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t"
  if compgen -G "fuzz/regressions/$t/*" >/dev/null; then
    echo "==> $t: regressions"
    "$bin/$t" -artifact_prefix="fuzz/artifacts/$t/" fuzz/regressions/"$t"/* 2>&1 | tail -n 2
  fi
  echo "==> $t: at most $runs inputs in $seconds s"
  bound=(-max_total_time="$seconds")
  [ "$runs" != 0 ] && bound+=(-runs="$runs")
  log="fuzz/artifacts/$t/last-run.log"
  status=0
  "$bin/$t" -seed=1 "${bound[@]}" -rss_limit_mb=2048 -max_len=65536 -timeout=10 \
    -artifact_prefix="fuzz/artifacts/$t/" -print_final_stats=1 \
    "fuzz/corpus/$t" "fuzz/seeds/$t" >"$log" 2>&1 || status=$?
  grep -E "^(Done|stat::number_of_executed_units|INFO: seed corpus)" "$log" || true
  if [ "$status" != 0 ]; then
    grep -E "panicked|ERROR|Test unit written|^ +[0-9]+: |at \./crates" "$log" | head -n 30 >&2
    echo "fuzz: $t crashed (exit $status); the input is in fuzz/artifacts/$t/, the log in $log" >&2
    exit 1
  fi
done
echo "fuzz: every target ran clean"
