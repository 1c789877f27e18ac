package refresh_test

import (
	"context"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b311f21d/go-mimecastip/cmd/mimecastip/internal/refresh"
	"github.com/seed-b311f21d/go-mimecastip/cmd/mimecastip/internal/spf"
	"github.com/seed-b311f21d/go-mimecastip/regions"
)

// zone is a Lookuper serving TXT records from a map; a missing name is
// NXDOMAIN, a name mapped to nil times out.
type zone map[string][]string

func (z zone) LookupTXT(_ context.Context, name string) ([]string, error) {
	name = strings.TrimSuffix(name, ".")
	recs, ok := z[name]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
	}
	if recs == nil {
		return nil, &net.DNSError{Err: "i/o timeout", Name: name, IsTimeout: true}
	}
	return recs, nil
}

func inc(r regions.Region) string {
	if r == regions.Global {
		return regions.GlobalSPFRecord
	}
	in, _ := regions.InfoOf(r)
	return in.SPFInclude
}

// run expands the given regions against z and compares with the dataset.
func run(t *testing.T, data string, z zone, rs ...regions.Region) (*regions.Dataset, *refresh.Report) {
	t.Helper()
	return runWith(t, data, z, refresh.Options{Today: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}, rs...)
}

// runWith is run with options.
func runWith(t *testing.T, data string, z zone, opts refresh.Options, rs ...regions.Region) (*regions.Dataset, *refresh.Report) {
	t.Helper()
	if opts.Today.IsZero() {
		opts.Today = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	}
	d, err := regions.Parse(strings.NewReader(withEnd(data)))
	require.NoError(t, err)
	x := &spf.Expander{Resolver: z}
	var checks []refresh.Check
	for _, r := range rs {
		c := refresh.Check{Region: r, Include: inc(r)}
		c.Result, c.Err = x.Expand(context.Background(), c.Include)
		checks = append(checks, c)
	}
	return d, refresh.CompareWith(d, checks, opts)
}

func report(t *testing.T, rep *refresh.Report, r regions.Region) refresh.RegionReport {
	t.Helper()
	for _, rr := range rep.Regions {
		if rr.Region == r {
			return rr
		}
	}
	t.Fatalf("no report for %s", r)
	return refresh.RegionReport{}
}

func prefixes(rs []refresh.Removed) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Prefix.String())
	}
	return out
}

func addedPrefixes(as []refresh.Added) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.Prefix.String())
	}
	return out
}

// withEnd returns data with the "@end ROWS" line a data file ends with,
// unless it has one.
func withEnd(data string) string {
	if strings.Contains(data, "\n@end ") {
		return data
	}
	n := 0
	for _, l := range strings.Split(data, "\n") {
		l = strings.TrimSpace(l)
		if l != "" && !strings.HasPrefix(l, "#") && !strings.HasPrefix(l, "@") {
			n++
		}
	}
	return data + regions.EndLine(n) + "\n"
}

const head = "@version 2026-11-01\n@source spf-x 2026-11-01 capture\n@source dc 2026-11-01 page\n"

func TestCompareMultiRegionRow(t *testing.T) {
	data := head + `
45.1.1.0/24  us      gateway  active  2026-11-01  2026-11-01  spf-x
45.1.2.0/24  us      gateway  active  2026-11-01  2026-11-01  spf-x
45.1.3.0/24  us,usb  gateway  active  2026-11-01  2026-11-01  spf-x
45.1.4.0/24  usb     gateway  active  2026-11-01  2026-11-01  spf-x
`
	z := zone{
		inc(regions.US):  {"v=spf1 ip4:45.1.1.0/24 ip4:45.1.2.0/24 -all"},
		inc(regions.USB): {"v=spf1 ip4:45.1.3.0/24 ip4:45.1.4.0/24 -all"},
	}
	_, rep := run(t, data, z, regions.US, regions.USB)
	us := report(t, rep, regions.US)
	assert.Equal(t, refresh.StatusOK, us.Status, "a row of us,usb listed by usb only is still listed")
	assert.Equal(t, 3, us.SPFRows)
	assert.False(t, rep.Drift())

	// usb not checked: the row cannot be judged for us.
	_, rep = run(t, data, z, regions.US)
	us = report(t, rep, regions.US)
	assert.Equal(t, refresh.StatusOK, us.Status)
	assert.Equal(t, []netip.Prefix{netip.MustParsePrefix("45.1.3.0/24")}, us.Unchecked)
	assert.Equal(t, 2, us.SPFRows)
	require.Len(t, us.Notes, 1)

	// usb unknown: the same.
	z2 := zone{inc(regions.US): z[inc(regions.US)], inc(regions.USB): nil}
	_, rep = run(t, data, z2, regions.US, regions.USB)
	assert.Equal(t, refresh.StatusOK, report(t, rep, regions.US).Status)
	assert.Equal(t, refresh.StatusUnknown, report(t, rep, regions.USB).Status)
	assert.Equal(t, "timeout", report(t, rep, regions.USB).ErrorKind)
	assert.Len(t, rep.With(refresh.StatusUnknown), 1)
}

