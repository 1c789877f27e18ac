package cli

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"

	"github.com/seed-b311f21d/go-mimecastip/mimecastip"
	"github.com/seed-b311f21d/go-mimecastip/mimecastip/trace"
	"github.com/seed-b311f21d/go-mimecastip/regions"
)

const traceDescription = `
Tell from each message's headers whether it really came through Mimecast.
Reads .eml files, mbox files (every message) or standard input (no FILE,
or "-"), and judges the boundary hop: the Received line your server wrote,
whose client address is the one record a sender cannot forge.

  mimecast      the boundary hop is a Mimecast gateway or non-SPF relay of --region
  other-region  the boundary hop is a Mimecast gateway of another region
  bypass        the boundary hop is not Mimecast and the message has no Mimecast trail
  forged        the boundary hop is not Mimecast, yet the message has a Mimecast trail
                (X-Mimecast-* or X-MC-Unique fields, a relay.mimecast.com hop, ...)
  undetermined  no usable boundary Received line (none, no address in it, ambiguous,
                or a private/loopback address: an internal relay not named), or
                its address is only in a retired Mimecast range

The boundary hop is the topmost Received; with --by, the topmost Received
whose "by" host is one of your MTAs (the hops above it must then be from
your own relays: private or --internal addresses, an LMTP line without an
address or qmail's queue stamp (both passed over), or a verified name
among --by; otherwise the message is undetermined, as the --by line may be
forged); with --internal, hops from your internal relays are skipped for
the one that entered your network. Only what lies below the boundary hop
counts as a Mimecast trail.
Each result gives the address, its class (within --region), the regions
and prefix of its published range, the Mimecast grid of the trail and
whether it agrees, and the reasons in words. --json prints one object per
message (JSON Lines) with "verdict", "address", "class", "regions" and
"prefix".

Exit status: 0 every message's verdict is mimecast; 1 at least one is not;
2 bad usage or bad input (a file that cannot be read, a malformed or
oversized header block: named with the file, message number and line; the
other messages are still judged).`

// traceJSON is one line of trace --json output.
type traceJSON struct {
	File      string      `json:"file"`
	Message   int         `json:"message"`
	Line      int         `json:"line"`
	Verdict   string      `json:"verdict,omitempty"`
	Address   string      `json:"address"`
	Class     string      `json:"class,omitempty"`
	Regions   regions.Set `json:"regions"`
	Prefix    string      `json:"prefix"`
	Service   string      `json:"service,omitempty"`
	Hop       *traceHop   `json:"hop,omitempty"`
	Grid      string      `json:"grid,omitempty"`
	GridCheck string      `json:"grid_check,omitempty"`
	Trail     *traceTail  `json:"trail,omitempty"`
	Reasons   []string    `json:"reasons,omitempty"`
	Error     string      `json:"error,omitempty"`
}

type traceHop struct {
	Index int    `json:"index"` // 1-based, as in the reasons
	Line  int    `json:"line"`
	From  string `json:"from,omitempty"`
	RDNS  string `json:"rdns,omitempty"`
	By    string `json:"by,omitempty"`
	ID    string `json:"id,omitempty"`
}

type traceRelay struct {
	Hop  int    `json:"hop"`
	By   string `json:"by"`
	ID   string `json:"id,omitempty"`
	Grid string `json:"grid,omitempty"`
	From string `json:"from,omitempty"`
}

type traceTail struct {
	Relays         []traceRelay `json:"relays"`
	MCUnique       string       `json:"mc_unique,omitempty"`
	MCUniqueMatch  bool         `json:"mc_unique_match"`
	AccountCodes   []string     `json:"account_codes"`
	Headers        []string     `json:"headers"`
	ARC            bool         `json:"arc"`
	NamedHost      string       `json:"named_host,omitempty"`
	AccountRegions regions.Set  `json:"account_regions"`
}

