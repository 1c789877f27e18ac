package audit

import (
	"net/netip"
	"slices"

	"github.com/seed-b311f21d/go-mimecastip/cmd/mimecastip/internal/iprange"
)

// addrOf is the inverse of keyOf.
func addrOf(k key) netip.Addr {
	if !k.v6 {
		return netip.AddrFrom4([4]byte{byte(k.lo >> 24), byte(k.lo >> 16), byte(k.lo >> 8), byte(k.lo)})
	}
	var b [16]byte
	for i := 0; i < 8; i++ {
		b[7-i] = byte(k.hi >> (8 * i))
		b[15-i] = byte(k.lo >> (8 * i))
	}
	return netip.AddrFrom16(b)
}

// prev returns a-1; a must not be the family's first address.
func (a key) prev() key {
	if !a.v6 {
		return key{lo: a.lo - 1}
	}
	if a.lo == 0 {
		return key{v6: true, hi: a.hi - 1, lo: ^uint64(0)}
	}
	return key{v6: true, hi: a.hi, lo: a.lo - 1}
}

// firstMatch returns the addresses the list lets through when it is read
// first-match, as Postfix cidr and access tables, iptables chains and most
// ACLs are: an address is allowed when the earliest valid entry holding
// it is an allow entry. An allow entry after a rejecting one for the same
// addresses ("170.10.128.0/22 REJECT" before "170.10.128.0/22 OK", or
// "0.0.0.0/0 REJECT" first) lets nothing of them through; an ipset
// "nomatch" entry takes its addresses wherever it stands. With no
// rejecting entry this is the union of the allow entries. It takes
// O(n log n) time and O(n) memory: the sweep of [coveredByEarlier], with
// the rejecting entries in it.
func firstMatch(entries []Entry) iprange.Set {
	var ivs []interval // prio: the entry's index; -1 for an ipset nomatch entry
	denies := false
	for i, e := range entries {
		if e.Invalid == "" && !e.Neutral && e.Range.From.IsValid() {
			prio := int32(i)
			if e.Exclude {
				prio = -1
			}
			ivs = append(ivs, interval{keyOf(e.Range.From), keyOf(e.Range.To), int32(i), prio})
			denies = denies || e.Deny
		}
	}
	if !denies {
		return allowSet(entries)
	}
	var b iprange.Builder
	sweep(ivs, func(coords []key, j int, top *interval) {
		if top == nil || entries[top.i].Deny {
			return
		}
		// The segment runs to the next endpoint, or to the family's
		// end, where every entry still open ends.
		c, end := coords[j], top.to
		if j+1 < len(coords) && coords[j+1].v6 == c.v6 {
			end = coords[j+1].prev()
		}
		b.AddRange(iprange.Range{From: addrOf(c), To: addrOf(end)})
	})
	return b.Set()
}

// shadowedBy reports whether part of rg is not in allowed (a sorted,
// merged set of ranges): for an allow entry, that an earlier rejecting
// entry takes those addresses first. O(log n).
func shadowedBy(allowed []iprange.Range, rg iprange.Range) bool {
	j, _ := slices.BinarySearchFunc(allowed, rg.From, func(r iprange.Range, a netip.Addr) int { return r.To.Compare(a) })
	return !(j < len(allowed) && inside(rg, allowed[j]))
}
