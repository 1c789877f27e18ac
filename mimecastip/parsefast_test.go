package mimecastip

import "net/netip"

// parseFast4 is the fast path of ParseAddr and LookupString for the forms
// that carry an IPv4 address in dotted-quad notation:
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
	return parseQuadForms(s)
}