func toTraceJSON(file string, m *trace.Message, r *trace.Result) traceJSON {
	j := traceJSON{File: file, Message: m.Index, Line: m.Line, Verdict: r.Verdict.String(),
		Class: r.Class.String(), Regions: r.Regions(), Reasons: r.Reasons}
	if r.Address.IsValid() {
		j.Address = r.Address.String()
	}
	if p := r.Prefix(); p.IsValid() {
		j.Prefix = p.String()
		j.Service = r.Match.Service.String()
	}
	if !r.Address.IsValid() {
		j.Class = ""
	}
	if h := r.Hop; h != nil {
		j.Hop = &traceHop{Index: h.Index + 1, Line: h.Line, From: h.From, RDNS: h.RDNS, By: h.By, ID: h.ID}
	}
	if r.Grid != 0 {
		j.Grid = r.Grid.String()
		j.GridCheck = r.GridCheck.String()
	}
	tr := &traceTail{Relays: []traceRelay{}, MCUnique: r.Trail.MCUnique, MCUniqueMatch: r.Trail.MCUniqueMatch,
		AccountCodes: append([]string{}, r.Trail.AccountCodes...), Headers: append([]string{}, r.Trail.Headers...),
		ARC: r.Trail.ARC, NamedHost: r.Trail.NamedHost, AccountRegions: r.Trail.AccountRegions}
	for _, rl := range r.Trail.Relays {
		x := traceRelay{Hop: rl.Hop + 1, By: rl.By, ID: rl.ID, Grid: rl.Grid.String()}
		if rl.From.IsValid() {
			x.From = rl.From.String()
		}
		tr.Relays = append(tr.Relays, x)
	}
	j.Trail = tr
	return j
}

