// Package reference is a deliberately plain longest-prefix-match over
// []regions.Range: a linear scan with netip.Prefix.Contains. It is the
// oracle that tests and fuzzers compare the trie and any fast path against;
// it aims for obviousness, not speed.
package reference

import (
	"net/netip"

	"github.com/seed-b311f21d/go-mimecastip/regions"
)

// Lookup returns the most specific active (not retired) range of rs that
// contains addr, after unmapping IPv4-mapped addresses and dropping any
// zone. The zero Addr matches nothing. Among equal prefixes the first wins.
func Lookup(rs []regions.Range, addr netip.Addr) (regions.Range, bool) {
	if !addr.IsValid() {
		return regions.Range{}, false
	}
	addr = addr.Unmap().WithZone("")
	best := -1
	for i, r := range rs {
		if r.Retired || !r.Prefix.Contains(addr) {
			continue
		}
		if best < 0 || r.Prefix.Bits() > rs[best].Prefix.Bits() {
			best = i
		}
	}
	if best < 0 {
		return regions.Range{}, false
	}
	return rs[best], true
}
