package refresh_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b311f21d/go-mimecastip/cmd/mimecastip/internal/refresh"
	"github.com/seed-b311f21d/go-mimecastip/regions"
)

// night runs one refresh of the regions against z on day and, unless a
// region is refused, applies and renders it: the nightly job of the README.
func night(t *testing.T, data string, z zone, day time.Time, rs ...regions.Region) (string, *refresh.Report) {
	t.Helper()
	d, rep := runWith(t, data, z, refresh.Options{Today: day}, rs...)
	for _, rr := range rep.Regions {
		if rr.Status == refresh.StatusRefused || rr.Status == refresh.StatusUnknown {
			return data, rep
		}
	}
	nd, _, err := refresh.Apply(d, rep, refresh.ApplyOptions{Today: day})
	require.NoError(t, err)
	out, err := refresh.Render([]byte(withEnd(data)), d, nd)
	require.NoError(t, err)
	return string(out), rep
}

// A row retired, listed again, then retired again carries two "retired
// DATE" notes. The shrink window must count it from the latest one: from
// the first, rows retired again yesterday fall outside the window and a
// region can be taken apart 40% a night after any earlier flap.
func TestGuardShrinkWindowCountsLatestRetirement(t *testing.T) {
	day := time.Date(2026, 11, 5, 0, 0, 0, 0, time.UTC)
	data, rep := night(t, tenRows(""), euRecord(6), day, regions.EU) // 4 of 10 retired
	require.Equal(t, refresh.StatusDrift, report(t, rep, regions.EU).Status)
	data, rep = night(t, data, euRecord(10), day.AddDate(0, 0, 1), regions.EU) // all 10 back
	require.Equal(t, refresh.StatusDrift, report(t, rep, regions.EU).Status, report(t, rep, regions.EU).Error)
	data, rep = night(t, data, euRecord(6), day.AddDate(0, 0, 40), regions.EU) // the same 4 retired again
	require.Equal(t, refresh.StatusDrift, report(t, rep, regions.EU).Status, report(t, rep, regions.EU).Error)
	require.Equal(t, 2, strings.Count(lineWith(data, "45.2.9.0/24"), ": not in eu._netblocks"), lineWith(data, "45.2.9.0/24"))

	r := regions.Range{Retired: true, LastSeen: "2026-11-06", Comment: lineWith(data, "45.2.9.0/24")}
	assert.Equal(t, "2026-12-15", refresh.RetiredOn(r), "the latest retirement")

	// The next night drops one more: 5 of 10 within 30 days.
	_, rep = night(t, data, euRecord(5), day.AddDate(0, 0, 41), regions.EU)
	eu := report(t, rep, regions.EU)
	assert.Equal(t, refresh.StatusRefused, eu.Status, "4 rows retired yesterday and 1 today are half of 10")
	assert.Equal(t, 4, eu.RecentRows)
}