func writeTraceText(w io.Writer, file string, m *trace.Message, r *trace.Result) {
	fmt.Fprintf(w, "%s: message %d (line %d): %s\n", file, m.Index, m.Line, r.Verdict)
	if r.Address.IsValid() {
		regs, prefix := r.Regions().String(), "-"
		if regs == "" {
			regs = "-"
		}
		if p := r.Prefix(); p.IsValid() {
			prefix = p.String()
		}
		fmt.Fprintf(w, "  address %s  class %s  regions %s  prefix %s\n", r.Address, r.Class, regs, prefix)
	}
	if h := r.Hop; h != nil {
		from := h.From
		if h.RDNS != "" && h.RDNS != strings.ToLower(h.From) {
			from += " (" + h.RDNS + ")"
		}
		fmt.Fprintf(w, "  boundary: Received #%d (line %d) from %s by %s\n", h.Index+1, h.Line, orDash(from), orDash(h.By))
	}
	switch {
	case r.Grid != 0 && r.GridCheck == trace.GridUnknown:
		fmt.Fprintf(w, "  grid: %s (trail only; the hop is not a Mimecast address)\n", r.Grid)
	case r.Grid != 0:
		fmt.Fprintf(w, "  grid: %s (%s with the hop's regions)\n", r.Grid, r.GridCheck)
	}
	for _, s := range r.Reasons {
		fmt.Fprintf(w, "  - %s\n", s)
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// parseInternal parses --internal: comma-separated CIDRs or addresses.
func parseInternal(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("%q is not a CIDR prefix or address", f)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

func cmdTrace(env *Env, args []string) int {
	const name = "trace"
	fs := newFlags(env, name, "[--region R] [--by HOST,...] [--internal CIDR,...] [--json] [FILE...]", traceDescription)
	region := regionFlag(fs, "; a gateway of another region is other-region (default: every region)")
	by := fs.String("by", "", "comma-separated host names of your MTAs as they appear after \"by\" in Received (the boundary is the topmost Received by one of them)")
	internal := fs.String("internal", "", "comma-separated CIDRs of your internal relays; hops from them are skipped")
	jsonOut := fs.Bool("json", false, "print one JSON object per message (JSON Lines)")
	data := fs.String("data", "", dataFlagUsage)
	maxHeader := fs.Int("max-header-bytes", trace.DefaultMaxHeaderBytes, "largest header block accepted per message, in bytes")
	files, done, status := parseArgs(env, fs, args)
	if done {
		return status
	}
	scope, ok := parseRegions(env, name, *region)
	if !ok {
		return ExitUsage
	}
	internals, err := parseInternal(*internal)
	if err != nil {
		errorf(env, name, "--internal: %v", err)
		return ExitUsage
	}
	var byNames []string
	for _, b := range strings.Split(*by, ",") {
		if b = strings.TrimSpace(b); b != "" {
			byNames = append(byNames, b)
		}
	}
	if *maxHeader <= 0 {
		errorf(env, name, "--max-header-bytes: want a positive number of bytes")
		return ExitUsage
	}
	d, scoped, ok := loadClassifier(env, name, *data, scope)
	if !ok {
		return ExitUsage
	}
	wide, err := mimecastip.New(d.Ranges)
	if err != nil {
		errorf(env, name, "%v", err)
		return ExitUsage
	}
	warnInternalMimecast(env, name, internals, wide)
	retired, err := trace.RetiredClassifier(d.Ranges)
	if err != nil {
		errorf(env, name, "%v", err)
		return ExitUsage
	}
	tr, err := trace.New(trace.Config{Classifier: scoped, Wide: wide, Retired: retired, Regions: scope, By: byNames, Internal: internals})
	if err != nil {
		errorf(env, name, "%v", strings.TrimPrefix(err.Error(), "trace: "))
		return ExitUsage
	}
	if len(files) == 0 {
		files = []string{"-"}
	}
	bw := bufio.NewWriter(env.Stdout)
	defer bw.Flush()
	enc := json.NewEncoder(bw)
	var bad, notMimecast bool
	for _, f := range files {
		label := f
		if f == "-" {
			label = "stdin"
		}
		in, err := openInput(env, f)
		if err != nil {
			errorf(env, name, "%v", err)
			bad = true
			continue
		}
		rd := trace.NewReader(in)
		rd.MaxHeaderBytes = *maxHeader
		n := 0
		readFailed := false
		for {
			m, err := rd.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				bad = true
				var pe *trace.Error
				if errors.As(err, &pe) {
					errorf(env, name, "%s: %v", label, pe)
					n++
					if *jsonOut {
						enc.Encode(traceJSON{File: label, Message: pe.Message, Line: pe.Line, Error: pe.Msg})
					}
					continue
				}
				errorf(env, name, "%s: %v", label, err)
				readFailed = true
				break
			}
			n++
			r := tr.Trace(m)
			if r.Verdict != trace.Mimecast {
				notMimecast = true
			}
			if *jsonOut {
				enc.Encode(toTraceJSON(label, m, &r))
			} else {
				writeTraceText(bw, label, m, &r)
			}
		}
		in.Close()
		if n == 0 && !readFailed {
			bad = true
			errorf(env, name, "%s: no message (empty input)", label)
		}
	}
	switch {
	case bad:
		return ExitUsage
	case notMimecast:
		return ExitFinding
	}
	return ExitOK
}

// warnInternalMimecast warns about --internal prefixes that overlap
// Mimecast's mail ranges: hops from Mimecast would be skipped as internal
// relays, and the message judged by a hop below Mimecast's (never
// "mimecast", but not the verdict meant either).
func warnInternalMimecast(env *Env, name string, internals []netip.Prefix, wide *mimecastip.Classifier) {
	for _, p := range internals {
		var hits []string
		for _, r := range wide.Ranges() {
			if r.Service.Mail() && p.Overlaps(r.Prefix) {
				hits = append(hits, r.Prefix.String())
			}
		}
		if len(hits) > 0 {
			more := ""
			if len(hits) > 3 {
				hits, more = hits[:3], fmt.Sprintf(" and %d more", len(hits)-3)
			}
			errorf(env, name, "warning: --internal %s overlaps Mimecast mail ranges (%s%s): hops from Mimecast there are skipped as internal relays", p, strings.Join(hits, ", "), more)
		}
	}
}
