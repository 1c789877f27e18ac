package lpm

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/gaissmai/bart"

	"github.com/seed-b311f21d/go-mimecastip/internal/reference"
	"github.com/seed-b311f21d/go-mimecastip/regions"
)

// The IPv4 fast path (fast4.go) must give exactly the trie's answer. These
// tests compare Matcher.Index, which takes the fast path, with a lookup in
// the trie alone and with the linear reference.

func addrOf(v uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

func mapped(a netip.Addr) netip.Addr { return netip.AddrFrom16(a.As16()) }

// trieIndex is the answer by definition: the bart trie, after Unmap.
func trieIndex(m *Matcher, a netip.Addr) (int, bool) {
	i, ok := m.tbl.Lookup(a.Unmap())
	return int(i), ok
}

// checker compares m's answers for one address with the trie's and, when
// ref is set, with the linear reference over the rows m was built from.
type checker struct {
	t     *testing.T
	m     *Matcher
	ref   []regions.Range
	fails int
}

func (c *checker) check(a netip.Addr) {
	if c.fails > 10 {
		return
	}
	c.t.Helper()
	got, gok := c.m.Index(a)
	want, wok := trieIndex(c.m, a)
	if got != want || gok != wok {
		c.fails++
		c.t.Errorf("Index(%s) = %d,%v; trie says %d,%v", a, got, gok, want, wok)
		return
	}
	if s := c.m.Slot(a); (s == 0) != !gok || (gok && s != got+1) {
		c.fails++
		c.t.Errorf("Slot(%s) = %d; Index says %d,%v", a, s, got, gok)
	}
	if u := a.Unmap(); u.Is4() {
		if s := c.m.Slot4(u.As4()); (s == 0) != !gok || (gok && s != got+1) {
			c.fails++
			c.t.Errorf("Slot4(%s) = %d; Index says %d,%v", a, s, got, gok)
		}
		if t8 := c.m.Table8(); t8 != nil {
			if s := t8.Slot(u.As4()); (s == 0) != !gok || (gok && s != got+1) {
				c.fails++
				c.t.Errorf("Table8().Slot(%s) = %d; Index says %d,%v", a, s, got, gok)
			}
		}
	}
	if c.m.Contains(a) != gok {
		c.fails++
		c.t.Errorf("Contains(%s) = %v; Index says %v", a, !gok, gok)
	}
	if c.ref != nil {
		r, rok := reference.Lookup(c.ref, a)
		if rok != gok || (gok && r.Prefix != c.m.ranges[got].Prefix) {
			c.fails++
			c.t.Errorf("Index(%s) = %d,%v; reference says %v,%v", a, got, gok, r.Prefix, rok)
		}
	}
}

// slash16s returns every /16 that an IPv4 prefix of rs touches (a prefix
// shorter than /16 touches many), capped at max.
func slash16s(rs []regions.Range, max int) []uint32 {
	seen := map[uint32]bool{}
	var out []uint32
	for _, r := range rs {
		if r.Retired || !r.Prefix.Addr().Is4() {
			continue
		}
		a := r.Prefix.Addr().As4()
		lo := uint32(a[0])<<8 | uint32(a[1])
		n := uint32(1)
		if b := r.Prefix.Bits(); b < 16 {
			n = 1 << (16 - b)
		}
		for hi := lo; hi < lo+n && len(out) < max; hi++ {
			if !seen[hi] {
				seen[hi] = true
				out = append(out, hi)
			}
		}
	}
	return out
}

// TestFast4EmbeddedExhaustive checks every address of every /16 that a
// published range touches, directly and in IPv4-mapped form, against the
// trie and the reference; with -short, a sample of each /16.
func TestFast4EmbeddedExhaustive(t *testing.T) {
	rs := regions.Ranges()
	m, err := New(rs)
	if err != nil {
		t.Fatal(err)
	}
	if m.f4 == nil {
		t.Fatal("the embedded dataset has no IPv4 fast path")
	}
	// The reference is a linear scan: too slow for millions of addresses
	// over every row, so it gets the rows of the /16 at hand only.
	by16 := map[uint32][]regions.Range{}
	for _, r := range rs {
		if r.Retired || !r.Prefix.Addr().Is4() {
			continue
		}
		for _, hi := range slash16s([]regions.Range{r}, 1<<16) {
			by16[hi] = append(by16[hi], r)
		}
	}
	his := slash16s(rs, 1<<16)
	if len(his) < 20 {
		t.Fatalf("only %d /16s touched by the embedded data", len(his))
	}
	for _, hi := range his {
		c := &checker{t: t, m: m, ref: by16[hi]}
		step := uint32(1)
		if testing.Short() {
			step = 97 // a prime: every /24 and every last octet is hit
		}
		for lo := uint32(0); lo < 1<<16; lo += step {
			a := addrOf(hi<<16 | lo)
			c.check(a)
			if lo%16 == 0 || testing.Short() {
				c.check(mapped(a))
			}
		}
		// In -short mode, still hit every /32-level prefix boundary.
		for _, r := range by16[hi] {
			if p := r.Prefix; p.Bits() > 24 {
				first := p.Addr()
				c.check(first)
				c.check(first.Prev())
				last := lastAddr(p)
				c.check(last)
				c.check(last.Next())
				c.check(mapped(last))
			}
		}
		if c.fails > 0 {
			t.FailNow()
		}
	}
	if m.f4.n8 == nil {
		t.Fatal("the embedded dataset does not use the narrow (8-bit) form")
	}
	t.Logf("%d /16s, fast path: %d blocks, %d leaves", len(his), len(m.f4.n8.blocks), len(m.f4.n8.leaves))
}

func lastAddr(p netip.Prefix) netip.Addr {
	a := p.Addr().As4()
	v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	v |= uint32(1)<<(32-p.Bits()) - 1
	return addrOf(v)
}

// TestFast4EmbeddedRandom checks 1M random IPv4 addresses (fewer with
// -short), plain and mapped, plus special addresses.
func TestFast4EmbeddedRandom(t *testing.T) {
	rs := regions.Ranges()
	m, err := New(rs)
	if err != nil {
		t.Fatal(err)
	}
	c := &checker{t: t, m: m}
	n := 1 << 20
	if testing.Short() {
		n = 1 << 16
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < n; i++ {
		a := addrOf(rng.Uint32())
		c.check(a)
		if i%8 == 0 {
			c.check(mapped(a))
		}
	}
	for _, s := range []string{"0.0.0.0", "255.255.255.255", "::", "::1", "::ffff:0.0.0.0", "::ffff:255.255.255.255",
		"::ffff:170.10.128.1", "::ffff:170.10.128.1%eth0", "::170.10.128.1", "64:ff9b::170.10.128.1", "fe80::1%eth0", "2001:db8::1"} {
		c.check(netip.MustParseAddr(s))
	}
	c.check(netip.Addr{})
	if _, ok := m.Index(netip.Addr{}); ok {
		t.Error("the zero Addr matched")
	}
	// The reference agrees on a random sample.
	c.ref = rs
	for i := 0; i < 20000; i++ {
		c.check(addrOf(rng.Uint32()))
	}
}

// randomDataset returns n distinct random IPv4 prefixes of /minBits to /32,
// nested on purpose: most are carved out of a few random /8s so that they
// overlap, and some IPv6 rows too. matcher.New does not reject bogons.
func randomDataset(rng *rand.Rand, n, minBits int) []regions.Range {
	roots := make([]uint32, 4)
	for i := range roots {
		roots[i] = rng.Uint32()
	}
	seen := map[netip.Prefix]bool{}
	var rs []regions.Range
	for len(rs) < n {
		bits := minBits + rng.IntN(33-minBits)
		v := rng.Uint32()
		if rng.IntN(4) != 0 { // nest under one of the roots
			root := roots[rng.IntN(len(roots))]
			keep := 8 + rng.IntN(17) // shared leading bits
			mask := ^uint32(0) << (32 - keep)
			v = root&mask | v&^mask
		}
		p := netip.PrefixFrom(addrOf(v), bits).Masked()
		if seen[p] {
			continue
		}
		seen[p] = true
		rs = append(rs, regions.Range{Prefix: p, Service: regions.Gateway})
		if rng.IntN(16) == 0 {
			var b [16]byte
			b[0] = 0x20
			b[1] = byte(rng.IntN(4))
			q := netip.PrefixFrom(netip.AddrFrom16(b), 16+rng.IntN(10)).Masked()
			if !seen[q] {
				seen[q] = true
				rs = append(rs, regions.Range{Prefix: q, Service: regions.Gateway})
			}
		}
	}
	// A few retired rows that must be ignored.
	rs = append(rs, regions.Range{Prefix: netip.MustParsePrefix("10.1.2.0/24"), Retired: true})
	return rs
}

// TestFast4RandomDatasets proves the fast path for custom data: random
// nested datasets, checked on every /16 they touch (sampled) and at random.
func TestFast4RandomDatasets(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	narrow := 0
	defer func() {
		if narrow == 0 && !t.Failed() {
			t.Error("no random dataset used the narrow form")
		}
	}()
	rounds, perSlash16 := 30, 1024
	if testing.Short() {
		rounds, perSlash16 = 10, 256
	}
	for round := 0; round < rounds; round++ {
		n := 1 + rng.IntN(300)
		minBits := []int{0, 4, 8, 12, 16, 20}[rng.IntN(6)]
		rs := randomDataset(rng, n, minBits)
		fast4Wide = round%2 == 1 // both widths of the /16 index
		m, err := New(rs)
		fast4Wide = false
		if err != nil {
			t.Fatal(err)
		}
		if m.f4 == nil {
			t.Fatalf("round %d: no fast path for %d rows", round, n)
		}
		if round%2 == 1 && m.f4.n8 != nil {
			t.Fatalf("round %d: narrow form despite fast4Wide", round)
		}
		if m.f4.n8 != nil {
			narrow++
		}
		if m.Table8() != m.f4.n8 {
			t.Fatalf("round %d: Table8() is not the narrow form", round)
		}
		c := &checker{t: t, m: m}
		for _, hi := range slash16s(rs, 64) {
			for k := 0; k < perSlash16; k++ {
				a := addrOf(hi<<16 | rng.Uint32()&0xffff)
				c.check(a)
			}
		}
		// Every boundary of every prefix, and the linear reference there.
		c.ref = rs
		for _, r := range rs {
			if p := r.Prefix; p.Addr().Is4() {
				last := lastAddr(p)
				for _, a := range []netip.Addr{p.Addr(), p.Addr().Prev(), last, last.Next(), mapped(last)} {
					if a.IsValid() {
						c.check(a)
					}
				}
			}
		}
		c.ref = nil
		for k := 0; k < 5000; k++ {
			c.check(addrOf(rng.Uint32()))
		}
		if c.fails > 0 {
			t.Fatalf("round %d failed (%d rows, min /%d)", round, n, minBits)
		}
	}
}

// TestFast4DenseSlash8 checks a whole /8 (every 7th address; every 251st
// with -short) and its borders for a dense dataset of nested prefixes
// inside it, including /9 to /16 prefixes that cover many /16s.
func TestFast4DenseSlash8(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	seen := map[netip.Prefix]bool{}
	var rs []regions.Range
	for len(rs) < 400 {
		bits := 8 + rng.IntN(25)
		p := netip.PrefixFrom(addrOf(0x2d000000|rng.Uint32()&0x00ffffff), bits).Masked()
		if !seen[p] {
			seen[p] = true
			rs = append(rs, regions.Range{Prefix: p})
		}
	}
	m, err := New(rs)
	if err != nil {
		t.Fatal(err)
	}
	if m.f4 == nil {
		t.Fatal("no fast path")
	}
	c := &checker{t: t, m: m}
	step := uint64(7)
	if testing.Short() {
		step = 251
	}
	for v := uint64(0x2cffff00); v < 0x2e000100; v += step {
		c.check(addrOf(uint32(v)))
		if c.fails > 0 {
			t.FailNow()
		}
	}
}

// TestFast4TooBig checks the fall-back: a dataset that needs more tables
// than the limit is served by the trie alone, with the same answers.
func TestFast4TooBig(t *testing.T) {
	old := fast4MaxTables
	fast4MaxTables = 64
	defer func() { fast4MaxTables = old }()
	var rs []regions.Range
	for i := 0; i < 100; i++ { // 100 /32s in 100 different /24s: 100 leaves
		rs = append(rs, regions.Range{Prefix: netip.PrefixFrom(addrOf(0x0a000001+uint32(i)<<8), 32)})
	}
	m, err := New(rs)
	if err != nil {
		t.Fatal(err)
	}
	if m.f4 != nil {
		t.Fatal("fast path built beyond the limit")
	}
	c := &checker{t: t, m: m, ref: rs}
	for v := uint32(0x0a000000); v < 0x0a010000; v += 3 {
		c.check(addrOf(v))
	}
	if i, ok := m.Index(netip.MustParseAddr("::ffff:10.0.5.1")); !ok || i != 5 {
		t.Errorf("mapped lookup on the trie-only matcher = %d,%v; want 5,true", i, ok)
	}
	// Many /16-wide prefixes make uniform blocks: one per slot value.
	rs = rs[:0]
	for i := 0; i < 100; i++ {
		rs = append(rs, regions.Range{Prefix: netip.PrefixFrom(addrOf(uint32(i+1)<<16), 16)})
	}
	if m, err = New(rs); err != nil {
		t.Fatal(err)
	}
	if m.f4 != nil {
		t.Fatal("fast path built beyond the limit (uniform blocks)")
	}
}

// TestFast4Edge covers the widest prefixes and the empty cases.
func TestFast4Edge(t *testing.T) {
	for _, ps := range [][]string{
		{"0.0.0.0/0"},
		{"0.0.0.0/0", "128.0.0.0/1", "255.255.255.255/32", "0.0.0.0/32", "10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "10.1.2.128/25", "10.1.2.129/32"},
		{"2001:db8::/32"},
		{"::/0"},
		{"::/0", "0.0.0.0/0"},
	} {
		var rs []regions.Range
		for _, p := range ps {
			rs = append(rs, regions.Range{Prefix: netip.MustParsePrefix(p)})
		}
		m, err := New(rs)
		if err != nil {
			t.Fatal(err)
		}
		c := &checker{t: t, m: m, ref: rs}
		rng := rand.New(rand.NewPCG(9, 10))
		for _, s := range []string{"0.0.0.0", "0.0.0.1", "10.1.2.129", "10.1.2.128", "10.1.2.127", "10.1.3.1", "10.2.0.0", "127.255.255.255", "128.0.0.0", "255.255.255.254", "255.255.255.255",
			"::", "::1", "::ffff:10.1.2.129", "2001:db8::1", "fe80::1%eth0"} {
			c.check(netip.MustParseAddr(s))
		}
		for k := 0; k < 10000; k++ {
			c.check(addrOf(rng.Uint32()))
		}
		c.check(netip.Addr{})
		if _, ok := m.Index(netip.Addr{}); ok {
			t.Errorf("%v: the zero Addr matched", ps)
		}
	}
	var nilM *Matcher
	if _, ok := nilM.Index(netip.MustParseAddr("1.2.3.4")); ok || nilM.Slot(netip.MustParseAddr("::1")) != 0 || nilM.Slot4([4]byte{1, 2, 3, 4}) != 0 || nilM.Contains(netip.Addr{}) {
		t.Error("nil Matcher matched")
	}
	var zero Matcher
	if _, ok := zero.Index(netip.MustParseAddr("1.2.3.4")); ok {
		t.Error("zero Matcher matched")
	}
}

// TestFast4Allocs guards the hot path: no lookup allocates.
func TestFast4Allocs(t *testing.T) {
	m, err := New(regions.Ranges())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"170.10.128.7", "8.8.8.8", "::ffff:207.211.30.45", "2001:db8::1", "fe80::1%eth0"} {
		a := netip.MustParseAddr(s)
		if n := testing.AllocsPerRun(100, func() {
			m.Index(a)
			m.Slot(a)
			if u := a.Unmap(); u.Is4() {
				m.Slot4(u.As4())
			}
			m.Contains(a)
			m.Lookup(a)
		}); n != 0 {
			t.Errorf("lookups of %s allocate %.1f times", s, n)
		}
	}
}

// BenchmarkFast4 compares the fast path with the trie it is compiled from,
// on a stream of random IPv4 addresses (10% hits). bench/compare has the
// full comparison.
func BenchmarkFast4(b *testing.B) {
	rs := regions.Ranges()
	m, err := New(rs)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(11, 12))
	as := make([]netip.Addr, 1<<16)
	for i := range as {
		if i%10 == 0 {
			r := m.ranges[rng.IntN(len(m.ranges))].Prefix
			a := r.Addr().As4()
			v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
			as[i] = addrOf(v | rng.Uint32()&(uint32(1)<<(32-r.Bits())-1))
		} else {
			as[i] = addrOf(rng.Uint32())
		}
	}
	var tbl bart.Table[uint16]
	for i, r := range m.ranges {
		tbl.Insert(r.Prefix, uint16(i))
	}
	for _, impl := range []string{"Slot", "Index", "bart.Table"} {
		b.Run(fmt.Sprintf("impl=%s", impl), func(b *testing.B) {
			var acc, i int
			switch impl {
			case "Slot":
				for b.Loop() {
					acc += m.Slot(as[i&(len(as)-1)])
					i++
				}
			case "Index":
				for b.Loop() {
					x, _ := m.Index(as[i&(len(as)-1)])
					acc += x
					i++
				}
			case "bart.Table":
				for b.Loop() {
					x, _ := tbl.Lookup(as[i&(len(as)-1)].Unmap())
					acc += int(x)
					i++
				}
			}
			sink = acc
		})
	}
}

var sink int

// TestFast4BuildOrder feeds buildFast4 its prefixes in random order: it
// must sort them itself (the trie happens to list parents first).
func TestFast4BuildOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	rs := randomDataset(rng, 200, 8)
	m, err := New(rs)
	if err != nil {
		t.Fatal(err)
	}
	var ps []pfx4
	for p, i := range m.tbl.All4() {
		a := p.Addr().As4()
		ps = append(ps, pfx4{addr: uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3]), bits: p.Bits(), slot: i + 1})
	}
	for round := 0; round < 5; round++ {
		rng.Shuffle(len(ps), func(i, j int) { ps[i], ps[j] = ps[j], ps[i] })
		m.f4 = buildFast4(ps)
		c := &checker{t: t, m: m}
		for _, hi := range slash16s(rs, 64) {
			for k := 0; k < 512; k++ {
				c.check(addrOf(hi<<16 | rng.Uint32()&0xffff))
			}
		}
		if c.fails > 0 {
			t.FailNow()
		}
	}
}
