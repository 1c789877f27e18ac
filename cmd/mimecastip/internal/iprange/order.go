package iprange

import (
	"net/netip"
	"slices"
)

// ComparePrefix is the one order of prefixes the command prints and
// writes: by address (IPv4 before IPv6), then by length, shorter first.
func ComparePrefix(a, b netip.Prefix) int {
	if c := a.Addr().Compare(b.Addr()); c != 0 {
		return c
	}
	return a.Bits() - b.Bits()
}

// SortPrefixes sorts ps in the order of [ComparePrefix].
func SortPrefixes(ps []netip.Prefix) {
	slices.SortFunc(ps, ComparePrefix)
}
