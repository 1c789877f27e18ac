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
