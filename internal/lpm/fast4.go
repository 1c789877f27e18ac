package lpm

import (
	"cmp"
	"slices"
)

// fast4 is a direct-indexed copy of the IPv4 half of a Matcher's trie, a
// DIR-16-8-8 table compiled once by New:
//
//	idx16[a>>16]        -> block: one entry per /24 of the /16
//	blocks[block][a>>8] -> leaf:  one entry per address of the /24
//	leaves[leaf][a]     -> slot:  1 + index of the range, 0 for none
//
// A lookup is three dependent loads and no data-dependent branch. A /16
// that no prefix longer than /16 touches shares a uniform block; a /24
// that no prefix longer than /24 touches shares a uniform leaf, one per
// slot value. Block 0 and leaf 0 are the all-miss ones.
//
// When every index fits in a byte (at most 255 ranges, 256 blocks and 256
// leaves, as for the embedded data), the table is stored with 8-bit
// entries instead (n8): 64 KiB of /16 index and 256-byte blocks and
// leaves, half the cache footprint.
type fast4 struct {
	n8     *Table8 // the narrow form; nil when the wide one below is used
	idx16  *[1 << 16]uint16
	blocks [][256]uint16
	leaves [][256]uint16
}

// Table8 is the IPv4 fast path of a Matcher in its compact form: a
// DIR-16-8-8 table with 8-bit entries, which a Matcher uses when its data
// needs at most 255 ranges and 256 blocks and leaves (the embedded data
// does). [Matcher.Table8] returns it, for callers that want the IPv4
// lookup inlined into their own function: [Table8.Slot] is small enough to
// inline, where [Matcher.Slot] is not.
type Table8 struct {
	idx    [1 << 16]uint8
	blocks [][256]uint8
	leaves [][256]uint8
}

// Limits of the fast path: a dataset that needs more blocks plus leaves
// than fast4MaxTables (each 512 bytes, so 4 MiB in all) is served by the
// trie alone. Variables, not constants, so tests can lower them.
var fast4MaxTables = 1 << 13

// fast4Wide, set by tests, keeps the wide form even when the narrow one
// would do, so that both forms are tested.
var fast4Wide = false

// lookup returns the slot of the IPv4 address v (big-endian uint32).
func (f *fast4) lookup(v uint32) uint16 {
	if n := f.n8; n != nil {
		return uint16(n.leaves[n.blocks[n.idx[v>>16]][uint8(v>>8)]][uint8(v)])
	}
	return f.leaves[f.blocks[f.idx16[v>>16]][uint8(v>>8)]][uint8(v)]
}

// Slot returns the slot of the IPv4 address ip (network order), as
// [Matcher.Slot] does: 0 for none, 1+i for Range(i). A nil Table8 panics.
func (t *Table8) Slot(ip [4]byte) int {
	return int(t.leaves[t.blocks[t.idx[uint16(ip[0])<<8|uint16(ip[1])]][ip[2]]][ip[3]])
}

// pfx4 is an IPv4 prefix of the trie with its slot.
type pfx4 struct {
	addr uint32
	bits int
	slot uint16
}

