// Command ratios reads the CSV output of benchstat (benchstat -format csv)
// for the bench/compare suite and prints, per benchmark and stream, each
// implementation's time and its ratio to the baseline (bart.Table, or the
// ParseAddr/AddrFromSlice + bart.Table adapters), then the targets
// with PASS/FAIL. Usage: benchstat -format csv results.txt | go run ./cmd/ratios
package main

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// row is one benchmark's median for one unit.
type key struct{ bench, stream, impl, procs string }

var (
	suffix = regexp.MustCompile(`-\d+$`)
	units  = map[string]map[key]float64{} // unit -> key -> value
	order  []key
	seen   = map[key]bool{}
)

func parse(r io.Reader) error {
	cr := csv.NewReader(bufio.NewReader(r))
	cr.FieldsPerRecord = -1
	unit := ""
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if len(rec) < 2 {
			continue
		}
		name := rec[0]
		if name == "" {
			// A header: ",sec/op,CI" names the unit of the rows below.
			if rec[1] != "" && !strings.Contains(rec[1], ".txt") {
				unit = rec[1]
			}
			continue
		}
		if name == "geomean" || unit == "" {
			continue
		}
		v, err := strconv.ParseFloat(rec[1], 64)
		if err != nil {
			continue
		}
		k := key{}
		parts := strings.Split(suffix.ReplaceAllString(name, ""), "/")
		k.bench = parts[0]
		for _, p := range parts[1:] {
			kv := strings.SplitN(p, "=", 2)
			if len(kv) != 2 {
				continue
			}
			switch kv[0] {
			case "stream":
				k.stream = kv[1]
			case "impl":
				k.impl = kv[1]
			case "procs":
				k.procs = kv[1]
			}
		}
		if units[unit] == nil {
			units[unit] = map[key]float64{}
		}
		units[unit][k] = v
		if !seen[k] {
			seen[k] = true
			order = append(order, k)
		}
	}
}

var baseline = map[string]string{
	"Lookup":        "bart.Table",
	"LookupString":  "parseaddr+bart.Table",
	"LookupNetAddr": "addrfromslice+bart.Table",
	"Parallel":      "bart.Table",
}

func ns(k key) (float64, bool) {
	v, ok := units["sec/op"][k]
	return v * 1e9, ok
}

func fmtNs(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2f ms", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.2f µs", v/1e3)
	case v >= 100:
		return fmt.Sprintf("%.0f ns", v)
	case v >= 10:
		return fmt.Sprintf("%.1f ns", v)
	}
	return fmt.Sprintf("%.2f ns", v)
}

func main() {
	if err := parse(os.Stdin); err != nil {
		fmt.Fprintln(os.Stderr, "ratios:", err)
		os.Exit(1)
	}
	if len(units["sec/op"]) == 0 {
		fmt.Fprintln(os.Stderr, "ratios: no sec/op rows in the input (want benchstat -format csv output)")
		os.Exit(1)
	}
	// Tables: one per benchmark, streams as columns, impls as rows.
	for _, bench := range []string{"Lookup", "LookupString", "LookupNetAddr", "Parallel"} {
		var streams, impls []string
		has := map[string]bool{}
		for _, k := range order {
			if k.bench != bench {
				continue
			}
			if !has["s"+k.stream] {
				has["s"+k.stream] = true
				streams = append(streams, k.stream)
			}
			im := k.impl
			if k.procs != "" {
				im += " procs=" + k.procs
			}
			if !has["i"+im] {
				has["i"+im] = true
				impls = append(impls, im)
			}
		}
		if len(streams) == 0 {
			continue
		}
		base := baseline[bench]
		fmt.Printf("\n%s: ns/op (ratio to %s on the same stream)\n\n", bench, base)
		fmt.Printf("| impl |")
		for _, s := range streams {
			fmt.Printf(" %s |", s)
		}
		fmt.Printf("\n|---|")
		for range streams {
			fmt.Printf("---|")
		}
		fmt.Println()
		for _, im := range impls {
			impl, procs, _ := strings.Cut(im, " procs=")
			fmt.Printf("| %s |", im)
			for _, s := range streams {
				v, ok := ns(key{bench, s, impl, procs})
				if !ok {
					fmt.Printf(" |")
					continue
				}
				b, bok := ns(key{bench, s, base, procs})
				if bok && b > 0 {
					fmt.Printf(" %s (%.2f) |", fmtNs(v), v/b)
				} else {
					fmt.Printf(" %s |", fmtNs(v))
				}
			}
			fmt.Println()
		}
	}
	// Build cost.
	var builds []key
	for _, k := range order {
		if k.bench == "Build" {
			builds = append(builds, k)
		}
	}
	if len(builds) > 0 {
		fmt.Printf("\nBuild from the embedded data\n\n| impl | time | B/op | allocs/op |\n|---|---|---|---|\n")
		for _, k := range builds {
			v, _ := ns(k)
			fmt.Printf("| %s | %s | %.0f | %.0f |\n", k.impl, fmtNs(v), units["B/op"][k], units["allocs/op"][k])
		}
	}
	targets()
}

