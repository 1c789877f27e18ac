// Package compare benchmarks go-mimecastip side by side with the
// alternatives a Go program could use for the same question, over the same
// prefixes and the same address streams. It is a separate module so that
// the peers never become dependencies of the library's users.
//
// Every implementation answers with a code: 0 for no published range, 1
// for a Mimecast gateway, 2 for a non-SPF relay, 3 for a published range
// that is Foreign (website, Web Security). Membership-only peers
// (bart.Lite, netipx.IPSet) answer whether the code is non-zero.
package compare

import (
	"cmp"
	"encoding/binary"
	"net/netip"
	"slices"
	"sort"

	"github.com/gaissmai/bart"
	"go4.org/netipx"

	"github.com/seed-b311f21d/go-mimecastip/mimecastip"
	"github.com/seed-b311f21d/go-mimecastip/regions"
)

// Code is the answer of every implementation; see the package comment.
type Code = uint8

// CodeOf turns a mimecastip.Result into a Code.
func CodeOf(r mimecastip.Result) Code {
	switch {
	case !r.Prefix().IsValid():
		return 0
	case r.Class == mimecastip.Mimecast:
		return 1
	case r.Class == mimecastip.NonSPF:
		return 2
	}
	return 3
}

// Entry is one active published prefix with its code.
type Entry struct {
	Prefix netip.Prefix
	Code   Code
}

// Entries returns the active prefixes of the embedded dataset with their
// codes, in the dataset's order.
func Entries() []Entry {
	var es []Entry
	for _, r := range regions.Ranges() {
		if r.Retired {
			continue
		}
		c := Code(3)
		switch mimecastip.ClassOf(r.Service) {
		case mimecastip.Mimecast:
			c = 1
		case mimecastip.NonSPF:
			c = 2
		}
		es = append(es, Entry{r.Prefix, c})
	}
	return es
}

func u32(a netip.Addr) uint32 { b := a.As4(); return binary.BigEndian.Uint32(b[:]) }

// NewTable returns a bart.Table over es.
func NewTable(es []Entry) *bart.Table[Code] {
	t := new(bart.Table[Code])
	for _, e := range es {
		t.Insert(e.Prefix, e.Code)
	}
	return t
}

// NewFast returns a bart.Fast over es.
func NewFast(es []Entry) *bart.Fast[Code] {
	t := new(bart.Fast[Code])
	for _, e := range es {
		t.Insert(e.Prefix, e.Code)
	}
	return t
}

// NewLite returns a bart.Lite over es (membership only).
func NewLite(es []Entry) *bart.Lite {
	t := new(bart.Lite)
	for _, e := range es {
		t.Insert(e.Prefix)
	}
	return t
}

// NewIPSet returns a netipx.IPSet over es (membership only).
func NewIPSet(es []Entry) *netipx.IPSet {
	var b netipx.IPSetBuilder
	for _, e := range es {
		b.AddPrefix(e.Prefix)
	}
	s, err := b.IPSet()
	if err != nil {
		panic(err)
	}
	return s
}

// Linear is a linear scan of netip.Prefix, longest prefix first, so the
// first match is the longest-prefix match.
type Linear []Entry

// NewLinear returns a Linear over es.
func NewLinear(es []Entry) Linear {
	l := slices.Clone(es)
	slices.SortStableFunc(l, func(a, b Entry) int { return cmp.Compare(b.Prefix.Bits(), a.Prefix.Bits()) })
	return l
}

// Lookup returns the code of a.
func (l Linear) Lookup(a netip.Addr) Code {
	a = a.Unmap()
	for i := range l {
		if l[i].Prefix.Contains(a) {
			return l[i].Code
		}
	}
	return 0
}

// Sorted is a sorted-range table for IPv4: starts[i] <= v < starts[i+1]
// has code codes[i], adjacent equal codes merged; IPv6 goes to a bart
// table (empty for the embedded data).
type Sorted struct {
	starts []uint32
	codes  []Code
	v6     *bart.Table[Code]
}

