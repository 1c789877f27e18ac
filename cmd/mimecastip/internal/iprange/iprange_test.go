package iprange

import (
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func pfx(s ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(s))
	for i, x := range s {
		out[i] = netip.MustParsePrefix(x)
	}
	return out
}

func TestMergeAndPrefixes(t *testing.T) {
	s := FromPrefixes(pfx("170.10.128.0/24", "170.10.129.0/24", "170.10.130.0/24", "170.10.131.0/24",
		"170.10.132.56/29", "170.10.132.0/24", "205.139.111.40/29", "205.139.111.0/24", "2001:db8::/48", "2001:db8:1::/48")...)
	assert.Equal(t, pfx("170.10.128.0/22", "170.10.132.0/24", "205.139.111.0/24", "2001:db8::/47"), s.Prefixes())
}

func TestRangePrefixes(t *testing.T) {
	for _, tc := range []struct {
		from, to string
		want     []string
	}{
		{"205.139.111.40", "205.139.111.49", []string{"205.139.111.40/29", "205.139.111.48/31"}},
		{"0.0.0.0", "255.255.255.255", []string{"0.0.0.0/0"}},
		{"::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", []string{"::/0"}},
		{"10.0.0.1", "10.0.0.1", []string{"10.0.0.1/32"}},
		{"2001:db8::", "2001:db8::ffff:ffff:ffff:ffff", []string{"2001:db8::/64"}},
		{"2001:db8::1", "2001:db8::2", []string{"2001:db8::1/128", "2001:db8::2/128"}},
	} {
		r := Range{netip.MustParseAddr(tc.from), netip.MustParseAddr(tc.to)}
		assert.Equal(t, pfx(tc.want...), r.Prefixes(), "%v", r)
	}
}

func TestRangeOf(t *testing.T) {
	r := RangeOf(netip.MustParsePrefix("170.10.132.5/24"))
	assert.Equal(t, "170.10.132.0-170.10.132.255", r.String())
	assert.Equal(t, 256.0, r.Len())
	r = RangeOf(netip.MustParsePrefix("::ffff:10.0.0.0/104"))
	assert.Equal(t, "10.0.0.0-10.255.255.255", r.String())
	assert.Equal(t, "2001:db8::-2001:db8:0:ffff:ffff:ffff:ffff:ffff", RangeOf(netip.MustParsePrefix("2001:db8::/48")).String())
}

// TestAgainstBitmap checks union, intersection and difference against a
// brute-force bitmap over a small IPv4 space.
func TestAgainstBitmap(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const space = 1 << 10
	random := func() (Set, [space]bool) {
		var b Builder
		var bm [space]bool
		for range rng.IntN(6) {
			bitsN := 22 + rng.IntN(11)
			a := rng.Uint32N(space)
			p := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 0, byte(a >> 8), byte(a)}), bitsN).Masked()
			b.AddPrefix(p)
			r := RangeOf(p)
			lo, hi := toU128(r.From).lo-10<<24, toU128(r.To).lo-10<<24
			for i := lo; i <= hi; i++ {
				bm[i] = true
			}
		}
		return b.Set(), bm
	}
	check := func(s Set, bm [space]bool, what string) {
		t.Helper()
		for i := range space {
			a := netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})
			require.Equal(t, bm[i], s.Contains(a), "%s: %v", what, a)
		}
		require.True(t, FromPrefixes(s.Prefixes()...).Equal(s), "%s: prefixes round trip", what)
	}
	for range 300 {
		s, sb := random()
		u, ub := random()
		var un, in, mi [space]bool
		for i := range space {
			un[i], in[i], mi[i] = sb[i] || ub[i], sb[i] && ub[i], sb[i] && !ub[i]
		}
		check(s, sb, "s")
		check(s.Union(u), un, "union")
		check(s.Intersect(u), in, "intersect")
		check(s.Minus(u), mi, "minus")
		assert.Equal(t, s.Minus(u).IsEmpty(), u.Covers(s))
	}
}
