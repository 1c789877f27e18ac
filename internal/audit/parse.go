// Package audit checks an existing allowlist against Mimecast's published
// ranges with interval arithmetic: which published ranges of the region
// the list misses (mail from them will be lost), which entries are not
// Mimecast at all (a bypass of the gateway), which belong to another
// region, which are retired ranges, and which are written in a way a mail
// system silently skips (a CIDR with host bits set).
//
// [Parse] extracts the entries from text in any of the formats package
// export writes and the forms admins paste: plain lines, single addresses,
// a.b.c.d-e.f.g.h ranges, CIDRs with a prefix length or a dotted netmask,
// PowerShell arrays ("1.2.3.0/24","5.6.7.0/24" and @{Add=...}), nft
// "elements = { ... }", ipset "add" lines, Postfix cidr lines with their
// actions, SPF ip4:/ip6: terms. '#' starts a comment, and so does ';' at
// the start of a line (zone files).
package audit

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"unicode/utf16"

	"github.com/seed-b311f21d/go-mimecastip/internal/iprange"
	"github.com/seed-b311f21d/go-mimecastip/internal/logscan"
)

// Entry is one address, CIDR or range found in an allowlist.
type Entry struct {
	Line int    // 1-based line number
	Text string // the entry as written
	// Range is the addresses the entry stands for (for a CIDR with host
	// bits set, the masked prefix, as most tools read it).
	Range iprange.Range
	// Prefix is the entry's prefix when it is written as a CIDR (or a
	// single address, as a /32 or /128); zero for a range.
	Prefix netip.Prefix
	// NonCanonical is set for a CIDR with host bits set, such as
	// 170.10.132.5/24: Postfix skips such a rule, nginx warns.
	NonCanonical bool
	// Deny is set when the entry's line rejects rather than allows (a
	// Postfix REJECT or 5NN action, "reject", "drop", "deny", an
	// IPBlockList): such entries are not part of the allowlist.
	Deny bool
	// Invalid, when not empty, says why the entry cannot be used (a prefix
	// length out of range, a reversed range); Range is then zero.
	Invalid string
}

// Parse reads an allowlist and returns its entries in order. It returns an
// error only when r fails.
//
// Text saved by Windows PowerShell in UTF-16 (with its byte-order mark) is
// decoded; a UTF-8 byte-order mark is skipped.
func Parse(r io.Reader) ([]Entry, error) {
	r, err := decodeBOM(r)
	if err != nil {
		return nil, fmt.Errorf("line 1: %w", err)
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 16<<20)
	var out []Entry
	var ms []logscan.Match
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		if strings.HasPrefix(strings.TrimSpace(line), ";") {
			continue
		}
		ms = logscan.Find(ms[:0], []byte(line))
		if len(ms) == 0 {
			continue
		}
		deny := denyLine(line, ms)
		for k := 0; k < len(ms); k++ {
			e, used := entryAt(line, ms, k)
			e.Line, e.Deny = n, deny
			out = append(out, e)
			k += used
		}
	}
	if err := sc.Err(); err != nil {
		return out, fmt.Errorf("line %d: %w", n+1, err)
	}
	return out, nil
}

