package regions_test

// Tests of loading a dataset at run time (mimecastip --data FILE, refresh
// --write output): the file on disk must load exactly like the embedded
// copy, and a file written with Format must load back unchanged.

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b311f21d/go-mimecastip/regions"
)

func TestLoadFileEqualsEmbedded(t *testing.T) {
	d, err := regions.ParseFile("ranges.txt")
	require.NoError(t, err)
	assert.Equal(t, regions.Embedded(), d, "the file in the source tree is the embedded one")
	assert.Equal(t, regions.Version(), d.Version)
	assert.Equal(t, regions.Ranges(), d.Ranges)
}

// loadWrite formats d into a file and returns its path.
func loadWrite(t *testing.T, d *regions.Dataset) string {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, d.Format(&b))
	p := filepath.Join(t.TempDir(), "ranges.txt")
	require.NoError(t, os.WriteFile(p, b.Bytes(), 0o644))
	return p
}

func loadStrip(d *regions.Dataset) *regions.Dataset {
	c := d.Clone()
	for i := range c.Ranges {
		c.Ranges[i].Line = 0
	}
	return c
}

func TestLoadFormattedFile(t *testing.T) {
	// A dataset as a refresh writes it: a new SPF source, a new row, a row
	// retired with a comment, a row gaining a region.
	d := regions.Embedded()
	d.Version = "2026-12-01"
	d.Sources = append(d.Sources, regions.Source{ID: "spf-20261201", Date: "2026-12-01", Text: "mimecastip refresh: SPF expansion of us._netblocks.mimecast.com (via 127.0.0.1:53) # not a comment"})
	d.Ranges = append(d.Ranges, regions.Range{
		Prefix: netip.MustParsePrefix("170.10.158.0/24"), Regions: regions.SetOf(regions.USB), Service: regions.Gateway,
		FirstSeen: "2026-12-01", LastSeen: "2026-12-01", Sources: []string{"spf-20261201"},
	})
	for i := range d.Ranges {
		r := &d.Ranges[i]
		switch r.Prefix.String() {
		case "170.10.151.0/24":
			r.Retired = true
			r.Comment = "not in usb._netblocks.mimecast.com on 2026-12-01"
		case "170.10.153.0/24":
			r.Regions = r.Regions.Add(regions.US)
			r.Sources = append(r.Sources, "spf-20261201")
			r.LastSeen = "2026-12-01"
		}
	}
	p := loadWrite(t, d)
	back, err := regions.ParseFile(p)
	require.NoError(t, err)
	assert.Equal(t, loadStrip(d), loadStrip(back))

	// Format is a fixed point: writing what was read gives the same bytes.
	first, err := os.ReadFile(p)
	require.NoError(t, err)
	var again bytes.Buffer
	require.NoError(t, back.Format(&again))
	assert.Equal(t, string(first), again.String())
}

func TestLoadFileErrorsNameThePath(t *testing.T) {
	dir := t.TempDir()
	_, err := regions.ParseFile(dir)
	require.Error(t, err, "a directory")

	p := filepath.Join(dir, "bad.txt")
	// Three problems on three lines, all reported at once.
	data := "@version 2026-01-01\n@source src 2026 x\n" +
		"10.0.0.0/8 us gateway active 2025 2026 src\n" +
		"45.1.0.0/24 mars gateway active 2025 2026 src\n" +
		"45.2.0.0/24 us gateway active 2025 2026 nosuch\n"
	require.NoError(t, os.WriteFile(p, []byte(data), 0o644))
	_, err = regions.ParseFile(p)
	require.Error(t, err)
	for _, want := range []string{p + ": ", "line 3", "private", "line 4", `bad regions "mars"`, "line 5", `source "nosuch"`} {
		assert.Contains(t, err.Error(), want)
	}
}

func TestLoadLargeFile(t *testing.T) {
	// Far more rows than Mimecast publishes: a generated file of 20000
	// /32s loads, and loads concurrently.
	var b strings.Builder
	b.WriteString("@version 2026-01-01\n@source spf-x 2026 generated\n")
	for i := range 20000 {
		fmt.Fprintf(&b, "45.%d.%d.1/32 eu gateway active 2026 2026 spf-x\n", 1+i/256, i%256)
	}
	b.WriteString("@end 20000\n")
	p := filepath.Join(t.TempDir(), "big.txt")
	require.NoError(t, os.WriteFile(p, []byte(b.String()), 0o644))
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			d, err := regions.ParseFile(p)
			if assert.NoError(t, err) {
				assert.Len(t, d.Ranges, 20000)
			}
		})
	}
	wg.Wait()
}
