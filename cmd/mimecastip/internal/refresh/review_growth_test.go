package refresh_test

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b311f21d/go-mimecastip/cmd/mimecastip/internal/refresh"
	"github.com/seed-b311f21d/go-mimecastip/cmd/mimecastip/internal/spf/spftest"
	"github.com/seed-b311f21d/go-mimecastip/regions"
)

// The doubling guard was per run: each night could add a little under the
// region's size, so four nights took a region to 16 times its addresses.
// Growth is measured over the window, like the shrink: rows first seen
// within it count as additions, against the region as it was before.
func TestGuardGrowthWindow(t *testing.T) {
	var ps []netip.Prefix
	for i := range 10 {
		ps = append(ps, netip.MustParsePrefix(fmt.Sprintf("45.2.%d.0/24", i)))
	}
	add := func(from, n int) []netip.Prefix {
		var out []netip.Prefix
		for i := range n {
			out = append(out, netip.MustParsePrefix(fmt.Sprintf("45.2.%d.0/24", from+i)))
		}
		return out
	}
	rec := func(extra ...[]netip.Prefix) zone {
		all := append([]netip.Prefix(nil), ps...)
		for _, e := range extra {
			all = append(all, e...)
		}
		return zone{inc(regions.EU): {spftest.Record(all)}}
	}
	day := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	data, rep := night(t, tenRows(""), rec(add(100, 9)), day, regions.EU)
	require.Equal(t, refresh.StatusDrift, report(t, rep, regions.EU).Status, report(t, rep, regions.EU).Error)

	_, rep = night(t, data, rec(add(100, 9), add(120, 9)), day.AddDate(0, 0, 1), regions.EU)
	eu := report(t, rep, regions.EU)
	assert.Equal(t, refresh.StatusRefused, eu.Status, "28 /24s where the region had 10 a day ago")
	assert.Contains(t, eu.Error, "more than double")

	// 31 days later the first additions are the region's own.
	_, rep = night(t, data, rec(add(100, 9), add(120, 9)), day.AddDate(0, 0, 31), regions.EU)
	assert.Equal(t, refresh.StatusDrift, report(t, rep, regions.EU).Status, report(t, rep, regions.EU).Error)
	// So is a night that adds nothing new.
	_, rep = night(t, data, rec(add(100, 9)), day.AddDate(0, 0, 1), regions.EU)
	assert.Equal(t, refresh.StatusOK, report(t, rep, regions.EU).Status, report(t, rep, regions.EU).Error)
}