// entryAt builds the entry starting at match k; used is the number of
// further matches it consumed (the end of a range, a dotted netmask).
func entryAt(line string, ms []logscan.Match, k int) (Entry, int) {
	m := ms[k]
	a := m.Addr.Unmap()
	end := m.End
	rest := line[end:]
	// a.b.c.d-e.f.g.h, also with spaces around the '-'
	if k+1 < len(ms) {
		between := strings.TrimSpace(line[end:ms[k+1].Start])
		if between == "-" {
			b := ms[k+1].Addr.Unmap()
			text := line[m.Start:ms[k+1].End]
			if a.Is4() != b.Is4() || b.Less(a) {
				return Entry{Text: text, Invalid: "not a range: the end is before the start or of another family"}, 1
			}
			return Entry{Text: text, Range: iprange.Range{From: a, To: b}}, 1
		}
	}
	if len(rest) > 1 && rest[0] == '/' {
		// /NN or /a.b.c.d
		if k+1 < len(ms) && ms[k+1].Start == end+1 && a.Is4() && ms[k+1].Addr.Is4() {
			text := line[m.Start:ms[k+1].End]
			bits, ok := maskBits(ms[k+1].Addr)
			if !ok {
				return Entry{Text: text, Invalid: "not a contiguous netmask"}, 1
			}
			return prefixEntry(text, a, bits), 1
		}
		d := 1
		for d < len(rest) && rest[d] >= '0' && rest[d] <= '9' && d <= 4 {
			d++
		}
		if d > 1 {
			text := line[m.Start : end+d]
			bits := 0
			for _, c := range rest[1:d] {
				bits = bits*10 + int(c-'0')
			}
			if m.Addr.Is4In6() && bits >= 96 && bits <= 128 {
				bits -= 96 // ::ffff:a.b.c.d/120 is a.b.c.d/24
			}
			if max := a.BitLen(); bits > max || d > 4 {
				return Entry{Text: text, Invalid: fmt.Sprintf("prefix length /%s is longer than /%d", rest[1:d], a.BitLen())}, 0
			}
			return prefixEntry(text, a, bits), 0
		}
	}
	return prefixEntry(line[m.Start:end], a, a.BitLen()), 0
}

func prefixEntry(text string, a netip.Addr, bits int) Entry {
	p := netip.PrefixFrom(a, bits)
	return Entry{Text: text, Prefix: p.Masked(), Range: iprange.RangeOf(p), NonCanonical: p != p.Masked()}
}

func maskBits(m netip.Addr) (int, bool) {
	b := m.As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	n := 0
	for n < 32 && v&(1<<(31-n)) != 0 {
		n++
	}
	if n < 32 && v<<n != 0 {
		return 0, false
	}
	return n, true
}

var denyWords = map[string]bool{
	"reject": true, "drop": true, "deny": true, "discard": true, "defer": true, "hold": true,
	"defer_if_permit": true, "defer_if_reject": true, "ipblocklist": true, "blocklist": true,
	"blacklist": true, "denylist": true, "block": true,
}

// denyLine reports whether the line rejects its addresses: a deny word
// anywhere in it, or a 4NN/5NN code right after the last address (a
// Postfix action).
func denyLine(line string, ms []logscan.Match) bool {
	words := strings.FieldsFunc(strings.ToLower(line), func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r == '_' || r >= '0' && r <= '9')
	})
	for _, w := range words {
		if denyWords[w] {
			return true
		}
	}
	after := strings.Fields(line[ms[len(ms)-1].End:])
	for _, f := range after {
		if strings.HasPrefix(f, "/") {
			continue
		}
		return len(f) == 3 && (f[0] == '4' || f[0] == '5') && f[1] >= '0' && f[1] <= '9' && f[2] >= '0' && f[2] <= '9'
	}
	return false
}

// decodeBOM returns r as UTF-8 text: UTF-16 with a byte-order mark is
// converted, a UTF-8 byte-order mark dropped.
func decodeBOM(r io.Reader) (io.Reader, error) {
	br := bufio.NewReader(r)
	head, _ := br.Peek(3)
	switch {
	case len(head) >= 3 && head[0] == 0xEF && head[1] == 0xBB && head[2] == 0xBF:
		br.Discard(3)
		return br, nil
	case len(head) >= 2 && (head[0] == 0xFF && head[1] == 0xFE || head[0] == 0xFE && head[1] == 0xFF):
		b, err := io.ReadAll(br)
		if err != nil {
			return nil, err
		}
		le := b[0] == 0xFF
		b = b[2:]
		u := make([]uint16, 0, len(b)/2)
		for i := 0; i+1 < len(b); i += 2 {
			if le {
				u = append(u, uint16(b[i])|uint16(b[i+1])<<8)
			} else {
				u = append(u, uint16(b[i])<<8|uint16(b[i+1]))
			}
		}
		return strings.NewReader(string(utf16.Decode(u))), nil
	}
	return br, nil
}
