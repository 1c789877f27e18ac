// Command genlog writes a synthetic Postfix mail log for benchmarks of
// "mimecastip scan": genlog -n LINES [-seed N] > maillog. A quarter of the
// addresses fall in the embedded dataset's mail ranges.
package main

import (
	"flag"
	"fmt"
	"net/netip"
	"os"

	"github.com/seed-b311f21d/go-mimecastip/cmd/mimecastip/internal/logscan/logtest"
	"github.com/seed-b311f21d/go-mimecastip/regions"
)

func main() {
	n := flag.Int("n", 1000000, "number of lines")
	seed := flag.Uint64("seed", 1, "random seed")
	flag.Parse()
	var hits []netip.Prefix
	for _, r := range regions.Ranges() {
		if !r.Retired && r.Service.Mail() {
			hits = append(hits, r.Prefix)
		}
	}
	if err := logtest.Write(os.Stdout, *n, *seed, hits); err != nil {
		fmt.Fprintln(os.Stderr, "genlog:", err)
		os.Exit(1)
	}
}