// NewSorted returns a Sorted over es.
func NewSorted(es []Entry) *Sorted {
	// Elementary intervals: every prefix start and every end+1.
	cuts := []uint64{0}
	var v6 []Entry
	for _, e := range es {
		if !e.Prefix.Addr().Is4() {
			v6 = append(v6, e)
			continue
		}
		lo := uint64(u32(e.Prefix.Addr()))
		cuts = append(cuts, lo, lo+1<<(32-e.Prefix.Bits()))
	}
	slices.Sort(cuts)
	cuts = slices.Compact(cuts)
	lin := NewLinear(es)
	s := &Sorted{v6: NewTable(v6)}
	for _, c := range cuts {
		if c > 0xffffffff {
			break
		}
		code := lin.Lookup(netip.AddrFrom4([4]byte{byte(c >> 24), byte(c >> 16), byte(c >> 8), byte(c)}))
		if n := len(s.codes); n > 0 && s.codes[n-1] == code {
			continue
		}
		s.starts = append(s.starts, uint32(c))
		s.codes = append(s.codes, code)
	}
	return s
}

// Lookup returns the code of a (branch-light binary search).
func (s *Sorted) Lookup(a netip.Addr) Code {
	a = a.Unmap()
	if !a.Is4() {
		c, _ := s.v6.Lookup(a)
		return c
	}
	v := u32(a)
	st := s.starts
	lo, n := 0, len(st)
	for n > 1 {
		half := n >> 1
		if st[lo+half] <= v {
			lo += half
		}
		n -= half
	}
	return s.codes[lo]
}

// Flat is the floor: a flat, branchless DIR-16-8-8 table of codes for
// IPv4 (64 KiB /16 index of uint8, 256-entry blocks and leaves), compiled
// by enumerating every address of every /16 the data touches; IPv6 goes
// to a bart table (empty for the embedded data). It is what peers.md §4
// measured as the hardware floor.
type Flat struct {
	idx16  [1 << 16]uint8
	blocks [][256]uint8
	leaves [][256]uint8
	v6     *bart.Table[Code]
}

// NewFlat returns a Flat over es. It panics if the data needs more than
// 256 blocks or leaves (the embedded data needs a few dozen).
func NewFlat(es []Entry) *Flat {
	f := &Flat{}
	var v6 []Entry
	touched := map[uint32]bool{}
	for _, e := range es {
		if !e.Prefix.Addr().Is4() {
			v6 = append(v6, e)
			continue
		}
		lo := u32(e.Prefix.Addr()) >> 16
		n := uint32(1)
		if e.Prefix.Bits() < 16 {
			n = 1 << (16 - e.Prefix.Bits())
		}
		for hi := lo; hi < lo+n; hi++ {
			touched[hi] = true
		}
	}
	f.v6 = NewTable(v6)
	s := NewSorted(es)
	// Leaves 0-3 are uniform (one per code); block 0 is all-miss.
	for c := range 4 {
		var l [256]uint8
		for i := range l {
			l[i] = uint8(c)
		}
		f.leaves = append(f.leaves, l)
	}
	f.blocks = append(f.blocks, [256]uint8{})
	his := make([]uint32, 0, len(touched))
	for hi := range touched {
		his = append(his, hi)
	}
	sort.Slice(his, func(i, j int) bool { return his[i] < his[j] })
	for _, hi := range his {
		var b [256]uint8
		for mid := range uint32(256) {
			var l [256]uint8
			uniform := true
			for lo := range uint32(256) {
				v := hi<<16 | mid<<8 | lo
				l[lo] = s.Lookup(netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}))
				uniform = uniform && l[lo] == l[0]
			}
			if uniform {
				b[mid] = l[0]
				continue
			}
			if len(f.leaves) == 256 {
				panic("compare: Flat: more than 256 leaves")
			}
			b[mid] = uint8(len(f.leaves))
			f.leaves = append(f.leaves, l)
		}
		if len(f.blocks) == 256 {
			panic("compare: Flat: more than 256 blocks")
		}
		f.idx16[hi] = uint8(len(f.blocks))
		f.blocks = append(f.blocks, b)
	}
	return f
}

// Lookup returns the code of a.
func (f *Flat) Lookup(a netip.Addr) Code {
	a = a.Unmap()
	if !a.Is4() {
		c, _ := f.v6.Lookup(a)
		return c
	}
	b := a.As4()
	return f.leaves[f.blocks[f.idx16[uint16(b[0])<<8|uint16(b[1])]][b[2]]][b[3]]
}
