package audit

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"strings"

	"github.com/seed-b311f21d/go-mimecastip/regions"
)

// An authorized-outbound list is the account's list of the addresses
// Mimecast accepts outbound mail from (seed "Maintaining Authorized
// Outbound Addresses"): single public IP addresses, "networks cannot be
// added"; mail from any other address is temporarily failed with "Open
// relay not allowed". CheckOutbound checks such a list, one entry (or a
// few, separated by spaces, commas or semicolons) a line, '#' comments.

// OutboundEntry is the verdict on one entry of an authorized-outbound list.
type OutboundEntry struct {
	Line    int    `json:"line"`
	Text    string `json:"entry"`
	Level   Level  `json:"level"` // "info" (fine), "warning" or "error"
	Kind    string `json:"kind"`  // ok, network, private, special, ipv6, duplicate, invalid, mimecast
	Message string `json:"message"`
}

// OutboundReport is the result of [CheckOutbound].
type OutboundReport struct {
	Entries  []OutboundEntry `json:"entries"`
	Errors   int             `json:"errors"`
	Warnings int             `json:"warnings"`
	OK       bool            `json:"ok"` // no errors and at least one entry
}

// MaxOutboundLine is the longest line CheckOutbound reads.
const MaxOutboundLine = 64 << 10

// MaxOutboundEntries is the most entries CheckOutbound reads; a longer
// input is an error (an account has a handful of outbound addresses).
const MaxOutboundEntries = 100000

// special lists the IPv4 special-purpose blocks (IANA IPv4 Special-Purpose
// Address Registry, RFC 6890 and updates) with why each cannot be an
// address Mimecast sees mail from. Mimecast sees the public address your
// mail leaves from, after NAT.
var special = []struct {
	prefix netip.Prefix
	kind   string
	why    string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "special", `"this network" (RFC 791), not a source on the internet`},
	{netip.MustParsePrefix("10.0.0.0/8"), "private", "a private address (RFC 1918): Mimecast sees your public (NAT) address instead"},
	{netip.MustParsePrefix("100.64.0.0/10"), "private", "shared address space for carrier-grade NAT (RFC 6598): Mimecast sees the carrier's public address"},
	{netip.MustParsePrefix("127.0.0.0/8"), "special", "a loopback address (RFC 1122)"},
	{netip.MustParsePrefix("169.254.0.0/16"), "special", "a link-local address (RFC 3927)"},
	{netip.MustParsePrefix("172.16.0.0/12"), "private", "a private address (RFC 1918): Mimecast sees your public (NAT) address instead"},
	{netip.MustParsePrefix("192.0.0.0/24"), "special", "IETF protocol assignments (RFC 6890), not a public host"},
	{netip.MustParsePrefix("192.0.2.0/24"), "special", "a documentation address (TEST-NET-1, RFC 5737), never on the internet"},
	{netip.MustParsePrefix("192.31.196.0/24"), "special", "AS112-v4 (RFC 7535), not a mail server"},
	{netip.MustParsePrefix("192.52.193.0/24"), "special", "AMT (RFC 7450), not a mail server"},
	{netip.MustParsePrefix("192.88.99.0/24"), "special", "the deprecated 6to4 relay anycast block (RFC 7526)"},
	{netip.MustParsePrefix("192.168.0.0/16"), "private", "a private address (RFC 1918): Mimecast sees your public (NAT) address instead"},
	{netip.MustParsePrefix("192.175.48.0/24"), "special", "direct delegation AS112 (RFC 7534), not a mail server"},
	{netip.MustParsePrefix("198.18.0.0/15"), "special", "benchmarking address space (RFC 2544), never on the internet"},
	{netip.MustParsePrefix("198.51.100.0/24"), "special", "a documentation address (TEST-NET-2, RFC 5737), never on the internet"},
	{netip.MustParsePrefix("203.0.113.0/24"), "special", "a documentation address (TEST-NET-3, RFC 5737), never on the internet"},
	{netip.MustParsePrefix("224.0.0.0/4"), "special", "a multicast address (RFC 5771), never a mail source"},
	{netip.MustParsePrefix("240.0.0.0/4"), "special", "reserved (RFC 1112) or the limited broadcast address, never a mail source"},
}

func specialOf(a netip.Addr) (kind, why string, ok bool) {
	for _, s := range special {
		if s.prefix.Contains(a) {
			return s.kind, s.why, true
		}
	}
	return "", "", false
}

