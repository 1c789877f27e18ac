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

// A row that SPF drops and lists again night after night gained two notes
// per flap without limit; after about 45 flaps its line was longer than a
// data file allows, the written file no longer parsed back, and every
// later --write failed: a poisoned answer could freeze the data. Notes
// older than the shrink window are dropped, oldest first, once a comment
// is long; the admin's own text and every recent note stay.
func TestApplyBoundsNotesOfFlappingRow(t *testing.T) {
	data := strings.Replace(tenRows(""), "45.2.9.0/24  eu  gateway  active  2026-11-01  2026-11-01  spf-x",
		"45.2.9.0/24  eu  gateway  active  2026-11-01  2026-11-01  spf-x  # our note; keep it", 1)
	day := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	var rep *refresh.Report
	for i := range 200 {
		keep := 10
		if i%2 == 0 {
			keep = 9
		}
		data, rep = night(t, data, euRecord(keep), day.AddDate(0, 0, i), regions.EU)
		require.Equal(t, refresh.StatusDrift, report(t, rep, regions.EU).Status, "night %d: %s", i, report(t, rep, regions.EU).Error)
		_, err := regions.Parse(strings.NewReader(data))
		require.NoError(t, err, "night %d", i)
	}
	line := lineWith(data, "45.2.9.0/24")
	assert.Less(t, len(line), 2500, line)
	assert.Contains(t, line, "# our note; keep it; ")
	last := day.AddDate(0, 0, 199).Format(time.DateOnly)
	assert.Contains(t, line, "active again in SPF on "+last, "the newest note stays")
	assert.Contains(t, line, "retired "+day.AddDate(0, 0, 198).Format(time.DateOnly)+": not in", "recent notes stay")
	assert.NotContains(t, line, "retired 2026-12-01:", "the oldest notes went")
}