func TestCompareMovedPrefixAndApply(t *testing.T) {
	data := head + `
45.1.1.0/24  us  gateway  active  2026-11-01  2026-11-01  spf-x
45.1.2.0/24  us  gateway  active  2026-11-01  2026-11-01  spf-x
45.1.3.0/24  us  gateway  active  2026-11-01  2026-11-01  spf-x
45.2.1.0/24  eu  gateway  active  2026-11-01  2026-11-01  spf-x
45.2.2.0/24  eu  gateway  active  2026-11-01  2026-11-01  spf-x
45.2.3.0/24  eu  gateway  active  2026-11-01  2026-11-01  spf-x
45.2.9.0/24  eu  gateway  retired 2026-01-01  2026-02-01  spf-x  # old
`
	z := zone{
		inc(regions.US): {"v=spf1 ip4:45.1.1.0/24 ip4:45.1.2.0/24 -all"},
		inc(regions.EU): {"v=spf1 ip4:45.2.1.0/24 ip4:45.2.2.0/24 ip4:45.2.3.0/24 ip4:45.1.3.0/24 ip4:45.2.9.0/24 ip4:45.2.10.0/24 -all"},
	}
	d, rep := run(t, data, z, regions.US, regions.EU)
	us, eu := report(t, rep, regions.US), report(t, rep, regions.EU)
	assert.Equal(t, refresh.StatusDrift, us.Status)
	assert.Equal(t, []string{"45.1.3.0/24"}, prefixes(us.Removed))
	assert.Equal(t, refresh.StatusDrift, eu.Status)
	assert.Equal(t, []string{"45.1.3.0/24", "45.2.9.0/24", "45.2.10.0/24"}, addedPrefixes(eu.Added))
	require.NotNil(t, eu.Added[0].Existing)
	assert.Equal(t, regions.SetOf(regions.US), eu.Added[0].Existing.Regions)
	assert.True(t, eu.Added[1].Existing.Retired)
	assert.Nil(t, eu.Added[2].Existing)
	assert.Equal(t, inc(regions.EU), eu.Added[2].Via)

	day := time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC)
	nd, notes, err := refresh.Apply(d, rep, refresh.ApplyOptions{Today: day, SourceText: "test run"})
	require.NoError(t, err)
	assert.Empty(t, notes)
	assert.Equal(t, "2026-12-05", nd.Version)
	assert.Equal(t, regions.Source{ID: "spf-live", Date: "2026-12-05", Text: "test run"}, nd.Sources[len(nd.Sources)-1])
	got := map[string]regions.Range{}
	var order []string
	for _, r := range nd.Ranges {
		got[r.Prefix.String()] = r
		order = append(order, r.Prefix.String())
	}
	assert.Equal(t, []string{"45.1.1.0/24", "45.1.2.0/24", "45.1.3.0/24", "45.2.1.0/24", "45.2.2.0/24", "45.2.3.0/24", "45.2.9.0/24", "45.2.10.0/24"}, order, "the rows in their order, the new one last")
	moved := got["45.1.3.0/24"]
	assert.Equal(t, regions.SetOf(regions.EU), moved.Regions, "the prefix moved from us to eu")
	assert.False(t, moved.Retired)
	assert.Equal(t, []string{"spf-x", "spf-live"}, moved.Sources)
	assert.Equal(t, "2026-12-05", moved.LastSeen)
	back := got["45.2.9.0/24"]
	assert.False(t, back.Retired)
	assert.Equal(t, "2026-01-01", back.FirstSeen)
	assert.Equal(t, "2026-12-05", back.LastSeen)
	assert.Contains(t, back.Comment, "old; active again in SPF on 2026-12-05")
	assert.Equal(t, "2026-12-05", got["45.2.10.0/24"].FirstSeen)
	assert.Equal(t, []string{"spf-live"}, got["45.2.10.0/24"].Sources)
	assert.Equal(t, "2026-11-01", got["45.1.1.0/24"].LastSeen, "a row still listed is left as it is")
	assert.Equal(t, []string{"spf-x"}, got["45.1.1.0/24"].Sources)

	// Applying the same check again the same day changes nothing.
	_, rep2 := run(t, formatted(t, nd), z, regions.US, regions.EU)
	assert.False(t, rep2.Drift())
	nd2, _, err := refresh.Apply(nd, rep2, refresh.ApplyOptions{Today: day, SourceText: "test run"})
	require.NoError(t, err)
	assert.Equal(t, formatted(t, nd), formatted(t, nd2))
}

