package regions_test

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/seed-b311f21d/go-mimecastip/regions"
)

// A mail row tagged global (alone, or beside another region) was kept by
// Filter for every region, so "lookup --data F --region us" and the
// library's region-scoped classifiers said Mimecast for it, while the
// policy service deferred it. The global tag of a mail row never selects
// it; website and Web Security rows of global still do.
func TestFilterGlobalTagOfMailRow(t *testing.T) {
	row := func(p string, set regions.Set, svc regions.Service) regions.Range {
		return regions.Range{Prefix: netip.MustParsePrefix(p), Regions: set, Service: svc, FirstSeen: "2026", LastSeen: "2026", Sources: []string{"dc"}}
	}
	rs := []regions.Range{
		row("45.9.1.0/24", regions.SetOf(regions.EU, regions.Global), regions.Gateway),
		row("45.9.2.0/24", regions.SetOf(regions.Global), regions.Gateway),
		row("45.9.3.0/24", regions.SetOf(regions.Global), regions.NonSPF),
		row("45.9.4.0/32", regions.SetOf(regions.Global), regions.Website),
		row("45.9.5.0/24", regions.SetOf(regions.US), regions.Gateway),
	}
	prefixes := func(rs []regions.Range) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.Prefix.String())
		}
		return out
	}
	assert.Equal(t, []string{"45.9.4.0/32", "45.9.5.0/24"}, prefixes(regions.Filter(rs, regions.SetOf(regions.US))))
	assert.Equal(t, []string{"45.9.4.0/32", "45.9.5.0/24"}, prefixes(regions.Filter(rs, regions.SetOf(regions.US, regions.Global))))
	assert.Equal(t, []string{"45.9.1.0/24", "45.9.4.0/32"}, prefixes(regions.Filter(rs, regions.SetOf(regions.EU))))
}
