// Package iprange does interval arithmetic on IP address ranges: a [Set] is
// a sorted list of disjoint, non-adjacent inclusive ranges of one or both
// families, built from prefixes or ranges and turned back into the fewest
// canonical prefixes. It is what export uses to merge nested and adjacent
// prefixes, and what audit uses to tell how much of an allowlist entry is
// Mimecast.
package iprange

import (
	"math/bits"
	"net/netip"
	"slices"
)

// u128 is an address as a 128-bit number (IPv4 addresses use the low 32 bits).
type u128 struct{ hi, lo uint64 }

func (a u128) less(b u128) bool { return a.hi < b.hi || a.hi == b.hi && a.lo < b.lo }
func (a u128) cmp(b u128) int {
	switch {
	case a == b:
		return 0
	case a.less(b):
		return -1
	}
	return 1
}
func (a u128) add1() u128 {
	lo, c := bits.Add64(a.lo, 1, 0)
	return u128{a.hi + c, lo}
}
func (a u128) sub1() u128 {
	lo, b := bits.Sub64(a.lo, 1, 0)
	return u128{a.hi - b, lo}
}
func (a u128) sub(b u128) u128 {
	lo, br := bits.Sub64(a.lo, b.lo, 0)
	return u128{a.hi - b.hi - br, lo}
}

// trailingZeros returns the number of trailing zero bits (128 for zero).
func (a u128) trailingZeros() int {
	if a.lo != 0 {
		return bits.TrailingZeros64(a.lo)
	}
	if a.hi != 0 {
		return 64 + bits.TrailingZeros64(a.hi)
	}
	return 128
}

// bitLen returns the number of bits needed to hold a.
func (a u128) bitLen() int {
	if a.hi != 0 {
		return 64 + bits.Len64(a.hi)
	}
	return bits.Len64(a.lo)
}

func toU128(a netip.Addr) u128 {
	a = a.Unmap().WithZone("")
	if a.Is4() {
		b := a.As4()
		return u128{0, uint64(b[0])<<24 | uint64(b[1])<<16 | uint64(b[2])<<8 | uint64(b[3])}
	}
	b := a.As16()
	var x u128
	for i := 0; i < 8; i++ {
		x.hi = x.hi<<8 | uint64(b[i])
		x.lo = x.lo<<8 | uint64(b[8+i])
	}
	return x
}

func fromU128(x u128, v4 bool) netip.Addr {
	if v4 {
		return netip.AddrFrom4([4]byte{byte(x.lo >> 24), byte(x.lo >> 16), byte(x.lo >> 8), byte(x.lo)})
	}
	var b [16]byte
	for i := 0; i < 8; i++ {
		b[7-i] = byte(x.hi >> (8 * i))
		b[15-i] = byte(x.lo >> (8 * i))
	}
	return netip.AddrFrom16(b)
}

// Range is an inclusive range of addresses of one family, From <= To.
type Range struct {
	From, To netip.Addr
}

// RangeOf returns the range of addresses in p (masked first). IPv4-mapped
// prefixes are unmapped.
func RangeOf(p netip.Prefix) Range {
	p = unmapPrefix(p).Masked()
	return Range{p.Addr(), lastAddr(p)}
}

func unmapPrefix(p netip.Prefix) netip.Prefix {
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		return netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return netip.PrefixFrom(p.Addr().WithZone(""), p.Bits())
}

func lastAddr(p netip.Prefix) netip.Addr {
	x := toU128(p.Addr())
	width := 128
	if p.Addr().Is4() {
		width = 32
	}
	host := width - p.Bits()
	var m u128
	switch {
	case host >= 128:
		m = u128{^uint64(0), ^uint64(0)}
	case host >= 64:
		m = u128{(1 << (host - 64)) - 1, ^uint64(0)}
	default:
		m = u128{0, (1 << host) - 1}
	}
	return fromU128(u128{x.hi | m.hi, x.lo | m.lo}, p.Addr().Is4())
}

// Prefixes returns the fewest canonical prefixes that cover exactly r.
func (r Range) Prefixes() []netip.Prefix {
	return appendPrefixes(nil, r)
}

func appendPrefixes(out []netip.Prefix, r Range) []netip.Prefix {
	v4 := r.From.Is4()
	width := 128
	if v4 {
		width = 32
	}
	lo, hi := toU128(r.From), toU128(r.To)
	for {
		// The largest block aligned at lo that does not pass hi.
		host := lo.trailingZeros()
		if host > width {
			host = width
		}
		span := hi.sub(lo).add1() // may wrap to 0 for the whole space
		if span != (u128{}) {
			if l := span.bitLen() - 1; l < host {
				host = l
			}
		}
		out = append(out, netip.PrefixFrom(fromU128(lo, v4), width-host))
		end := lo
		// end = lo + 2^host - 1
		if host >= 64 {
			end.hi |= (1 << (host - 64)) - 1
			if host == 128 {
				end.hi = ^uint64(0)
			}
			end.lo = ^uint64(0)
		} else {
			end.lo |= (1 << host) - 1
		}
		if !end.less(hi) {
			return out
		}
		lo = end.add1()
	}
}

// Len returns the number of addresses in r as a float (exact up to 2^53).
func (r Range) Len() float64 {
	d := toU128(r.To).sub(toU128(r.From))
	return float64(d.hi)*18446744073709551616.0 + float64(d.lo) + 1
}

// String returns "from-to", or a single address when From == To.
func (r Range) String() string {
	if r.From == r.To {
		return r.From.String()
	}
	return r.From.String() + "-" + r.To.String()
}

type iv struct{ lo, hi u128 }

// Set is a set of addresses of both families. The zero Set is empty. Sets
// are values; the methods never modify their operands.
type Set struct {
	v4, v6 []iv
}

