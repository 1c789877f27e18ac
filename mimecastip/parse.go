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
	i := 0
	bracket := len(s) > 0 && s[0] == '['
	if bracket {
		i = 1
	}
	var ip [4]byte
	for k := range 4 {
		if k > 0 {
			if i >= len(s) || s[i] != '.' {
				return netip.Addr{}, false
			}
			i++
		}
		start, v := i, uint(0)
		for i < len(s) && i-start < 3 {
			d := uint(s[i]) - '0'
			if d > 9 {
				break
			}
			v = v*10 + d
			i++
		}
		// No digit, more than 3, a leading zero or a value above 255.
		if i == start || (i < len(s) && uint(s[i])-'0' <= 9) || (s[start] == '0' && i-start > 1) || v > 255 {
			return netip.Addr{}, false
		}
		ip[k] = byte(v)
	}
	if bracket {
		if i >= len(s) || s[i] != ']' {
			return netip.Addr{}, false
		}
		i++
	}
	if i < len(s) && (s[i] != ':' || !validPort(s[i+1:])) {
		return netip.Addr{}, false
	}
	return netip.AddrFrom4(ip), true
}
