package cli

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/seed-b311f21d/go-mimecastip/mimecastip"
	"github.com/seed-b311f21d/go-mimecastip/regions"
)

const lookupDescription = `
Classify each address as mimecast (a Mimecast gateway range), non-spf (a
Mimecast non-SPF relay range) or foreign, and print one line per address:

  ADDRESS  CLASS  REGIONS  SERVICE  PREFIX

REGIONS are the regions that publish the matched PREFIX, SERVICE what it
is published for (gateway, non-spf, website, web-security); "-" when no
published range holds the address. Addresses come from the arguments or,
when there are none, from standard input (separated by spaces or lines;
'#' starts a comment). Accepted forms: a.b.c.d, IPv6, ::ffff:a.b.c.d,
[addr], IPv6:addr, addr:port, [v6]:port.

With --region, only the ranges of those regions (and the global website
and Web Security addresses) count: another region's gateway is foreign,
as it is to that account's lockdown.

Exit status: 0 every address is mimecast or non-spf; 1 at least one is
foreign (so "mimecastip lookup -q $ip" tests an address); 2 a bad address
(reported on stderr with its argument or line number; the others are still
classified; a line longer than 64 KiB is such an error) or bad usage, and
also when no address is given at all (no argument and nothing on standard
input, as from "lookup -q $ip" with an empty $ip). On a terminal, lookup
says on stderr that it reads standard input.`

// lookupJSON is one line of lookup --json output (JSON Lines).
type lookupJSON struct {
	Input   string      `json:"input"`
	Address string      `json:"address,omitempty"`
	Class   string      `json:"class,omitempty"`
	Regions regions.Set `json:"regions,omitempty"`
	Service string      `json:"service,omitempty"`
	Prefix  string      `json:"prefix,omitempty"`
	Error   string      `json:"error,omitempty"`
}

func cmdLookup(env *Env, args []string) int {
	fs := newFlags(env, "lookup", "[flags] [ADDR...]", lookupDescription)
	jsonOut := fs.Bool("json", false, "print one JSON object per address (JSON Lines)")
	quiet := fs.Bool("q", false, "print nothing; only the exit status tells")
	data := fs.String("data", "", dataFlagUsage)
	region := regionFlag(fs, "; other regions' ranges count as foreign")
	operands, done, status := parseArgs(env, fs, args)
	if done {
		return status
	}
	set, ok := parseRegions(env, "lookup", *region)
	if !ok {
		return ExitUsage
	}
	_, c, ok := loadClassifier(env, "lookup", *data, set)
	if !ok {
		return ExitUsage
	}
	bw := bufio.NewWriter(env.Stdout)
	defer bw.Flush()
	enc := json.NewEncoder(bw)
	var bad, foreign bool
	// Someone typing addresses wants each answer at once; a pipe gets
	// buffered output.
	interactive := isTerminal(env.Stdin)
	one := func(where, in string) {
		a, err := mimecastip.ParseAddr(in)
		if err != nil {
			bad = true
			errorf(env, "lookup", "%s: %q is not an IP address (want a.b.c.d, an IPv6 address, [address] or address:port)", where, shorten(in))
			if *jsonOut && !*quiet {
				enc.Encode(lookupJSON{Input: in, Error: "not an IP address"})
			}
			return
		}
		res := c.Lookup(a)
		if res.Class == mimecastip.Foreign {
			foreign = true
		}
		if *quiet {
			return
		}
		addr := a.String()
		if *jsonOut {
			j := lookupJSON{Input: in, Address: addr, Class: res.Class.String()}
			if res.Prefix().IsValid() {
				j.Regions = res.Regions
				j.Service, j.Prefix = res.Service.String(), res.Prefix().String()
			}
			enc.Encode(j)
			return
		}
		regs, svc, pfx := "-", "-", "-"
		if res.Prefix().IsValid() {
			regs, svc, pfx = res.Regions.String(), res.Service.String(), res.Prefix().String()
		}
		fmt.Fprintf(bw, "%-15s  %-8s  %-7s  %-12s  %s\n", addr, res.Class, regs, svc, pfx)
	}
	n := 0
	if len(operands) > 0 {
		for i, a := range operands {
			n++
			one(fmt.Sprintf("argument %d", i+1), a)
		}
	} else {
		if interactive {
			fmt.Fprintf(env.Stderr, "mimecastip lookup: no address given: reading addresses from standard input (spaces or lines; end with Ctrl-D)\n")
		}
		err := eachWord(env.Stdin, func(line int, w string) {
			n++
			one(fmt.Sprintf("line %d", line), w)
			if interactive {
				bw.Flush()
			}
		}, func(line int) {
			bad = true
			errorf(env, "lookup", "line %d: longer than %d bytes; skipped (the other lines are classified)", line, maxLookupLine)
		})
		if err != nil {
			errorf(env, "lookup", "reading standard input: %v", err)
			return ExitUsage
		}
	}
	switch {
	case bad:
		return ExitUsage
	case n == 0:
		// "lookup -q $ip" with an empty $ip must not say "Mimecast".
		errorf(env, "lookup", "no address given (as arguments or on standard input)")
		return ExitUsage
	case foreign:
		return ExitFinding
	}
	return ExitOK
}

// shorten cuts s to at most 80 bytes for an error message.
func shorten(s string) string {
	if len(s) <= 80 {
		return s
	}
	return s[:60] + "..." + fmt.Sprintf("(%d bytes)", len(s))
}

// isTerminal reports whether r is a terminal (not merely a character
// device: /dev/null is one too, and "lookup -q </dev/null" must not talk).
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	if err != nil || st.Mode()&os.ModeCharDevice == 0 {
		return false
	}
	return isTTY(f)
}

// maxLookupLine is the longest input line lookup reads; a longer one is
// reported and skipped.
const maxLookupLine = 64 << 10

// eachWord calls fn for every whitespace-separated word of r outside '#'
// comments, with its line number; a UTF-8 byte-order mark at the start is
// skipped. A line longer than maxLookupLine is not split into words:
// tooLong gets its number, and reading goes on with the next line, in
// constant memory.
func eachWord(r io.Reader, fn func(line int, word string), tooLong func(line int)) error {
	br := bufio.NewReaderSize(r, maxLookupLine)
	if b, _ := br.Peek(3); len(b) == 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF {
		br.Discard(3)
	}
	n := 0
	for {
		b, err := br.ReadSlice('\n')
		if len(b) > 0 || err == nil {
			n++
		}
		if err == bufio.ErrBufferFull {
			tooLong(n)
			for err == bufio.ErrBufferFull {
				_, err = br.ReadSlice('\n')
			}
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			continue
		}
		if len(b) > 0 {
			line, _, _ := strings.Cut(string(b), "#")
			for _, w := range strings.Fields(line) {
				fn(n, w)
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
