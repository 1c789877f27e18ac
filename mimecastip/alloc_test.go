package mimecastip_test

import (
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b311f21d/go-mimecastip/internal/reference"
	"github.com/seed-b311f21d/go-mimecastip/mimecastip"
	"github.com/seed-b311f21d/go-mimecastip/regions"
)

func TestNoAllocs(t *testing.T) {
	mimecastip.Default() // build outside the measurement
	scoped, err := mimecastip.Load(regions.Embedded(), regions.SetOf(regions.EU))
	require.NoError(t, err)

	for _, s := range []string{"170.10.128.5", "8.8.8.8", "::ffff:207.211.30.45", "2001:db8::1"} {
		a := netip.MustParseAddr(s)
		assert.Zero(t, testing.AllocsPerRun(1000, func() { mimecastip.Lookup(a) }), "Lookup(%v) allocates", a)
		assert.Zero(t, testing.AllocsPerRun(1000, func() { scoped.Lookup(a) }), "scoped Lookup(%v) allocates", a)
	}
	for _, s := range []string{"170.10.128.5", "8.8.8.8", "2001:db8::1", "::ffff:170.10.128.5", "[2001:db8::1]:25",
		"170.10.128.5:25", "[170.10.128.5]", "IPv6:2001:db8::1", "[IPv6:2001:db8::1]:25"} {
		assert.Zero(t, testing.AllocsPerRun(1000, func() { _, _ = mimecastip.LookupString(s) }), "LookupString(%q) allocates", s)
	}
	for _, ip := range []net.IP{net.IPv4(170, 10, 128, 5), net.IPv4(170, 10, 128, 5).To4(), net.ParseIP("2001:db8::1"), nil} {
		assert.Zero(t, testing.AllocsPerRun(1000, func() { mimecastip.LookupIP(ip) }), "LookupIP(%v) allocates", ip)
	}
	var addrs = []net.Addr{
		&net.TCPAddr{IP: net.IPv4(170, 10, 128, 5), Port: 25},
		&net.TCPAddr{IP: net.ParseIP("2001:db8::1"), Port: 25, Zone: "eth0"},
		&net.UDPAddr{IP: net.IPv4(170, 10, 128, 5), Port: 53},
		&net.IPAddr{IP: net.IPv4(170, 10, 128, 5)},
	}
	for _, a := range addrs {
		assert.Zero(t, testing.AllocsPerRun(1000, func() { mimecastip.LookupNetAddr(a) }), "LookupNetAddr(%v) allocates", a)
	}
}

// TestMatchesReference checks the package-level Lookup against the plain
// linear scan of internal/reference on random addresses.
func TestMatchesReference(t *testing.T) {
	rs := regions.Ranges()
	n := 50_000
	if testing.Short() {
		n = 5_000
	}
	rng := rand.New(rand.NewPCG(42, 42))
	for range n {
		v := rng.Uint32()
		if rng.IntN(2) == 0 {
			r := rs[rng.IntN(len(rs))].Prefix.Addr().As4()
			v = uint32(r[0])<<24 | uint32(r[1])<<16 | v&0xffff
		}
		a := netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
		if want := refResult(rs, a); mimecastip.Lookup(a) != want {
			assert.Equal(t, want, mimecastip.Lookup(a), "Lookup(%v)", a)
			return
		}
	}
}

// refResult is the Result that the reference scan gives for a.
func refResult(rs []regions.Range, a netip.Addr) mimecastip.Result {
	r, ok := reference.Lookup(rs, a)
	if !ok {
		return mimecastip.Result{}
	}
	return mimecastip.MakeResult(mimecastip.ClassOf(r.Service), r.Regions, r.Service, r.Prefix)
}

func TestConcurrentLookup(t *testing.T) {
	type probe struct {
		s    string
		a    netip.Addr
		want mimecastip.Result
	}
	var ps []probe
	for _, tc := range canaries {
		a := netip.MustParseAddr(tc.addr)
		ps = append(ps, probe{tc.addr, a, tc.want})
	}
	scoped, err := mimecastip.Load(regions.Embedded(), regions.SetOf(regions.US))
	require.NoError(t, err)
	rounds := 200
	if testing.Short() {
		rounds = 20
	}
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Go(func() {
			for range rounds {
				for _, p := range ps {
					if got := mimecastip.Lookup(p.a); got != p.want {
						assert.Equal(t, p.want, got, "worker %d: Lookup(%v)", w, p.a)
						return
					}
					if got, err := mimecastip.LookupString(p.s); err != nil || got != p.want {
						assert.Equal(t, p.want, got, "worker %d: LookupString(%q) (err %v)", w, p.s, err)
						return
					}
					if got := mimecastip.LookupNetAddr(&net.TCPAddr{IP: p.a.AsSlice()}); got != p.want {
						assert.Equal(t, p.want, got, "worker %d: LookupNetAddr(%v)", w, p.a)
						return
					}
					scoped.Lookup(p.a)
				}
			}
		})
	}
	wg.Wait()
}