func formatted(t *testing.T, d *regions.Dataset) string {
	t.Helper()
	var b strings.Builder
	require.NoError(t, d.Format(&b))
	return b.String()
}

func TestCompareCoverageAndShrink(t *testing.T) {
	data := head + `
45.1.0.0/16  us  gateway  active  2026-11-01  2026-11-01  spf-x
45.3.1.1/32  us  gateway  active  2026-11-01  2026-11-01  spf-x
45.3.1.2/32  us  gateway  active  2026-11-01  2026-11-01  spf-x
45.3.1.3/32  us  gateway  active  2026-11-01  2026-11-01  spf-x
45.4.0.0/24  eu  gateway  active  2026-11-01  2026-11-01  spf-x
45.4.1.0/24  eu  gateway  active  2026-11-01  2026-11-01  spf-x
45.4.2.0/24  eu  gateway  active  2026-11-01  2026-11-01  spf-x
`
	// us drops the /16: one row of four, but almost every address.
	z := zone{
		inc(regions.US): {"v=spf1 ip4:45.3.1.1 ip4:45.3.1.2 ip4:45.3.1.3 -all"},
		// eu consolidates two /24s into a /23 and splits the third in halves.
		inc(regions.EU): {"v=spf1 ip4:45.4.0.0/23 ip4:45.4.2.0/25 ip4:45.4.2.128/25 -all"},
	}
	d, rep := runWith(t, data, z, refresh.Options{Accept: []netip.Prefix{netip.MustParsePrefix("45.4.0.0/23")}}, regions.US, regions.EU)
	us := report(t, rep, regions.US)
	assert.Equal(t, refresh.StatusRefused, us.Status)
	assert.Equal(t, "shrink", us.ErrorKind)
	assert.Equal(t, 1, us.LostRows)
	assert.Equal(t, 4, us.SPFRows)
	assert.InDelta(t, 65536, us.LostAddrs, 0.5)
	assert.Contains(t, us.Error, "would lose half or more")
	_, _, err := refresh.Apply(d, rep, refresh.ApplyOptions{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "us (refused)")

	eu := report(t, rep, regions.EU)
	assert.Equal(t, refresh.StatusDrift, eu.Status)
	assert.Equal(t, []string{"45.4.0.0/24", "45.4.1.0/24", "45.4.2.0/24"}, prefixes(eu.Removed))
	assert.Equal(t, []netip.Prefix{netip.MustParsePrefix("45.4.0.0/23")}, eu.Removed[0].CoveredBy)
	assert.Empty(t, eu.Removed[2].CoveredBy)
	assert.Equal(t, 0, eu.LostRows, "every address is still covered")
	assert.Zero(t, eu.LostAddrs)
}

func TestCompareProtectedRows(t *testing.T) {
	data := head + `
45.1.1.0/24  za  gateway  active  2026-11-01  2026-11-01  spf-x
45.1.2.0/24  za  gateway  active  2026-11-01  2026-11-01  spf-x
45.1.3.0/24  za  gateway  active  2026-11-01  2026-11-01  spf-x
45.1.4.0/24  za  gateway  active  2026-11-01  2026-11-01  dc,spf-x
45.1.5.0/29  za  non-spf  active  2026-11-01  2026-11-01  spf-x
45.1.6.0/24  za  gateway  active  2026-11-01  2026-11-01  dc
`
	z := zone{inc(regions.ZA): {"v=spf1 ip4:45.1.1.0/24 ip4:45.1.2.0/24 ip4:45.1.3.0/24 -all"}}
	d, rep := run(t, data, z, regions.ZA)
	za := report(t, rep, regions.ZA)
	assert.Equal(t, refresh.StatusOK, za.Status)
	assert.Empty(t, za.Removed)
	assert.Equal(t, []string{"45.1.4.0/24", "45.1.5.0/29"}, prefixes(za.Kept))
	assert.Equal(t, "listed on the Data Centers page (dc)", za.Kept[0].Kept)
	assert.Contains(t, za.Kept[1].Kept, "non-spf row")
	nd, _, err := refresh.Apply(d, rep, refresh.ApplyOptions{Today: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)})
	require.NoError(t, err)
	for _, r := range nd.Ranges {
		assert.False(t, r.Retired, r.Prefix)
		if r.Prefix.String() >= "45.1.4.0/24" {
			assert.Equal(t, "2026-11-01", r.LastSeen, r.Prefix)
		}
	}
}

