package spf_test

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	blitiri "blitiri.com.ar/go/spf"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b311f21d/go-mimecastip/cmd/mimecastip/internal/spf"
	"github.com/seed-b311f21d/go-mimecastip/cmd/mimecastip/internal/spf/spftest"
	"github.com/seed-b311f21d/go-mimecastip/regions"
)

// TestOracle checks the expander against an independent SPF evaluator
// (blitiri.com.ar/go/spf) on the same loopback zone: for the first and
// last address of every prefix, and the addresses just outside it, the
// evaluator says "pass" exactly when the expansion holds the address.
func TestOracle(t *testing.T) {
	zone := spftest.ZoneOf(regions.Embedded())
	// Add an include and a redirect so that both are exercised.
	zone["eu._netblocks.mimecast.com"] = []string{zone["eu._netblocks.mimecast.com"][0][:len(zone["eu._netblocks.mimecast.com"][0])-len(" -all")] + " include:extra.example.com ~all"}
	zone["extra.example.com"] = []string{"v=spf1 ip4:45.1.2.0/24 ip6:2a00:1450:4000::/36 redirect=more.example.com"}
	zone["more.example.com"] = []string{"v=spf1 ip4:45.9.9.9 -all"}
	s := spftest.Start(t, zone)
	res := s.Resolver()
	x := &spf.Expander{Resolver: res, Timeout: 2 * time.Second}
	passes, others := 0, 0
	for _, name := range []string{"_netblocks.mimecast.com", "eu._netblocks.mimecast.com", "za._netblocks.mimecast.com"} {
		exp, err := x.Expand(context.Background(), name)
		require.NoError(t, err, name)
		var probes []netip.Addr
		for _, p := range exp.Prefixes {
			first := p.Addr()
			last := lastOf(p)
			probes = append(probes, first, last, first.Prev(), last.Next())
		}
		probes = append(probes, netip.MustParseAddr("8.8.8.8"), netip.MustParseAddr("2a00:1450:5000::1"))
		for _, a := range probes {
			if !a.IsValid() {
				continue
			}
			in := false
			for _, p := range exp.Prefixes {
				if p.Contains(a) {
					in = true
				}
			}
			got, err := blitiri.CheckHostWithSender(net.IP(a.AsSlice()), "mail.example.org", "bounce@"+name,
				blitiri.WithResolver(res), blitiri.WithContext(context.Background()))
			if got == blitiri.Pass {
				passes++
			} else {
				others++
			}
			if in {
				assert.Equal(t, blitiri.Pass, got, "%s in %s: %v", a, name, err)
			} else {
				assert.NotEqual(t, blitiri.Pass, got, "%s not in %s: %v", a, name, err)
				assert.Contains(t, []blitiri.Result{blitiri.Fail, blitiri.SoftFail}, got, "%s in %s: %v", a, name, err)
			}
		}
	}
	t.Logf("%d probes pass, %d do not", passes, others)
	assert.Greater(t, passes, 100)
	assert.Greater(t, others, 100)
}

func lastOf(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 1 << (7 - i%8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}
