#!/usr/bin/env bash
# Builds every fuzz target and runs each for SECONDS (default 30), one after the other.
#
#   fuzz/smoke.sh 30                          # stable toolchain, no sanitizer (CI)
#   FUZZ_SANITIZER=address fuzz/smoke.sh 600  # AddressSanitizer: needs RUSTC_BOOTSTRAP=1 (set here)
#
# New corpus entries go to fuzz/corpus/<target>/ (ignored by git except the committed
# seed-* files); ../shared/data is read as an extra corpus for the capture and Ogg targets
# when present (required under JYQQ_REQUIRE_SHARED_DATA=1). Installs cargo-fuzz if missing.
# Exits non-zero if any target crashed, hung (-timeout) or ran out of memory (-rss_limit_mb);
# the failing input is in fuzz/artifacts/<target>/.
set -euo pipefail
secs="${1:-30}"
cd "$(dirname "$0")"

if ! command -v cargo-fuzz >/dev/null 2>&1; then
  echo "installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi

san="${FUZZ_SANITIZER:-none}"
if [ "$san" != none ]; then
  # cargo-fuzz passes -Zsanitizer=…; RUSTC_BOOTSTRAP lets the stable compiler accept it.
  export RUSTC_BOOTSTRAP=1
fi

shared=../../shared/data
if [ ! -f "$shared/MANIFEST.md" ]; then
  if [ "${JYQQ_REQUIRE_SHARED_DATA:-}" = 1 ]; then
    echo "JYQQ_REQUIRE_SHARED_DATA=1 but $shared is missing" >&2
    exit 1
  fi
  echo "SKIP extra corpus: $shared is absent"
fi

start=$(date +%s)
cargo fuzz build -s "$san"
echo "build: $(( $(date +%s) - start )) s"

logs="${FUZZ_LOG_DIR:-$(mktemp -d)}"
mkdir -p "$logs"
failed=()
for t in $(cargo fuzz list); do
  extra=()
  max_len=65536
  case "$t" in
    capture_read | capture_replay)
      [ -d "$shared/rtp" ] && extra+=("$shared/rtp")
      max_len=262144
      ;;
    ogg_read)
      [ -d "$shared/ogg" ] && extra+=("$shared/ogg")
      ;;
    session_ops | ingress | ffi_ops)
      max_len=16384
      ;;
  esac
  mkdir -p "corpus/$t"
  t0=$(date +%s)
  if cargo fuzz run -s "$san" "$t" "corpus/$t" "${extra[@]}" -- \
    -max_total_time="$secs" -max_len="$max_len" -timeout=60 -rss_limit_mb=2048 -print_final_stats=1 \
    >"$logs/$t.log" 2>&1; then
    status=ok
  else
    status=FAILED
    failed+=("$t")
  fi
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$logs/$t.log" | grep -o '[0-9]*$' || echo "?")
  cov=$(grep -o 'cov: [0-9]*' "$logs/$t.log" | tail -1 || true)
  echo "$t: $status, $(( $(date +%s) - t0 )) s, $runs runs, $cov (log: $logs/$t.log)"
done
echo "total: $(( $(date +%s) - start )) s"
if [ ${#failed[@]} -gt 0 ]; then
  echo "failed: ${failed[*]}" >&2
  for t in "${failed[@]}"; do
    grep -E -A12 'panicked|ERROR: libFuzzer|Test unit written' "$logs/$t.log" >&2 || tail -30 "$logs/$t.log" >&2
  done
  exit 1
fi