func TestCompareRefusedAndVoid(t *testing.T) {
	data := head + "45.1.1.0/24  ca  gateway  active  2026-11-01  2026-11-01  spf-x\n"
	z := zone{inc(regions.CA): {"v=spf1 ip4:45.1.1.0/24 ip4:10.0.0.0/8 -all"}}
	_, rep := run(t, data, z, regions.CA)
	ca := report(t, rep, regions.CA)
	assert.Equal(t, refresh.StatusRefused, ca.Status)
	assert.Equal(t, "refused", ca.ErrorKind)
	assert.Contains(t, ca.Error, `term "ip4:10.0.0.0/8"`)

	z = zone{inc(regions.CA): {"v=spf1 ip4:45.1.1.0/24 include:gone.example.com -all"}}
	_, rep = run(t, data, z, regions.CA)
	ca = report(t, rep, regions.CA)
	assert.Equal(t, refresh.StatusUnknown, ca.Status)
	assert.Equal(t, "void", ca.ErrorKind)
	assert.Empty(t, ca.Removed)

	_, rep = run(t, data, zone{}, regions.CA)
	ca = report(t, rep, regions.CA)
	assert.Equal(t, refresh.StatusUnknown, ca.Status)
	assert.Equal(t, "nxdomain", ca.ErrorKind)
	assert.Empty(t, ca.Removed, "an unknown region is never all removed")
}

func TestIncludeRegion(t *testing.T) {
	assert.Equal(t, regions.US, refresh.IncludeRegion("US._netblocks.mimecast.com."))
	assert.Equal(t, regions.Global, refresh.IncludeRegion("_netblocks.mimecast.com"))
	assert.Equal(t, regions.USPCOM, refresh.IncludeRegion("uspcom._netblocks.mimecast-pscom-us.com"))
	assert.Equal(t, regions.Region(0), refresh.IncludeRegion("xx._netblocks.mimecast.com"))
}

func TestWriteFile(t *testing.T) {
	d, err := regions.Parse(strings.NewReader(withEnd(head + "45.1.1.0/24  ca  gateway  active  2026-11-01  2026-11-01  spf-x\n")))
	require.NoError(t, err)
	dir := t.TempDir()
	p := filepath.Join(dir, "out.txt")
	require.NoError(t, refresh.WriteFile(p, d))
	back, err := regions.ParseFile(p)
	require.NoError(t, err)
	assert.Len(t, back.Ranges, 1)

	// A dataset that does not validate is not written, and the old file stays.
	bad := d.Clone()
	bad.Ranges = append(bad.Ranges, regions.Range{Prefix: netip.MustParsePrefix("10.0.0.0/8"), Regions: regions.SetOf(regions.CA), Service: regions.Gateway, FirstSeen: "2026", LastSeen: "2026", Sources: []string{"spf-x"}})
	err = refresh.WriteFile(p, bad)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "does not parse back")
	entries, _ := os.ReadDir(dir)
	assert.Len(t, entries, 1, "no temporary file left")
	again, err := regions.ParseFile(p)
	require.NoError(t, err)
	assert.Len(t, again.Ranges, 1)

	// Not into a missing directory, not over a directory.
	assert.Error(t, refresh.WriteFile(filepath.Join(dir, "missing", "x.txt"), d))
	assert.Error(t, refresh.WriteFile(dir, d))
}

