package matcher_test

import (
	"math/rand/v2"
	"net/netip"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b311f21d/go-mimecastip/internal/reference"
	"github.com/seed-b311f21d/go-mimecastip/matcher"
	"github.com/seed-b311f21d/go-mimecastip/regions"
)

// lastAddr returns the last address of canonical prefix p.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// probes returns, for every range, its first and last address, their
// neighbours, and the IPv4-mapped forms of all those.
func probes(rs []regions.Range) []netip.Addr {
	var out []netip.Addr
	for _, r := range rs {
		first, last := r.Prefix.Addr(), lastAddr(r.Prefix)
		for _, a := range []netip.Addr{first, last, first.Prev(), first.Next(), last.Prev(), last.Next()} {
			if !a.IsValid() {
				continue
			}
			out = append(out, a)
			if a.Is4() {
				out = append(out, netip.AddrFrom16(a.As16()))
			}
		}
	}
	return out
}

// randomAddrs returns n IPv4 addresses, half of them inside the /16s that
// the IPv4 ranges of rs touch, and n/4 IPv6 addresses, half of them inside
// the IPv6 ranges of rs (when there are any).
func randomAddrs(rng *rand.Rand, rs []regions.Range, n int) []netip.Addr {
	var hot16 []uint16
	var v6 []netip.Prefix
	seen := map[uint16]bool{}
	for _, r := range rs {
		p := r.Prefix
		if p.Addr().Is6() {
			v6 = append(v6, p)
			continue
		}
		lo, hi := p.Addr().As4(), lastAddr(p).As4()
		for x := uint32(lo[0])<<8 | uint32(lo[1]); x <= uint32(hi[0])<<8|uint32(hi[1]); x++ {
			if !seen[uint16(x)] {
				seen[uint16(x)] = true
				hot16 = append(hot16, uint16(x))
			}
		}
	}
	out := make([]netip.Addr, 0, n+n/4)
	for i := range n {
		v := rng.Uint32()
		if i%2 == 0 && len(hot16) > 0 {
			v = uint32(hot16[rng.IntN(len(hot16))])<<16 | v&0xffff
		}
		out = append(out, netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}))
	}
	for i := range n / 4 {
		var b [16]byte
		for j := range b {
			b[j] = byte(rng.Uint32())
		}
		if i%2 == 0 && len(v6) > 0 {
			p := v6[rng.IntN(len(v6))]
			pb := p.Addr().As16()
			for k := range p.Bits() {
				mask := byte(0x80 >> (k % 8))
				b[k/8] = b[k/8]&^mask | pb[k/8]&mask
			}
		}
		out = append(out, netip.AddrFrom16(b))
	}
	return out
}

// checkAgainstReference compares m with reference.Lookup over rs for every
// address; it reports at most a few mismatches.
func checkAgainstReference(t *testing.T, m *matcher.Matcher, rs []regions.Range, addrs []netip.Addr) {
	t.Helper()
	bad := 0
	for _, a := range addrs {
		want, wok := reference.Lookup(rs, a)
		got, gok := m.Lookup(a)
		c := m.Contains(a)
		if gok != wok || got.Prefix != want.Prefix || c != wok {
			bad++
			assert.Failf(t, "mismatch with reference", "addr %v: Lookup = %v %v, Contains = %v; reference = %v %v",
				a, got.Prefix, gok, c, want.Prefix, wok)
			if bad >= 10 {
				t.Fatal("too many mismatches")
			}
		}
		if wok {
			assert.Equal(t, want.Regions, got.Regions, "Lookup(%v).Regions", a)
			assert.Equal(t, want.Service, got.Service, "Lookup(%v).Service", a)
		}
	}
}

func TestMatchesReference(t *testing.T) {
	rs := regions.Ranges()
	m, err := matcher.New(rs)
	require.NoError(t, err)

	t.Run("edges", func(t *testing.T) {
		ps := probes(rs)
		require.NotEmpty(t, ps)
		checkAgainstReference(t, m, rs, ps)
	})

	t.Run("random", func(t *testing.T) {
		n := 200_000
		if testing.Short() {
			n = 20_000
		}
		rng := rand.New(rand.NewPCG(42, 42))
		addrs := randomAddrs(rng, rs, n)
		checkAgainstReference(t, m, rs, addrs)
		// And the same addresses in mapped form.
		mapped := make([]netip.Addr, 0, n)
		for _, a := range addrs[:n/10] {
			if a.Is4() {
				mapped = append(mapped, netip.AddrFrom16(a.As16()))
			}
		}
		checkAgainstReference(t, m, rs, mapped)
	})
}

