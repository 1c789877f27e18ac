#!/usr/bin/env bash
# Compare "mimecastip scan" with grepcidr (Debian package grepcidr) and with
# "cat FILE >/dev/null" on a generated Postfix log: scan and grepcidr must
# select the same lines, then each command runs RUNS times and the best
# wall-clock times are compared, in the same run (ratios, not absolute
# times, are what carries over between machines).
#
#   bench/scan.sh [LINES] [RUNS]      default 1000000 lines, 5 runs
#
# The list given to grepcidr is our own "export --format plain" (every
# region); scan's default selection (classes mimecast and non-spf, any
# region) is the same set of addresses. Also printed: "scan --inbound"
# against plain scan, the CPU use (user+system time over wall time: 2.0 is
# both cores busy) and the peak memory (maximum resident set size, with
# GNU time).
set -euo pipefail
cd "$(dirname "$0")/.."
lines=${1:-1000000}
runs=${2:-5}
command -v grepcidr >/dev/null || { echo "grepcidr is not installed (apt-get install grepcidr)" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

go build -o "$tmp/mimecastip" ./cmd/mimecastip
go run ./cmd/mimecastip/internal/logscan/logtest/genlog -n "$lines" >"$tmp/maillog"
"$tmp/mimecastip" export --format plain >"$tmp/list" 2>/dev/null

"$tmp/mimecastip" scan "$tmp/maillog" >"$tmp/scan.out"
grepcidr -f "$tmp/list" "$tmp/maillog" >"$tmp/grepcidr.out"
if ! cmp -s "$tmp/scan.out" "$tmp/grepcidr.out"; then
  echo "scan and grepcidr selected different lines:" >&2
  diff "$tmp/scan.out" "$tmp/grepcidr.out" | head >&2
  exit 1
fi

best() { # best wall-clock microseconds of $runs runs of "$@", output to /dev/null
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
inbound_sel=$("$tmp/mimecastip" scan --inbound "$tmp/maillog" | wc -l)
cat "$tmp/maillog" >/dev/null # into the page cache
# interleaved, so that a change in the machine's load hits all alike
us=""; them=""; cat_t=""; inb=""
for _ in $(seq "$runs"); do
  r=1
  t=$(runs=$r best "$tmp/mimecastip" scan "$tmp/maillog"); if [ -z "$us" ] || [ "$t" -lt "$us" ]; then us=$t; fi
  t=$(runs=$r best grepcidr -f "$tmp/list" "$tmp/maillog"); if [ -z "$them" ] || [ "$t" -lt "$them" ]; then them=$t; fi
  t=$(runs=$r best cat "$tmp/maillog"); if [ -z "$cat_t" ] || [ "$t" -lt "$cat_t" ]; then cat_t=$t; fi
  t=$(runs=$r best "$tmp/mimecastip" scan --inbound "$tmp/maillog"); if [ -z "$inb" ] || [ "$t" -lt "$inb" ]; then inb=$t; fi
done
read -r load1 _ </proc/loadavg 2>/dev/null || load1="?"
awk -v load="$load1" -v l="$lines" -v sz="$size" -v sel="$selected" -v isel="$inbound_sel" -v us="$us" -v them="$them" -v cat="$cat_t" -v inb="$inb" -v runs="$runs" 'BEGIN {
  printf "log: %d lines, %.1f MB, %d selected (same lines from both), %d with --inbound; load average %s\n", l, sz/1e6, sel, isel, load
  printf "mimecastip scan:           %.3f s (%.0f MB/s)   best of %d\n", us/1e6, sz/us, runs
  printf "mimecastip scan --inbound: %.3f s (%.0f MB/s)\n", inb/1e6, sz/inb
  printf "grepcidr -f:               %.3f s (%.0f MB/s)\n", them/1e6, sz/them
  printf "cat >/dev/null:            %.3f s (%.0f MB/s)\n", cat/1e6, sz/cat
  printf "ratio grepcidr/scan: %.2f (above 1: scan is faster; target >= 3)\n", them/us
  printf "ratio scan/cat:      %.2f (target <= 4.5)\n", us/cat
  printf "ratio inbound/scan:  %.2f (target <= 1.3)\n", inb/us
}'
if [ -x /usr/bin/time ]; then
  for args in "scan" "scan --inbound" "scan --inbound --class foreign --addresses" "scan --json"; do
    # shellcheck disable=SC2086
    # the log three times over, for a measurable time (GNU time counts in 10 ms)
    /usr/bin/time -f "%e %U %S %M" -o "$tmp/time" "$tmp/mimecastip" $args "$tmp/maillog" "$tmp/maillog" "$tmp/maillog" >/dev/null
    read -r wall user sys rss <"$tmp/time"
    awk -v a="$args" -v w="$wall" -v u="$user" -v s="$sys" -v m="$rss" 'BEGIN {
      printf "%-45s CPU use %.2f cores, peak memory %.1f MB\n", a ":", (w > 0 ? (u + s) / w : 0), m / 1024 }'
  done
fi