// FromPrefixes returns the set of addresses in any of ps.
func FromPrefixes(ps ...netip.Prefix) Set {
	var b Builder
	for _, p := range ps {
		b.AddPrefix(p)
	}
	return b.Set()
}

// Builder collects ranges; Set returns their union.
type Builder struct {
	v4, v6 []iv
}

// AddPrefix adds the addresses of p (masked; IPv4-mapped unmapped).
func (b *Builder) AddPrefix(p netip.Prefix) {
	if !p.IsValid() {
		return
	}
	b.AddRange(RangeOf(p))
}

// AddRange adds r. A range whose ends are of different families or
// reversed is ignored.
func (b *Builder) AddRange(r Range) {
	f, t := r.From.Unmap(), r.To.Unmap()
	if !f.IsValid() || !t.IsValid() || f.Is4() != t.Is4() || t.Less(f) {
		return
	}
	x := iv{toU128(f), toU128(t)}
	if f.Is4() {
		b.v4 = append(b.v4, x)
	} else {
		b.v6 = append(b.v6, x)
	}
}

// AddSet adds every address of s.
func (b *Builder) AddSet(s Set) {
	b.v4 = append(b.v4, s.v4...)
	b.v6 = append(b.v6, s.v6...)
}

// Set returns the union of everything added.
func (b *Builder) Set() Set {
	return Set{normalize(b.v4), normalize(b.v6)}
}

func normalize(in []iv) []iv {
	if len(in) == 0 {
		return nil
	}
	s := slices.Clone(in)
	slices.SortFunc(s, func(a, b iv) int { return a.lo.cmp(b.lo) })
	out := s[:1]
	for _, x := range s[1:] {
		last := &out[len(out)-1]
		// merge when overlapping or adjacent
		if last.hi == (u128{^uint64(0), ^uint64(0)}) || !last.hi.add1().less(x.lo) {
			if last.hi.less(x.hi) {
				last.hi = x.hi
			}
			continue
		}
		out = append(out, x)
	}
	return out
}

// IsEmpty reports whether s holds no address.
func (s Set) IsEmpty() bool { return len(s.v4) == 0 && len(s.v6) == 0 }

// Ranges returns the ranges of s, IPv4 first, in address order.
func (s Set) Ranges() []Range {
	out := make([]Range, 0, len(s.v4)+len(s.v6))
	for _, x := range s.v4 {
		out = append(out, Range{fromU128(x.lo, true), fromU128(x.hi, true)})
	}
	for _, x := range s.v6 {
		out = append(out, Range{fromU128(x.lo, false), fromU128(x.hi, false)})
	}
	return out
}

// Prefixes returns the fewest canonical prefixes covering exactly s, IPv4
// first, in address order.
func (s Set) Prefixes() []netip.Prefix {
	var out []netip.Prefix
	for _, r := range s.Ranges() {
		out = appendPrefixes(out, r)
	}
	return out
}

// Len returns the number of addresses in s (IPv4 and IPv6 together), as a
// float.
func (s Set) Len() float64 {
	var n float64
	for _, r := range s.Ranges() {
		n += r.Len()
	}
	return n
}

// Union returns the addresses in s or t.
func (s Set) Union(t Set) Set {
	var b Builder
	b.AddSet(s)
	b.AddSet(t)
	return b.Set()
}

// Intersect returns the addresses in both s and t.
func (s Set) Intersect(t Set) Set {
	return Set{intersect(s.v4, t.v4), intersect(s.v6, t.v6)}
}

func intersect(a, b []iv) []iv {
	var out []iv
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		lo := a[i].lo
		if lo.less(b[j].lo) {
			lo = b[j].lo
		}
		hi := a[i].hi
		if b[j].hi.less(hi) {
			hi = b[j].hi
		}
		if !hi.less(lo) {
			out = append(out, iv{lo, hi})
		}
		if a[i].hi.less(b[j].hi) {
			i++
		} else {
			j++
		}
	}
	return out
}

// Minus returns the addresses in s and not in t.
func (s Set) Minus(t Set) Set {
	return Set{minus(s.v4, t.v4), minus(s.v6, t.v6)}
}

func minus(a, b []iv) []iv {
	var out []iv
	j := 0
	for _, x := range a {
		lo := x.lo
		done := false
		for j < len(b) && b[j].hi.less(lo) {
			j++
		}
		for k := j; k < len(b) && !x.hi.less(b[k].lo); k++ {
			if lo.less(b[k].lo) {
				out = append(out, iv{lo, b[k].lo.sub1()})
			}
			if !b[k].hi.less(x.hi) {
				done = true
				break
			}
			lo = b[k].hi.add1()
		}
		if !done {
			out = append(out, iv{lo, x.hi})
		}
	}
	return out
}

// Contains reports whether a is in s.
func (s Set) Contains(a netip.Addr) bool {
	a = a.Unmap()
	if !a.IsValid() {
		return false
	}
	x := toU128(a)
	list := s.v6
	if a.Is4() {
		list = s.v4
	}
	i, _ := slices.BinarySearchFunc(list, x, func(e iv, t u128) int {
		if e.hi.less(t) {
			return -1
		}
		if t.less(e.lo) {
			return 1
		}
		return 0
	})
	return i < len(list) && !x.less(list[i].lo) && !list[i].hi.less(x)
}

// Covers reports whether every address of t is in s.
func (s Set) Covers(t Set) bool { return t.Minus(s).IsEmpty() }

// Equal reports whether s and t hold the same addresses.
func (s Set) Equal(t Set) bool { return slices.Equal(s.v4, t.v4) && slices.Equal(s.v6, t.v6) }

// FromRange returns the set of addresses in r.
func FromRange(r Range) Set {
	var b Builder
	b.AddRange(r)
	return b.Set()
}