// randomRanges returns n distinct random canonical prefixes crowded into a
// few /8s (IPv4) and one /32 (IPv6) so that they nest a lot, with a retired
// row now and then.
func randomRanges(rng *rand.Rand, n int) []regions.Range {
	seen := map[netip.Prefix]bool{}
	var out []regions.Range
	base6 := netip.MustParsePrefix("2001:db8::/32").Addr().As16()
	for len(out) < n {
		var p netip.Prefix
		if rng.IntN(4) == 0 {
			b := base6
			for j := 4; j < 8; j++ {
				b[j] = byte(rng.IntN(4))
			}
			b[15] = byte(rng.Uint32())
			p = netip.PrefixFrom(netip.AddrFrom16(b), 16+rng.IntN(113)).Masked()
		} else {
			a := [4]byte{byte(1 + rng.IntN(3)), byte(rng.IntN(4)), byte(rng.IntN(8)), byte(rng.Uint32())}
			p = netip.PrefixFrom(netip.AddrFrom4(a), rng.IntN(33)).Masked()
		}
		r := regions.Range{Prefix: p, Regions: regions.SetOf(regions.List()[rng.IntN(7)]), Service: regions.Services()[rng.IntN(4)], Retired: rng.IntN(10) == 0}
		if seen[p] && !r.Retired {
			continue
		}
		if !r.Retired {
			seen[p] = true
		}
		out = append(out, r)
	}
	return out
}

func TestMatchesReferenceRandomRanges(t *testing.T) {
	rounds := 30
	if testing.Short() {
		rounds = 5
	}
	rng := rand.New(rand.NewPCG(42, 42))
	for range rounds {
		rs := randomRanges(rng, 1+rng.IntN(200))
		m, err := matcher.New(rs)
		require.NoError(t, err)
		addrs := append(probes(rs), randomAddrs(rng, rs, 4000)...)
		checkAgainstReference(t, m, rs, addrs)
		if t.Failed() {
			t.Logf("ranges: %v", rs)
			return
		}
	}
}

func TestNoAllocs(t *testing.T) {
	m, err := matcher.New(regions.Ranges())
	require.NoError(t, err)
	m6, err := matcher.New(testRanges)
	require.NoError(t, err)
	for _, s := range []string{"170.10.128.5", "8.8.8.8", "::ffff:170.10.128.5", "2001:db8::1", "2001:db8:1:2::5%eth0"} {
		a := netip.MustParseAddr(s)
		for _, mm := range []*matcher.Matcher{m, m6} {
			assert.Zero(t, testing.AllocsPerRun(1000, func() { mm.Lookup(a) }), "Lookup(%v) allocates", a)
			assert.Zero(t, testing.AllocsPerRun(1000, func() { mm.Contains(a) }), "Contains(%v) allocates", a)
		}
	}
}

func TestConcurrentLookup(t *testing.T) {
	rs := regions.Ranges()
	m, err := matcher.New(rs)
	require.NoError(t, err)
	rng := rand.New(rand.NewPCG(42, 42))
	addrs := append(probes(rs), randomAddrs(rng, rs, 2000)...)
	want := make([]netip.Prefix, len(addrs))
	for i, a := range addrs {
		r, _ := reference.Lookup(rs, a)
		want[i] = r.Prefix
	}
	const workers = 16
	rounds := 20
	if testing.Short() {
		rounds = 2
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for range rounds {
				for k := range addrs {
					i := (k + w*97) % len(addrs)
					r, _ := m.Lookup(addrs[i])
					if r.Prefix != want[i] {
						assert.Failf(t, "concurrent mismatch", "worker %d: Lookup(%v) = %v, want %v", w, addrs[i], r.Prefix, want[i])
						return
					}
				}
			}
		})
	}
	wg.Wait()
}

// FuzzLookup turns bytes into a 4- or 16-byte address and compares the
// matcher with reference.Lookup. The checked-in corpus is in
// testdata/fuzz/FuzzLookup.
func FuzzLookup(f *testing.F) {
	for _, s := range []string{"170.10.128.5", "205.139.111.49", "185.58.84.93", "::ffff:185.58.84.94", "2001:db8:1:2::5", "192.0.2.77", "0.0.0.0", "::"} {
		f.Add(netip.MustParseAddr(s).AsSlice())
	}
	f.Add([]byte{})
	f.Add([]byte{1, 2, 3})
	rsets := [][]regions.Range{regions.Ranges(), testRanges}
	ms := make([]*matcher.Matcher, len(rsets))
	for i, rs := range rsets {
		m, err := matcher.New(rs)
		require.NoError(f, err)
		ms[i] = m
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var a netip.Addr
		switch {
		case len(b) >= 16:
			a = netip.AddrFrom16([16]byte(b[:16]))
		case len(b) >= 4:
			a = netip.AddrFrom4([4]byte(b[:4]))
		}
		for i, m := range ms {
			want, wok := reference.Lookup(rsets[i], a)
			got, gok := m.Lookup(a)
			require.Equal(t, wok, gok, "Lookup(%v) found", a)
			require.Equal(t, want.Prefix, got.Prefix, "Lookup(%v)", a)
			require.Equal(t, wok, m.Contains(a), "Contains(%v)", a)
			if a.Is4() {
				mapped := netip.AddrFrom16(a.As16())
				got2, _ := m.Lookup(mapped)
				require.Equal(t, got.Prefix, got2.Prefix, "Lookup(%v) differs from Lookup(%v)", mapped, a)
			}
		}
	})
}