func ratio(a, b key) (float64, bool) {
	x, ok1 := ns(a)
	y, ok2 := ns(b)
	if !ok1 || !ok2 || y == 0 {
		return 0, false
	}
	return x / y, true
}

func check(name string, a, b key, max float64, want string) {
	r, ok := ratio(a, b)
	if !ok {
		fmt.Printf("| %s | (not measured) | %s | |\n", name, want)
		return
	}
	verdict := "PASS"
	if r > max {
		verdict = "FAIL"
	}
	fmt.Printf("| %s | %.2f | %s | %s |\n", name, r, want, verdict)
}

func targets() {
	fmt.Printf("\nTargets\n\n| target | measured | want | |\n|---|---|---|---|\n")
	for _, s := range []string{"mixed", "hits"} {
		check("Lookup "+s+": mimecastip / bart.Table", key{"Lookup", s, "mimecastip", ""}, key{"Lookup", s, "bart.Table", ""}, 0.5, "<= 0.5 (aim 0.35)")
		check("Lookup "+s+": mimecastip.Lookup (package function) / bart.Table", key{"Lookup", s, "mimecastip.Lookup", ""}, key{"Lookup", s, "bart.Table", ""}, 0.5, "<= 0.5 (aim 0.35)")
		check("Lookup "+s+": mimecastip / flat floor", key{"Lookup", s, "mimecastip", ""}, key{"Lookup", s, "flat", ""}, 1.5, "<= 1.5")
	}
	for _, s := range []string{"mixed", "hits", "nearmiss"} {
		check("LookupString "+s+": mimecastip / ParseAddr+bart.Table", key{"LookupString", s, "mimecastip", ""}, key{"LookupString", s, "parseaddr+bart.Table", ""}, 0.7, "<= 0.7")
	}
	for _, s := range []string{"mixed", "hits", "nearmiss", "ipv6", "mapped"} {
		check("LookupNetAddr(*net.TCPAddr) "+s+": / Lookup", key{"LookupNetAddr", s, "mimecastip", ""}, key{"Lookup", s, "mimecastip", ""}, 1.5, "<= 1.5")
	}
	procs := map[string]bool{}
	for _, k := range order {
		if k.bench == "Parallel" && k.procs != "1" {
			procs[k.procs] = true
		}
	}
	var ps []string
	for p := range procs {
		ps = append(ps, p)
	}
	sort.Strings(ps)
	for _, p := range ps {
		n, _ := strconv.Atoi(p)
		for _, s := range []string{"mixed", "hits"} {
			// Speed-up: ns/op with one proc over ns/op with p; want close to p.
			r, ok := ratio(key{"Parallel", s, "mimecastip", "1"}, key{"Parallel", s, "mimecastip", p})
			if !ok {
				continue
			}
			verdict := "PASS"
			if r < 0.75*float64(n) {
				verdict = "LOW (noisy VM?)"
			}
			fmt.Printf("| Parallel %s: speed-up procs=1 -> procs=%s | %.2fx | ~%dx | %s |\n", s, p, r, n, verdict)
		}
	}
	// Allocations of every mimecastip entry point.
	worst := -1.0
	for k, v := range units["allocs/op"] {
		if k.impl == "mimecastip" && k.bench != "Build" && v > worst {
			worst = v
		}
	}
	if worst >= 0 {
		verdict := "PASS"
		if worst > 0 {
			verdict = "FAIL"
		}
		fmt.Printf("| allocs/op, every mimecastip lookup benchmark (max) | %.0f | 0 | %s |\n", worst, verdict)
	}
}
