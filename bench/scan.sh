#!/usr/bin/env bash
# Compare "mimecastip scan" with grepcidr (Debian package grepcidr) on a
# generated Postfix log: both must select the same lines, then each runs
# RUNS times and the best wall-clock times are compared.
#
#   bench/scan.sh [LINES] [RUNS]      default 1000000 lines, 5 runs
#
# The list given to grepcidr is our own "export --format plain" (every
# region); scan's default selection (classes mimecast and non-spf, any
# region) is the same set of addresses.
set -euo pipefail
cd "$(dirname "$0")/.."
lines=${1:-1000000}
runs=${2:-5}
command -v grepcidr >/dev/null || { echo "grepcidr is not installed (apt-get install grepcidr)" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

go build -o "$tmp/mimecastip" ./cmd/mimecastip
go run ./internal/logscan/logtest/genlog -n "$lines" >"$tmp/maillog"
"$tmp/mimecastip" export --format plain >"$tmp/list" 2>/dev/null

"$tmp/mimecastip" scan "$tmp/maillog" >"$tmp/scan.out"
grepcidr -f "$tmp/list" "$tmp/maillog" >"$tmp/grepcidr.out"
if ! cmp -s "$tmp/scan.out" "$tmp/grepcidr.out"; then
  echo "scan and grepcidr selected different lines:" >&2
  diff "$tmp/scan.out" "$tmp/grepcidr.out" | head >&2
  exit 1
fi

best() { # best wall-clock seconds of $runs runs of "$@"
  local b="" s e t
  for _ in $(seq "$runs"); do
    s=$(date +%s%N); "$@" >/dev/null; e=$(date +%s%N)
    t=$(( (e - s) / 1000 ))
    if [ -z "$b" ] || [ "$t" -lt "$b" ]; then b=$t; fi
  done
  echo "$b"
}
size=$(stat -c %s "$tmp/maillog")
selected=$(wc -l <"$tmp/scan.out")
us=$(best "$tmp/mimecastip" scan "$tmp/maillog")
them=$(best grepcidr -f "$tmp/list" "$tmp/maillog")
awk -v l="$lines" -v sz="$size" -v sel="$selected" -v us="$us" -v them="$them" -v runs="$runs" 'BEGIN {
  printf "log: %d lines, %.1f MB, %d selected (same lines from both)\n", l, sz/1e6, sel
  printf "mimecastip scan: %.3f s (%.0f MB/s)   best of %d\n", us/1e6, sz/us, runs
  printf "grepcidr -f:     %.3f s (%.0f MB/s)   best of %d\n", them/1e6, sz/them, runs
  printf "ratio grepcidr/scan: %.2f (above 1: scan is faster)\n", them/us
}'