func TestIsEmbeddedFile(t *testing.T) {
	assert.True(t, refresh.IsEmbeddedFile(filepath.Join("..", "..", "..", "..", "regions", "ranges.txt")))
	assert.False(t, refresh.IsEmbeddedFile(filepath.Join("..", "..", "..", "..", "regions", "other.txt")))
	assert.ErrorIs(t, refresh.WriteFile(filepath.Join("..", "..", "..", "..", "regions", "ranges.txt"), regions.Embedded()), refresh.ErrEmbeddedFile)

	// regions/ranges.txt of another module is fine.
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "regions"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/other\n"), 0o644))
	assert.False(t, refresh.IsEmbeddedFile(filepath.Join(dir, "regions", "ranges.txt")))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module github.com/seed-b311f21d/go-mimecastip\n\ngo 1.25\n"), 0o644))
	assert.True(t, refresh.IsEmbeddedFile(filepath.Join(dir, "regions", "ranges.txt")), "a copy of this module's tree")
}

func TestSortRows(t *testing.T) {
	rs := []regions.Range{
		{Prefix: netip.MustParsePrefix("45.2.0.0/24"), Regions: regions.SetOf(regions.EU)},
		{Prefix: netip.MustParsePrefix("45.1.0.0/24"), Regions: regions.SetOf(regions.Global)},
		{Prefix: netip.MustParsePrefix("45.3.0.0/25"), Regions: regions.SetOf(regions.US, regions.EU)},
		{Prefix: netip.MustParsePrefix("45.3.0.0/24"), Regions: regions.SetOf(regions.US)},
	}
	refresh.SortRows(rs)
	var got []string
	for _, r := range rs {
		got = append(got, r.Prefix.String())
	}
	assert.Equal(t, []string{"45.3.0.0/24", "45.3.0.0/25", "45.2.0.0/24", "45.1.0.0/24"}, got)
	assert.Equal(t, "spf-live", refresh.SourceID(time.Date(2026, 1, 2, 23, 0, 0, 0, time.UTC)))
}

func TestApplyLeavesOtherServicesAlone(t *testing.T) {
	data := head + `
45.1.1.0/24  us      gateway  active  2026-11-01  2026-11-01  spf-x
45.1.2.1/32  global  website  active  2026-11-01  2026-11-01  dc
`
	z := zone{inc(regions.US): {"v=spf1 ip4:45.1.1.0/24 ip4:45.1.2.1 -all"}}
	d, rep := run(t, data, z, regions.US)
	us := report(t, rep, regions.US)
	assert.Equal(t, []string{"45.1.2.1/32"}, addedPrefixes(us.Added))
	nd, notes, err := refresh.Apply(d, rep, refresh.ApplyOptions{})
	require.NoError(t, err)
	require.Len(t, notes, 1)
	assert.Contains(t, notes[0], "is a website row of global; review it by hand")
	assert.Equal(t, regions.SetOf(regions.Global), nd.Ranges[1].Regions)
	assert.Equal(t, regions.Website, nd.Ranges[1].Service)
}

func TestCompareIPv6(t *testing.T) {
	data := head + `
45.1.1.0/24          de  gateway  active  2026-11-01  2026-11-01  spf-x
2a00:1450::/32       de  gateway  active  2026-11-01  2026-11-01  spf-x
2a00:1451:1::/48     de  gateway  active  2026-11-01  2026-11-01  spf-x
`
	// The /32 is replaced by its two halves; the /48 goes.
	z := zone{inc(regions.DE): {"v=spf1 ip4:45.1.1.0/24 ip6:2a00:1450::/33 ip6:2a00:1450:8000::/33 ip6:2a00:1451:2::/48 -all"}}
	_, rep := run(t, data, z, regions.DE)
	de := report(t, rep, regions.DE)
	assert.Equal(t, refresh.StatusDrift, de.Status, de.Error)
	assert.Equal(t, []string{"2a00:1450::/33", "2a00:1450:8000::/33", "2a00:1451:2::/48"}, addedPrefixes(de.Added))
	assert.Equal(t, []string{"2a00:1450::/32", "2a00:1451:1::/48"}, prefixes(de.Removed))
	assert.Equal(t, 1, de.LostRows, "the /32 is still covered by its halves")
	assert.Less(t, 2*de.LostAddrs, de.SPFAddrs)

	// Dropping the /32 altogether loses almost every address: refused.
	z = zone{inc(regions.DE): {"v=spf1 ip4:45.1.1.0/24 ip6:2a00:1451:1::/48 -all"}}
	_, rep = run(t, data, z, regions.DE)
	de = report(t, rep, regions.DE)
	assert.Equal(t, refresh.StatusRefused, de.Status)
	assert.Equal(t, "shrink", de.ErrorKind)
}
