#!/usr/bin/env bash
# Fuzz smoke: every cargo-fuzz target of fuzz/ for CERTVIGIL_FUZZ_SECONDS seconds
# (default 20) from the seed corpora of fuzz/gen-corpus.sh, with the memory and
# time bounds of docs/reliability.md. Needs a nightly toolchain and cargo-fuzz;
# without them it says so loudly and exits 0 (unless CERTVIGIL_REQUIRE_FUZZ=1).
# A crash, leak of key material, timeout or limit breach fails the run (exit 1)
# and leaves the reproducer in fuzz/artifacts/<target>/.
#
# Usage: fuzz/smoke.sh [target ...]      (all targets when none is named)
set -euo pipefail
cd "$(dirname "$0")/.."

secs="${CERTVIGIL_FUZZ_SECONDS:-20}"
skip() {
  if [ "${CERTVIGIL_REQUIRE_FUZZ:-0}" = "1" ]; then
    echo "error: fuzz smoke required but $1" >&2
    exit 1
  fi
  echo "SKIP fuzz smoke: $1 (install: rustup toolchain install nightly && cargo install cargo-fuzz)" >&2
  exit 0
}
command -v rustup >/dev/null 2>&1 || skip "rustup not installed"
rustup toolchain list | grep -q '^nightly' || skip "no nightly toolchain"
cargo +nightly fuzz --version >/dev/null 2>&1 || skip "cargo-fuzz not installed"

bash fuzz/gen-corpus.sh >/dev/null
if [ "$#" -gt 0 ]; then targets=("$@"); else mapfile -t targets < <(cargo +nightly fuzz list); fi

# One build of every target (the dependencies are compiled once, with sanitizers).
cargo +nightly fuzz build -O >/dev/null

# Bounds: 10 s per input, 512 MiB per single allocation, 2 GiB resident.
flags=(-max_total_time="$secs" -timeout=10 -malloc_limit_mb=512 -rss_limit_mb=2048 -print_final_stats=1)
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
failed=()
printf '%-13s %12s %8s %8s %s\n' target executions cov ft result
for t in "${targets[@]}"; do
  if cargo +nightly fuzz run -O "$t" -- "${flags[@]}" >"$log" 2>&1; then res=ok; else res=FAILED; failed+=("$t"); fi
  execs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')"
  last="$(grep -E '^#[0-9]+' "$log" | tail -1)"
  cov="$(grep -o 'cov: [0-9]*' <<<"$last" | grep -o '[0-9]*' || echo '?')"
  ft="$(grep -o 'ft: [0-9]*' <<<"$last" | grep -o '[0-9]*' || echo '?')"
  printf '%-13s %12s %8s %8s %s\n' "$t" "$execs" "$cov" "$ft" "$res"
  if [ "$res" = FAILED ]; then
    grep -E 'panicked|ERROR|SUMMARY|Test unit written|==[0-9]+==' "$log" | head -20 >&2
  fi
done
if [ "${#failed[@]}" -gt 0 ]; then
  echo "fuzz smoke: findings in ${failed[*]} (reproducers in fuzz/artifacts/)" >&2
  exit 1
fi
echo "fuzz smoke: ${#targets[@]} targets, ${secs}s each, no finding"