// CheckOutbound checks an authorized-outbound list read from r. Each entry
// must be a single public IPv4 address (a /32 is taken as one); a
// network, a range, a private or special-purpose address, an IPv6 or
// IPv4-mapped IPv6 address, anything unreadable and a repeated address are errors, each
// naming its line and why. An address inside Mimecast's own published
// ranges (d, may be nil) is a warning: the gateways are Mimecast's, not
// the account's servers. The error is for a failing reader, an over-long
// line or too many entries.
func CheckOutbound(r io.Reader, d *regions.Dataset) (*OutboundReport, error) {
	r, err := decodeBOM(r)
	if err != nil {
		return nil, fmt.Errorf("line 1: %w", err)
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), MaxOutboundLine)
	rep := &OutboundReport{Entries: []OutboundEntry{}}
	seen := map[netip.Addr]int{}
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		for _, f := range strings.FieldsFunc(line, func(c rune) bool {
			return c == ' ' || c == '\t' || c == ',' || c == ';' || c == '\r'
		}) {
			if len(rep.Entries) >= MaxOutboundEntries {
				return nil, fmt.Errorf("line %d: more than %d entries: not an authorized-outbound list", n, MaxOutboundEntries)
			}
			e := checkOutboundEntry(f, d, seen)
			e.Line = n
			if e.Kind == "ok" || e.Kind == "mimecast" {
				a, _ := parseSingle(f)
				seen[a] = n
			}
			switch e.Level {
			case Error:
				rep.Errors++
			case Warning:
				rep.Warnings++
			}
			rep.Entries = append(rep.Entries, e)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("line %d: %w", n+1, err)
	}
	rep.OK = rep.Errors == 0 && len(rep.Entries) > 0
	return rep, nil
}

// parseSingle parses a single address, also written as a /32.
func parseSingle(s string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(s); err == nil {
		return a, true
	}
	if p, err := netip.ParsePrefix(s); err == nil && p.IsSingleIP() && p.Addr().Is4() {
		return p.Addr(), true
	}
	return netip.Addr{}, false
}

func checkOutboundEntry(text string, d *regions.Dataset, seen map[netip.Addr]int) OutboundEntry {
	e := OutboundEntry{Text: text, Level: Error}
	bad := func(kind, format string, a ...any) OutboundEntry {
		e.Kind, e.Message = kind, fmt.Sprintf(format, a...)
		return e
	}
	a, ok := parseSingle(text)
	if !ok {
		if p, err := netip.ParsePrefix(text); err == nil {
			size := "many"
			if p.Addr().Is4() {
				size = fmt.Sprint(uint64(1) << (32 - p.Bits()))
			}
			return bad("network", "a network (%s addresses): Mimecast authorizes single addresses only (\"networks cannot be added\"); list each address your mail leaves from", size)
		}
		if from, to, found := strings.Cut(text, "-"); found {
			if _, err1 := netip.ParseAddr(from); err1 == nil {
				if _, err2 := netip.ParseAddr(to); err2 == nil {
					return bad("network", "a range of addresses: Mimecast authorizes single addresses only (\"networks cannot be added\"); list each address your mail leaves from")
				}
			}
		}
		return bad("invalid", "not an IPv4 address")
	}
	if a.Zone() != "" {
		return bad("invalid", "an address with a zone is not a public address")
	}
	if a.Is4In6() {
		return bad("invalid", "an IPv4-mapped IPv6 address: the list takes plain IPv4 addresses; write %s", a.Unmap())
	}
	if !a.Is4() {
		return bad("ipv6", "an IPv6 address: authorized outbounds are single public IPv4 addresses")
	}
	if kind, why, ok := specialOf(a); ok {
		return bad(kind, "%s", why)
	}
	if line, dup := seen[a]; dup {
		return bad("duplicate", "%s is already on line %d", a, line)
	}
	if d != nil {
		for _, r := range d.Ranges {
			if r.Prefix.Contains(a) && !r.Retired {
				e.Level, e.Kind = Warning, "mimecast"
				e.Message = fmt.Sprintf("inside Mimecast's own %s range %s (%s): Mimecast's gateways are not your outbound servers", r.Regions, r.Prefix, r.Service)
				return e
			}
		}
	}
	e.Level, e.Kind, e.Message = Info, "ok", "a single public IPv4 address"
	return e
}

// WriteText writes the report for the list called name.
func (rep *OutboundReport) WriteText(w io.Writer, name string) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "authorized-outbound audit of %s: %d entries\n\n", name, len(rep.Entries))
	width := 0
	for _, e := range rep.Entries {
		width = max(width, len(e.Text))
	}
	for _, e := range rep.Entries {
		status := "ok"
		switch e.Level {
		case Error:
			status = "ERROR"
		case Warning:
			status = "warning"
		}
		fmt.Fprintf(bw, "line %-4d %-*s  %-8s %s\n", e.Line, width, e.Text, status, e.Message)
	}
	result := "OK"
	if !rep.OK {
		result = "FAIL"
	}
	fmt.Fprintf(bw, "\nresult: %s (%d errors, %d warnings)\n", result, rep.Errors, rep.Warnings)
	return bw.Flush()
}
