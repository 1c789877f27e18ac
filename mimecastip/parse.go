package mimecastip

import (
	"fmt"
	"net/netip"
	"strings"
)

type addrError struct{ in string }

func (e *addrError) Error() string {
	return fmt.Sprintf("mimecastip: LookupString(%q): not an IP address (want a.b.c.d, an IPv6 address, [address] or address:port)", e.in)
}

// parseAddr accepts the forms documented on LookupString. It picks the form
// before parsing, so no failed attempt allocates an error.
func parseAddr(s string) (netip.Addr, bool) {
	h := s
	if len(h) > 0 && h[0] == '[' {
		end := strings.IndexByte(h, ']')
		if end < 0 {
			return netip.Addr{}, false
		}
		if rest := h[end+1:]; rest != "" && (rest[0] != ':' || !validPort(rest[1:])) {
			return netip.Addr{}, false
		}
		h = trimTag(h[1:end])
	} else if colons := strings.Count(h, ":"); colons == 1 {
		i := strings.IndexByte(h, ':')
		if !validPort(h[i+1:]) {
			return netip.Addr{}, false
		}
		h = h[:i]
		if strings.IndexByte(h, '.') < 0 {
			return netip.Addr{}, false
		}
	} else if colons > 1 {
		h = trimTag(h)
	}
	a, err := netip.ParseAddr(h)
	if err != nil {
		return netip.Addr{}, false
	}
	return a, true
}

func trimTag(h string) string {
	if len(h) > 5 && strings.EqualFold(h[:5], "IPv6:") {
		return h[5:]
	}
	return h
}

func validPort(p string) bool {
	if p == "" || len(p) > 5 {
		return false
	}
	n := 0
	for i := 0; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return false
		}
		n = n*10 + int(p[i]-'0')
	}
	return n <= 65535
}

// parseFast4 is the fast path of LookupString for the forms that carry an
// IPv4 address in dotted-quad notation:
//
//	a.b.c.d   a.b.c.d:port   [a.b.c.d]   [a.b.c.d]:port
//
// where a.b.c.d is exactly what netip.ParseAddr accepts as IPv4: four
// decimal fields 0-255 without leading zeros, and port is what validPort
// accepts. For these inputs it returns what parseAddr returns; for any
// other input it returns false and parseAddr decides. FuzzParseAddrFast
// checks both halves of that.
func parseFast4(s string) (netip.Addr, bool) {
	if a, ok := parseQuad(s); ok {
		return a, true
	}
	h := s
	if len(h) > 0 && h[0] == '[' {
		end := strings.IndexByte(h, ']')
		if end < 0 {
			return netip.Addr{}, false
		}
		if rest := h[end+1:]; rest != "" && (rest[0] != ':' || !validPort(rest[1:])) {
			return netip.Addr{}, false
		}
		h = h[1:end]
	} else if i := strings.IndexByte(h, ':'); i >= 0 {
		if !validPort(h[i+1:]) {
			return netip.Addr{}, false
		}
		h = h[:i]
	} else {
		return netip.Addr{}, false
	}
	return parseQuad(h)
}

// parseQuad parses s when it is exactly a dotted quad as netip.ParseAddr
// accepts it: four decimal fields 0-255, no leading zeros, nothing else.
// It is netip's IPv4 loop without the error values and the dispatch
// between IPv4 and IPv6, and with the per-field checks done once per field
// rather than once per digit. (Branch-free SWAR variants, dot and digit
// masks 8 bytes at a time, were tried: on the AMD EPYC VM of bench/compare
// they were 1.4x slower than this loop, whose branches predict well.)
func parseQuad(s string) (netip.Addr, bool) {
	if len(s) < len("0.0.0.0") || len(s) > len("255.255.255.255") {
		return netip.Addr{}, false
	}
	var ip [4]byte
	k, v, digits := 0, uint(0), uint(0)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '.' {
			// The field is checked whole: 1 to 3 digits, no leading zero
			// (a value below minField), at most 255.
			if k == 3 || digits-1 > 2 || v < minField[digits&3] || v > 255 {
				return netip.Addr{}, false
			}
			ip[k] = byte(v)
			k++
			v, digits = 0, 0
			continue
		}
		d := uint(c) - '0'
		if d > 9 {
			return netip.Addr{}, false
		}
		v = v*10 + d // at most 15 digits: no overflow
		digits++
	}
	if k != 3 || digits-1 > 2 || v < minField[digits&3] || v > 255 {
		return netip.Addr{}, false
	}
	ip[3] = byte(v)
	return netip.AddrFrom4(ip), true
}

// minField is the least value of a field of n digits with no leading zero.
var minField = [4]uint{0, 0, 10, 100}
