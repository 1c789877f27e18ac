package refresh_test

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b311f21d/go-mimecastip/cmd/mimecastip/internal/refresh"
	"github.com/seed-b311f21d/go-mimecastip/cmd/mimecastip/internal/spf/spftest"
	"github.com/seed-b311f21d/go-mimecastip/regions"
)

// Rows can leave a region without being retired: when another region's
// record lists them, Apply moves them (the region is dropped from the
// row, which stays active). The shrink window must count those moves, or
// a poisoned answer that moves 40% of a region's rows to another region
// each night empties it (its gateways then only get the other-region
// 4xx in the policy service, and mail is lost when queues expire).
func TestGuardShrinkWindowCountsMovedRows(t *testing.T) {
	var b strings.Builder
	b.WriteString(tenRows(""))
	var za []netip.Prefix
	for i := range 10 {
		p := netip.MustParsePrefix(fmt.Sprintf("45.3.%d.0/24", i))
		za = append(za, p)
		fmt.Fprintf(&b, "%s  za  gateway  active  2026-11-01  2026-11-01  spf-x\n", p)
	}
	data := b.String()
	euZA := func(keep int) zone {
		z := euRecord(keep)
		moved := append([]netip.Prefix(nil), za...)
		for i := keep; i < 10; i++ {
			moved = append(moved, netip.MustParsePrefix(fmt.Sprintf("45.2.%d.0/24", i)))
		}
		z[inc(regions.ZA)] = []string{spftest.Record(moved)}
		return z
	}
	day := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	data, rep := night(t, data, euZA(6), day, regions.EU, regions.ZA)
	require.Equal(t, refresh.StatusDrift, report(t, rep, regions.EU).Status, report(t, rep, regions.EU).Error)
	require.Equal(t, refresh.StatusDrift, report(t, rep, regions.ZA).Status, report(t, rep, regions.ZA).Error)
	require.Contains(t, lineWith(data, "45.2.9.0/24"), " za ", "moved to za, still active")

	_, rep = night(t, data, euZA(5), day.AddDate(0, 0, 1), regions.EU, regions.ZA)
	eu := report(t, rep, regions.EU)
	assert.Equal(t, refresh.StatusRefused, eu.Status, "4 rows moved away yesterday and 1 today are half of 10")
	assert.Equal(t, 4, eu.RecentRows)
	assert.Contains(t, eu.Error, "5 of 10 rows")

	// 31 days later the moves are outside the window.
	_, rep = night(t, data, euZA(5), day.AddDate(0, 0, 31), regions.EU, regions.ZA)
	assert.Equal(t, refresh.StatusDrift, report(t, rep, regions.EU).Status, report(t, rep, regions.EU).Error)
}
