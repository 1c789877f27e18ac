package audit

import (
	"cmp"
	"math/bits"
	"net/netip"
	"slices"
)

// key is an address as a sortable number: IPv4 before IPv6.
type key struct {
	v6     bool
	hi, lo uint64
}

func keyOf(a netip.Addr) key {
	if a.Is4() {
		b := a.As4()
		return key{lo: uint64(b[0])<<24 | uint64(b[1])<<16 | uint64(b[2])<<8 | uint64(b[3])}
	}
	b := a.As16()
	var k key
	k.v6 = true
	for i := 0; i < 8; i++ {
		k.hi = k.hi<<8 | uint64(b[i])
		k.lo = k.lo<<8 | uint64(b[8+i])
	}
	return k
}

func (a key) cmp(b key) int {
	if a.v6 != b.v6 {
		if a.v6 {
			return 1
		}
		return -1
	}
	if c := cmp.Compare(a.hi, b.hi); c != 0 {
		return c
	}
	return cmp.Compare(a.lo, b.lo)
}

// next returns a+1 and false when a is the family's last address.
func (a key) next() (key, bool) {
	if !a.v6 {
		return key{lo: a.lo + 1}, a.lo < 0xFFFFFFFF
	}
	lo, c := bits.Add64(a.lo, 1, 0)
	hi, c2 := bits.Add64(a.hi, 0, c)
	return key{v6: true, hi: hi, lo: lo}, c2 == 0
}

// coveredByEarlier returns, for every entry, whether it is an allow entry
// whose addresses are all covered by earlier allow entries (valid, not on
// a rejecting line). It takes O(n log n) time and O(n) memory.
//
// A sweep over the entries' endpoints finds, for each elementary segment
// between consecutive endpoints, the earliest entry covering it. An entry
// that is the earliest for no segment of its own is covered by earlier
// ones.
func coveredByEarlier(entries []Entry) []bool {
	var ivs []interval
	for i, e := range entries {
		if e.Invalid == "" && !e.Deny && e.Range.From.IsValid() {
			ivs = append(ivs, interval{keyOf(e.Range.From), keyOf(e.Range.To), int32(i), int32(i)})
		}
	}
	covered := make([]bool, len(entries))
	if len(ivs) == 0 {
		return covered
	}
	// The entries' indexes in order, for the answer.
	order := make([]int32, len(ivs))
	for j, v := range ivs {
		order[j] = v.i
	}
	owns := make([]bool, len(entries))
	sweep(ivs, func(_ []key, _ int, top *interval) {
		if top != nil {
			owns[top.i] = true
		}
	})
	for _, i := range order {
		covered[i] = !owns[i]
	}
	return covered
}

// interval is an entry's range in a [sweep]: i is the entry's index, and
// the interval of lowest prio wins where several cover a point.
type interval struct {
	from, to key
	i, prio  int32
}

// sweep sorts ivs by start and walks the elementary segments between
// consecutive endpoints: for each segment start coords[j] it calls visit
// with the winning interval over it, or nil when none covers it. It takes
// O(n log n) time and O(n) memory (a min-heap by prio of the open
// intervals).
func sweep(ivs []interval, visit func(coords []key, j int, top *interval)) {
	slices.SortFunc(ivs, func(a, b interval) int { return a.from.cmp(b.from) })
	coords := make([]key, 0, 2*len(ivs))
	for _, v := range ivs {
		coords = append(coords, v.from)
		if n, ok := v.to.next(); ok {
			coords = append(coords, n)
		}
	}
	slices.SortFunc(coords, key.cmp)
	coords = slices.Compact(coords)

	var h []int32 // min-heap of positions in ivs, by prio
	less := func(x, y int32) bool { return ivs[x].prio < ivs[y].prio }
	push := func(x int32) {
		h = append(h, x)
		for c := len(h) - 1; c > 0; {
			p := (c - 1) / 2
			if !less(h[c], h[p]) {
				break
			}
			h[c], h[p] = h[p], h[c]
			c = p
		}
	}
	pop := func() {
		last := len(h) - 1
		h[0] = h[last]
		h = h[:last]
		for p := 0; ; {
			c := 2*p + 1
			if c >= len(h) {
				break
			}
			if c+1 < len(h) && less(h[c+1], h[c]) {
				c++
			}
			if !less(h[c], h[p]) {
				break
			}
			h[c], h[p] = h[p], h[c]
			p = c
		}
	}
	p := 0
	for j, c := range coords {
		for p < len(ivs) && ivs[p].from == c {
			push(int32(p))
			p++
		}
		for len(h) > 0 && ivs[h[0]].to.cmp(c) < 0 {
			pop()
		}
		if len(h) == 0 {
			visit(coords, j, nil)
		} else {
			visit(coords, j, &ivs[h[0]])
		}
	}
}
