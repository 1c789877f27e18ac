#!/usr/bin/env bash
# Runs the side-by-side benchmark suite and prints the ratios to bart.Table.
#
#   bench/compare/run.sh [COUNT]        # default 6 passes
#
# Environment: BENCH (regexp, default "."), BENCHTIME (default 200ms),
# OUT (raw results, default bench/compare/results.txt), SKIPTEST=1 to skip
# the correctness test.
#
# It checks that every implementation agrees with mimecastip on every
# stream, builds the test binary once and runs it COUNT times (interleaved
# passes, so drift on a noisy machine spreads over every benchmark), then
# prints benchstat's summary and the ratio table (cmd/ratios).
set -euo pipefail
cd "$(dirname "$0")"
count=${1:-${COUNT:-6}}
bench=${BENCH:-.}
benchtime=${BENCHTIME:-200ms}
out=${OUT:-results.txt}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

benchstat=$(command -v benchstat || true)
if [ -z "$benchstat" ]; then
  echo "installing benchstat into $tmp/bin" >&2
  GOBIN="$tmp/bin" go install golang.org/x/perf/cmd/benchstat@latest
  benchstat="$tmp/bin/benchstat"
fi

if [ "${SKIPTEST:-}" != 1 ]; then
  go test -count=1 -run . ./...
fi
go test -c -o "$tmp/compare.test" .
go build -o "$tmp/ratios" ./cmd/ratios

: > "$out"
for i in $(seq "$count"); do
  echo "pass $i/$count" >&2
  "$tmp/compare.test" -test.run '^$' -test.bench "$bench" -test.benchtime "$benchtime" -test.benchmem >> "$out"
done

echo
echo "machine: $(go env GOOS)/$(go env GOARCH), $(go version | cut -d' ' -f3), $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
echo "command: bench/compare/run.sh $count (BENCH=$bench BENCHTIME=$benchtime); raw results in bench/compare/$out"
"$benchstat" -col /impl "$out" || true
"$benchstat" -format csv "$out" 2>/dev/null | "$tmp/ratios"