// buildFast4 compiles the IPv4 prefixes ps (slot = index+1, no duplicates)
// into a fast4, or returns nil when ps is empty or the table would exceed
// fast4MaxTables. Prefixes are painted shortest first, so a longer
// prefix overwrites the shorter ones it nests in: that is longest-prefix
// match, because prefixes are unique and either nest or are disjoint.
func buildFast4(ps []pfx4) *fast4 {
	if len(ps) == 0 {
		return nil
	}
	ps = slices.Clone(ps)
	maxSlot := uint16(0)
	for _, p := range ps {
		maxSlot = max(maxSlot, p.slot)
	}
	slices.SortStableFunc(ps, func(a, b pfx4) int { return cmp.Compare(a.bits, b.bits) })

	// While painting, a /16 is either uniform (val16, blk16 == 0) or has
	// its own block, blocks[blk16-1], of 256 /24 entries; a /24 entry is
	// either a uniform slot or refers to its own leaf. Entries are encoded
	// as slot (uniform) or own|leaf. touched lists every /16 that has a
	// block or a non-zero slot, once.
	const own = 1 << 16
	var (
		val16   [1 << 16]uint16
		blk16   [1 << 16]uint16
		touched []uint32
		blocks  [][256]uint32
		leaves  [][256]uint16
	)
	blockOf := func(hi uint32) *[256]uint32 {
		if blk16[hi] == 0 {
			if val16[hi] == 0 {
				touched = append(touched, hi)
			}
			var b [256]uint32
			for i := range b {
				b[i] = uint32(val16[hi])
			}
			blocks = append(blocks, b)
			blk16[hi] = uint16(len(blocks))
		}
		return &blocks[blk16[hi]-1]
	}
	for _, p := range ps {
		switch {
		case p.bits <= 16:
			lo := p.addr >> 16
			n := uint32(1) << (16 - p.bits)
			for hi := lo; hi < lo+n; hi++ {
				// Shorter prefixes are painted first, so no /16 in here
				// has a block yet.
				if val16[hi] == 0 {
					touched = append(touched, hi)
				}
				val16[hi] = p.slot
			}
		case p.bits <= 24:
			b := blockOf(p.addr >> 16)
			lo := p.addr >> 8 & 0xff
			n := uint32(1) << (24 - p.bits)
			for i := lo; i < lo+n; i++ {
				b[i] = uint32(p.slot)
			}
		default:
			b := blockOf(p.addr >> 16)
			e := &b[p.addr>>8&0xff]
			if *e&own == 0 {
				var l [256]uint16
				for i := range l {
					l[i] = uint16(*e)
				}
				leaves = append(leaves, l)
				*e = own | uint32(len(leaves)-1)
			}
			l := &leaves[*e&^own]
			lo := p.addr & 0xff
			n := uint32(1) << (32 - p.bits)
			for i := lo; i < lo+n; i++ {
				l[i] = p.slot
			}
		}
		if len(blocks)+len(leaves) > fast4MaxTables {
			return nil
		}
	}

	// Compact: leaf 0 and block 0 are the all-miss ones; uniform leaves and
	// blocks are made once per slot value, on demand.
	f := &fast4{idx16: new([1 << 16]uint16)}
	f.leaves = make([][256]uint16, 1, 1+len(leaves))
	f.leaves = append(f.leaves, leaves...) // own leaf i is f.leaves[1+i]
	uniLeaf := map[uint16]uint16{0: 0}
	leafFor := func(slot uint16) uint16 {
		if l, ok := uniLeaf[slot]; ok {
			return l
		}
		var l [256]uint16
		for i := range l {
			l[i] = slot
		}
		id := uint16(len(f.leaves))
		f.leaves = append(f.leaves, l)
		uniLeaf[slot] = id
		return id
	}
	f.blocks = make([][256]uint16, 1, 1+len(blocks))
	uniBlock := map[uint16]uint16{0: 0}
	for _, hi := range touched {
		if j := blk16[hi]; j != 0 {
			var b [256]uint16
			for i, e := range blocks[j-1] {
				if e&own != 0 {
					b[i] = 1 + uint16(e&^own)
				} else {
					b[i] = leafFor(uint16(e))
				}
			}
			f.idx16[hi] = uint16(len(f.blocks))
			f.blocks = append(f.blocks, b)
		} else {
			s := val16[hi]
			id, ok := uniBlock[s]
			if !ok {
				var b [256]uint16
				l := leafFor(s)
				for i := range b {
					b[i] = l
				}
				id = uint16(len(f.blocks))
				f.blocks = append(f.blocks, b)
				uniBlock[s] = id
			}
			f.idx16[hi] = id
		}
		if len(f.blocks)+len(f.leaves) > fast4MaxTables {
			return nil
		}
	}
	if !fast4Wide && len(f.blocks) <= 1<<8 && len(f.leaves) <= 1<<8 && maxSlot <= 0xff {
		n := &Table8{blocks: make([][256]uint8, len(f.blocks)), leaves: make([][256]uint8, len(f.leaves))}
		for i, b := range f.idx16 {
			n.idx[i] = uint8(b)
		}
		for j := range f.blocks {
			for i, l := range f.blocks[j] {
				n.blocks[j][i] = uint8(l)
			}
		}
		for j := range f.leaves {
			for i, s := range f.leaves[j] {
				n.leaves[j][i] = uint8(s)
			}
		}
		return &fast4{n8: n}
	}
	return f
}
