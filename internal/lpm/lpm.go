// Package lpm is the longest-prefix-match engine under the public
// packages matcher and mimecastip: a bart trie over [regions.Range] rows,
// plus an IPv4 table compiled from it.
//
// The trie defines the answer and serves IPv6. For IPv4, [New] also
// compiles the trie into a direct-indexed table (DIR-16-8-8: three
// dependent loads per lookup, no data-dependent branch), at most 4 MiB; a
// dataset that would need more is served by the trie alone.
//
// Answers are slots: 0 for no range, 1+i for the range at position i of
// [Matcher.Ranges], so that a caller can index a table of Len()+1 entries
// with no branch on the answer. [Matcher.Table8] exposes the compact IPv4
// table so that mimecastip can inline its walk: the public API's speed
// rests on it, which is why it is here and not in package matcher.
//
// A [Matcher] never changes once built and is safe for concurrent use.
//
// Address rules, the same for every method:
//   - IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are unmapped first, so they
//     match IPv4 prefixes. A dual-stack listener reports IPv4 clients that
//     way, and the trie itself does not unmap.
//   - IPv6 zones are ignored: fe80::1%eth0 is looked up as fe80::1.
//   - The zero [netip.Addr] matches nothing.
//
// When prefixes nest, the most specific one decides. Errors keep the
// prefix "matcher:", the public package they reach users through.
package lpm

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"slices"

	"github.com/gaissmai/bart"

	"github.com/seed-b311f21d/go-mimecastip/regions"
)

// MaxRanges is the most active rows a Matcher can hold.
const MaxRanges = 1<<16 - 1

// Matcher finds the most specific active range containing an address.
//
// The zero Matcher (and a nil *Matcher) is empty: it matches nothing.
type Matcher struct {
	f4     *fast4             // IPv4 fast path compiled from tbl; nil when none
	has6   bool               // tbl holds IPv6 prefixes
	tbl    bart.Table[uint16] // prefix -> index into ranges
	ranges []regions.Range
}

// New builds a Matcher from rs. Retired rows ([regions.Range.Retired]) are
// skipped: they are history and never match. The active rows must have
// valid, canonical prefixes (host bits zero), IPv4 prefixes must not be
// written in 4-in-6 form, and no prefix may appear twice; otherwise New
// returns an error naming every offending row. rs is copied; the caller may
// change it afterwards.
func New(rs []regions.Range) (*Matcher, error) {
	m := &Matcher{}
	var errs []error
	at := map[netip.Prefix]int{}
	for i, r := range rs {
		if r.Retired {
			continue
		}
		p := r.Prefix
		switch {
		case !p.IsValid():
			errs = append(errs, fmt.Errorf("matcher: row %d%s: invalid prefix", i, lineOf(r)))
			continue
		case p != p.Masked():
			errs = append(errs, fmt.Errorf("matcher: row %d%s: prefix %s is not canonical (want %s)", i, lineOf(r), p, p.Masked()))
			continue
		case p.Addr().Is4In6():
			errs = append(errs, fmt.Errorf("matcher: row %d%s: prefix %s is IPv4 in 4-in-6 form; it could never match", i, lineOf(r), p))
			continue
		case p.Addr().Zone() != "":
			errs = append(errs, fmt.Errorf("matcher: row %d%s: prefix %s has a zone", i, lineOf(r), p))
			continue
		}
		if j, dup := at[p]; dup {
			errs = append(errs, fmt.Errorf("matcher: row %d%s: prefix %s already in row %d", i, lineOf(r), p, j))
			continue
		}
		at[p] = i
		if len(m.ranges) == MaxRanges {
			errs = append(errs, fmt.Errorf("matcher: more than %d active rows", MaxRanges))
			break
		}
		r.Sources = slices.Clone(r.Sources)
		m.tbl.Insert(p, uint16(len(m.ranges)))
		m.ranges = append(m.ranges, r)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	m.compile4()
	return m, nil
}

// compile4 builds the IPv4 fast path from the trie's IPv4 prefixes.
func (m *Matcher) compile4() {
	var ps []pfx4
	for p, i := range m.tbl.All4() {
		a := p.Addr().As4()
		ps = append(ps, pfx4{
			addr: uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3]),
			bits: p.Bits(),
			slot: i + 1,
		})
	}
	m.f4 = buildFast4(ps)
	m.has6 = m.tbl.Size6() > 0
}

