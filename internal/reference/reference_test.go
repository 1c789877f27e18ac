package reference_test

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/seed-b311f21d/go-mimecastip/internal/reference"
	"github.com/seed-b311f21d/go-mimecastip/regions"
)

func rg(p string, retired bool, svc regions.Service) regions.Range {
	return regions.Range{Prefix: netip.MustParsePrefix(p), Retired: retired, Service: svc}
}

func TestLookup(t *testing.T) {
	rs := []regions.Range{
		rg("192.0.2.0/24", false, regions.Gateway),
		rg("192.0.2.0/28", true, regions.Gateway), // retired: never matches
		rg("192.0.2.64/26", false, regions.Gateway),
		rg("192.0.2.64/26", false, regions.NonSPF), // same prefix: the first wins
		rg("192.0.2.77/32", false, regions.Website),
		rg("2001:db8::/32", false, regions.Gateway),
		rg("2001:db8::/48", false, regions.NonSPF),
	}
	tests := []struct {
		addr string
		want string
		svc  regions.Service
	}{
		{"192.0.2.1", "192.0.2.0/24", regions.Gateway},
		{"192.0.2.65", "192.0.2.64/26", regions.Gateway},
		{"192.0.2.77", "192.0.2.77/32", regions.Website},
		{"::ffff:192.0.2.77", "192.0.2.77/32", regions.Website},
		{"2001:db8::1%eth0", "2001:db8::/48", regions.NonSPF},
		{"2001:db8:1::1", "2001:db8::/32", regions.Gateway},
		{"192.0.3.1", "", 0},
		{"::192.0.2.1", "", 0},
	}
	for _, tc := range tests {
		a := netip.MustParseAddr(tc.addr)
		r, ok := reference.Lookup(rs, a)
		if tc.want == "" {
			assert.False(t, ok, "Lookup(%v) = %v", a, r.Prefix)
			assert.Zero(t, r)
			continue
		}
		assert.True(t, ok, "Lookup(%v)", a)
		assert.Equal(t, netip.MustParsePrefix(tc.want), r.Prefix, "Lookup(%v)", a)
		assert.Equal(t, tc.svc, r.Service, "Lookup(%v).Service", a)
	}
	_, ok := reference.Lookup(rs, netip.Addr{})
	assert.False(t, ok, "Lookup(zero Addr)")
	_, ok = reference.Lookup(nil, netip.MustParseAddr("192.0.2.1"))
	assert.False(t, ok, "Lookup on no ranges")
	_, ok = reference.Lookup([]regions.Range{rg("0.0.0.0/0", false, regions.Gateway)}, netip.Addr{})
	assert.False(t, ok, "the zero Addr matches nothing, not even /0")
}
