package policy

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b311f21d/go-mimecastip/regions"
)

// A mail row tagged "eu,global" passed for --region us (and every other
// region): "global" widened the scope of a mail row, although Mimecast
// publishes no mail range for every account. Like a mail row of global
// alone, the global tag of a mail row never passes: the row passes for
// its own regions only and is "other region" elsewhere.
func TestEngineGlobalTagOfMailRowDoesNotWiden(t *testing.T) {
	d := regions.Embedded()
	d.Ranges = append(d.Ranges,
		regions.Range{Prefix: netip.MustParsePrefix("45.9.1.0/24"), Regions: regions.SetOf(regions.EU, regions.Global),
			Service: regions.Gateway, FirstSeen: "2026", LastSeen: "2026", Sources: []string{"dc"}},
		regions.Range{Prefix: netip.MustParsePrefix("45.9.2.0/24"), Regions: regions.SetOf(regions.EU, regions.Global),
			Service: regions.NonSPF, FirstSeen: "2026", LastSeen: "2026", Sources: []string{"dc"}})
	for _, a := range []string{"45.9.1.9", "45.9.2.9"} {
		addr := netip.MustParseAddr(a)
		for _, scope := range []regions.Set{regions.SetOf(regions.US), regions.SetOf(regions.ZA), regions.SetOf(regions.US, regions.Global)} {
			e, err := NewEngine(d, "test", Options{Regions: scope})
			require.NoError(t, err)
			dec := e.DecideAddr(addr)
			assert.Equal(t, Defer, dec.Verdict, "%s for --region %s", a, scope)
			assert.Equal(t, "other region", dec.Reason)
			assert.Equal(t, refTier(d.Ranges, scope, false, addr), dec.Verdict, "the reference agrees")
		}
		for _, scope := range []regions.Set{regions.SetOf(regions.EU), 0} {
			e, err := NewEngine(d, "test", Options{Regions: scope})
			require.NoError(t, err)
			assert.Equal(t, Pass, e.DecideAddr(addr).Verdict, "%s for --region %q", a, scope)
			assert.Equal(t, Pass, refTier(d.Ranges, scope, false, addr))
		}
	}
	// Website and Web Security rows of global are still named in scope.
	us, err := NewEngine(d, "test", Options{Regions: regions.SetOf(regions.US)})
	require.NoError(t, err)
	dec := us.DecideAddr(netip.MustParseAddr("41.74.203.10"))
	assert.Equal(t, Reject, dec.Verdict)
	assert.Equal(t, "global", dec.Regions().String())
}

// A website or Web Security row inside a gateway range (a custom data
// file, or Mimecast listing one of its hosts in both) made the gateway's
// address a 5xx: the most specific row decided, and it is not a mail row.
// An address in a Mimecast mail range is never surely not Mimecast's: the
// mail range decides its tier.
func TestEngineWebsiteRowInsideGatewayRange(t *testing.T) {
	d := regions.Embedded()
	d.Ranges = append(d.Ranges, regions.Range{Prefix: netip.MustParsePrefix(usGateway + "/32"), Regions: regions.SetOf(regions.Global),
		Service: regions.Website, FirstSeen: "2026", LastSeen: "2026", Sources: []string{"dc"}})
	addr := netip.MustParseAddr(usGateway)
	for _, tc := range []struct {
		scope   regions.Set
		strict  bool
		verdict Verdict
	}{{regions.SetOf(regions.US), false, Pass}, {0, false, Pass}, {regions.SetOf(regions.EU), false, Defer}, {regions.SetOf(regions.EU), true, Reject}} {
		e, err := NewEngine(d, "test", Options{Regions: tc.scope, Strict: tc.strict})
		require.NoError(t, err)
		dec := e.DecideAddr(addr)
		assert.Equal(t, tc.verdict, dec.Verdict, "--region %q strict %v", tc.scope, tc.strict)
		assert.Equal(t, "us", dec.Regions().String(), "the gateway range decides")
		assert.Equal(t, tc.verdict, refTier(d.Ranges, tc.scope, tc.strict, addr), "the reference agrees")
	}
	// The website address alone (outside every mail range) is still refused.
	us, err := NewEngine(d, "test", Options{Regions: regions.SetOf(regions.US)})
	require.NoError(t, err)
	assert.Equal(t, Reject, us.DecideAddr(netip.MustParseAddr("146.101.202.134")).Verdict)
}