func lineOf(r regions.Range) string {
	if r.Line > 0 {
		return fmt.Sprintf(" (line %d)", r.Line)
	}
	return ""
}

// Index returns the position, in [Matcher.Ranges], of the most specific
// range containing addr, and whether there is one.
func (m *Matcher) Index(addr netip.Addr) (int, bool) {
	s := m.Slot(addr)
	if s == 0 {
		return 0, false
	}
	return s - 1, true
}

// Slot returns 1 + [Matcher.Index] of the most specific range containing
// addr, or 0 when there is none: an index into a table of Len()+1 entries
// whose entry 0 stands for "no range", with no branch on the answer.
func (m *Matcher) Slot(addr netip.Addr) int {
	if addr.Is4() && m != nil && m.f4 != nil {
		a := addr.As4()
		return int(m.f4.lookup(binary.BigEndian.Uint32(a[:])))
	}
	return m.slotSlow(addr)
}

// Slot4 is Slot for an IPv4 address given as its 4 bytes (network order),
// for callers that hold the bytes rather than a netip.Addr.
func (m *Matcher) Slot4(ip [4]byte) int {
	if m != nil && m.f4 != nil {
		return int(m.f4.lookup(binary.BigEndian.Uint32(ip[:])))
	}
	return m.slotSlow(netip.AddrFrom4(ip))
}

// Table8 returns m's IPv4 fast path in its compact form, or nil when m
// uses another form or none (see [Table8]). Its answers are Slot's.
func (m *Matcher) Table8() *Table8 {
	if m == nil || m.f4 == nil {
		return nil
	}
	return m.f4.n8
}

// slotSlow serves IPv4-mapped addresses (through the fast path), IPv6, the
// zero Addr, and every address when there is no fast path. It is apart
// from Slot to keep Slot's frame small for plain IPv4.
func (m *Matcher) slotSlow(addr netip.Addr) int {
	if m == nil {
		return 0
	}
	addr = addr.Unmap()
	if addr.Is4() && m.f4 != nil {
		a := addr.As4()
		return int(m.f4.lookup(binary.BigEndian.Uint32(a[:])))
	}
	if !addr.Is4() && !m.has6 { // IPv6 (or the zero Addr) and no IPv6 prefix
		return 0
	}
	i, ok := m.tbl.Lookup(addr)
	if !ok {
		return 0
	}
	return int(i) + 1
}

// Lookup returns the most specific range containing addr, and whether there
// is one. The returned Range shares its Sources slice with the Matcher;
// callers must not modify it.
func (m *Matcher) Lookup(addr netip.Addr) (regions.Range, bool) {
	i, ok := m.Index(addr)
	if !ok {
		return regions.Range{}, false
	}
	return m.ranges[i], true
}

// Contains reports whether any range contains addr.
func (m *Matcher) Contains(addr netip.Addr) bool {
	return m.Slot(addr) != 0
}

// Len returns the number of active ranges in m.
func (m *Matcher) Len() int {
	if m == nil {
		return 0
	}
	return len(m.ranges)
}

// Range returns the range at position i of [Matcher.Ranges]. It panics if i
// is out of range, like a slice index.
func (m *Matcher) Range(i int) regions.Range { return m.ranges[i] }

// Ranges returns a copy of the active ranges in m, in the order given to
// [New]; [Matcher.Index] returns positions in this slice.
func (m *Matcher) Ranges() []regions.Range {
	if m == nil {
		return nil
	}
	out := slices.Clone(m.ranges)
	for i := range out {
		out[i].Sources = slices.Clone(out[i].Sources)
	}
	return out
}
