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

// The shrink window measured a region's loss against its rows now, new
// ones included, so two poisoned nights emptied it: the first adds
// almost as many rows as the region has (under double), the second drops
// every real row but one (a little under half of the diluted region).
// Rows first seen within the window do not count in the base: the loss
// is measured against the region as it was when the window began.
func TestGuardShrinkWindowNotDilutedByNewRows(t *testing.T) {
	real := func(keep int) []netip.Prefix {
		var ps []netip.Prefix
		for i := range keep {
			ps = append(ps, netip.MustParsePrefix(fmt.Sprintf("45.2.%d.0/24", 9-i)))
		}
		return ps
	}
	var bogus []netip.Prefix
	for i := range 9 {
		bogus = append(bogus, netip.MustParsePrefix(fmt.Sprintf("45.2.%d.0/24", 100+i)))
	}
	rec := func(ps ...[]netip.Prefix) zone {
		var all []netip.Prefix
		for _, p := range ps {
			all = append(all, p...)
		}
		return zone{inc(regions.EU): {spftest.Record(all)}}
	}
	day := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	data, rep := night(t, tenRows(""), rec(real(10), bogus), day, regions.EU)
	require.Equal(t, refresh.StatusDrift, report(t, rep, regions.EU).Status, report(t, rep, regions.EU).Error)

	_, rep = night(t, data, rec(real(1), bogus), day.AddDate(0, 0, 1), regions.EU)
	eu := report(t, rep, regions.EU)
	assert.Equal(t, refresh.StatusRefused, eu.Status, "9 of the 10 rows the region had a day ago")
	assert.Contains(t, eu.Error, "9 of 10 rows")

	// Rows first seen within the window that go again are no loss of the
	// region as it was: dropping the 9 new ones is drift.
	_, rep = night(t, data, rec(real(10)), day.AddDate(0, 0, 1), regions.EU)
	eu = report(t, rep, regions.EU)
	assert.Equal(t, refresh.StatusDrift, eu.Status, eu.Error)
	assert.Len(t, eu.Removed, 9)

	// 31 days later the new rows are the region's own.
	_, rep = night(t, data, rec(real(1), bogus), day.AddDate(0, 0, 31), regions.EU)
	assert.Equal(t, refresh.StatusDrift, report(t, rep, regions.EU).Status, report(t, rep, regions.EU).Error)
}

// A region whose rows are all new (a data file written this month) still
// has a shrink guard: its rows are the base.
func TestGuardShrinkAllRowsNew(t *testing.T) {
	data := tenRows("")
	_, rep := runWith(t, data, euRecord(4), refresh.Options{Today: time.Date(2026, 11, 10, 0, 0, 0, 0, time.UTC)}, regions.EU)
	eu := report(t, rep, regions.EU)
	assert.Equal(t, refresh.StatusRefused, eu.Status)
	assert.Contains(t, eu.Error, "6 of 10 rows")
}

// Rows of another region that gain the region ("in RECORD from DATE")
// keep their old first-seen date; they are new to the region all the same
// and cannot dilute its base either.
func TestGuardShrinkWindowNotDilutedByGainedRows(t *testing.T) {
	data := tenRows("")
	var za []netip.Prefix
	for i := range 9 {
		za = append(za, netip.MustParsePrefix(fmt.Sprintf("45.2.%d.0/24", 100+i)))
		data += fmt.Sprintf("45.2.%d.0/24  za  gateway  active  2026-01-01  2026-11-01  spf-x\n", 100+i)
	}
	real := func(keep int) []netip.Prefix {
		var ps []netip.Prefix
		for i := range keep {
			ps = append(ps, netip.MustParsePrefix(fmt.Sprintf("45.2.%d.0/24", 9-i)))
		}
		return ps
	}
	rec := func(eu []netip.Prefix) zone {
		return zone{inc(regions.EU): {spftest.Record(append(eu, za...))}, inc(regions.ZA): {spftest.Record(za)}}
	}
	day := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	data, rep := night(t, data, rec(real(10)), day, regions.EU, regions.ZA)
	require.Equal(t, refresh.StatusDrift, report(t, rep, regions.EU).Status, report(t, rep, regions.EU).Error)
	require.Contains(t, lineWith(data, "45.2.100.0/24"), "eu,za")

	_, rep = night(t, data, rec(real(1)), day.AddDate(0, 0, 1), regions.EU, regions.ZA)
	eu := report(t, rep, regions.EU)
	assert.Equal(t, refresh.StatusRefused, eu.Status, "9 of the 10 rows eu had a day ago")
	assert.Contains(t, eu.Error, "9 of 10 rows")
}

// A retired row of another region that a record lists again becomes the
// region's ("retired for za, active again for eu in SPF on DATE") with
// its old first-seen date: new to the region all the same.
func TestGuardShrinkWindowNotDilutedByReactivatedRows(t *testing.T) {
	data := tenRows("")
	var old []netip.Prefix
	for i := range 9 {
		old = append(old, netip.MustParsePrefix(fmt.Sprintf("45.2.%d.0/24", 100+i)))
		data += fmt.Sprintf("45.2.%d.0/24  za  gateway  retired  2020-01-01  2021-01-01  spf-x\n", 100+i)
	}
	real := func(keep int) []netip.Prefix {
		var ps []netip.Prefix
		for i := range keep {
			ps = append(ps, netip.MustParsePrefix(fmt.Sprintf("45.2.%d.0/24", 9-i)))
		}
		return ps
	}
	rec := func(eu []netip.Prefix) zone {
		return zone{inc(regions.EU): {spftest.Record(append(eu, old...))}}
	}
	day := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	data, rep := night(t, data, rec(real(10)), day, regions.EU)
	require.Equal(t, refresh.StatusDrift, report(t, rep, regions.EU).Status, report(t, rep, regions.EU).Error)
	require.Contains(t, lineWith(data, "45.2.100.0/24"), "active again for eu")

	_, rep = night(t, data, rec(real(1)), day.AddDate(0, 0, 1), regions.EU)
	eu := report(t, rep, regions.EU)
	assert.Equal(t, refresh.StatusRefused, eu.Status, "9 of the 10 rows eu had a day ago")
	assert.Contains(t, eu.Error, "9 of 10 rows")
}
