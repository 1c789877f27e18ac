package refresh_test

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b311f21d/go-mimecastip/cmd/mimecastip/internal/refresh"
	"github.com/seed-b311f21d/go-mimecastip/cmd/mimecastip/internal/spf/spftest"
	"github.com/seed-b311f21d/go-mimecastip/regions"
)

// embeddedZone is a zone equal to the embedded dataset's SPF rows, with
// region r's record replaced by rec when r is not zero.
func embeddedZone(r regions.Region, rec string) zone {
	z := zone(spftest.ZoneOf(regions.Embedded()))
	if r != 0 {
		z[inc(r)] = []string{rec}
	}
	return z
}

// usRecord is the embedded dataset's us record plus the extra terms.
func usRecord(extra ...string) string {
	var ps []netip.Prefix
	for _, rg := range regions.Embedded().Active() {
		if rg.Regions.Has(regions.US) && rg.SPFPublished() {
			ps = append(ps, rg.Prefix)
		}
	}
	return spftest.Record(ps, extra...)
}

func embeddedText(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "..", "regions", "ranges.txt"))
	require.NoError(t, err)
	return string(b)
}

// Measured failure 1: a us._netblocks answer with 400 extra public /16s
// (26M addresses) was written as active US gateway rows.
func TestGuardBroadAdditions(t *testing.T) {
	// Four included records of 100 /16s each keep every answer within
	// the size limits.
	var extra []string
	z := embeddedZone(0, "")
	for r := range 2 {
		var terms []string
		for i := range 200 {
			terms = append(terms, fmt.Sprintf("ip4:%d.%d.0.0/16", 11+r, i))
		}
		name := fmt.Sprintf("us%d.example.com", r)
		z[name] = []string{spftest.Record(nil, terms...)}
		extra = append(extra, "include:"+name)
	}
	z[inc(regions.US)] = []string{usRecord(extra...)}
	data := embeddedText(t)
	_, rep := run(t, data, z, regions.US)
	us := report(t, rep, regions.US)
	assert.Equal(t, refresh.StatusRefused, us.Status)
	assert.Equal(t, "growth", us.ErrorKind)
	assert.Contains(t, us.Error, "ip4:11.0.0.0/16 in us0.example.com is broader than /24")
	assert.Contains(t, us.Error, "more than double")
	assert.Contains(t, us.Error, "--accept")
	assert.Less(t, len(us.Error), 4000, "the message names some terms, not all 400")

	// One /22 is already broader than anything us has published.
	_, rep = run(t, data, embeddedZone(regions.US, usRecord("ip4:170.10.160.0/22")), regions.US)
	us = report(t, rep, regions.US)
	assert.Equal(t, refresh.StatusRefused, us.Status)
	assert.Contains(t, us.Error, "ip4:170.10.160.0/22 in us._netblocks.mimecast.com is broader than /24")

	// za has published /22s: a new /22 there is within its bound.
	var za []netip.Prefix
	for _, rg := range regions.Embedded().Active() {
		if rg.Regions.Has(regions.ZA) && rg.SPFPublished() {
			za = append(za, rg.Prefix)
		}
	}
	_, rep = run(t, data, embeddedZone(regions.ZA, spftest.Record(za, "ip4:41.74.208.0/22")), regions.ZA)
	assert.Equal(t, refresh.StatusDrift, report(t, rep, regions.ZA).Status, report(t, rep, regions.ZA).Error)
	// A /21 is broader than any region may gain without review.
	_, rep = run(t, data, embeddedZone(regions.ZA, spftest.Record(za, "ip4:41.74.216.0/21")), regions.ZA)
	assert.Contains(t, report(t, rep, regions.ZA).Error, "broader than /22")

	// One new /24 is a normal change: drift, written by Apply.
	d, rep := run(t, data, embeddedZone(regions.US, usRecord("ip4:170.10.158.0/24")), regions.US)
	us = report(t, rep, regions.US)
	assert.Equal(t, refresh.StatusDrift, us.Status, us.Error)
	assert.Equal(t, []string{"170.10.158.0/24"}, addedPrefixes(us.Added))
	_, _, err := refresh.Apply(d, rep, refresh.ApplyOptions{Today: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)})
	require.NoError(t, err)

	// Many /24s that more than double us: refused, even though each is
	// narrow enough.
	extra = nil
	for i := range 30 {
		extra = append(extra, fmt.Sprintf("ip4:45.9.%d.0/24", i))

	}
	_, rep = run(t, data, embeddedZone(regions.US, usRecord(extra...)), regions.US)
	us = report(t, rep, regions.US)
	assert.Equal(t, refresh.StatusRefused, us.Status)
	assert.Contains(t, us.Error, "more than double")
	assert.NotContains(t, us.Error, "broader than")

	// The admin's override names the reviewed prefixes: exactly those pass.
	var accept []netip.Prefix
	for i := range 30 {
		accept = append(accept, netip.MustParsePrefix(fmt.Sprintf("45.9.%d.0/24", i)))
	}
	_, rep = runWith(t, data, embeddedZone(regions.US, usRecord(extra...)), refresh.Options{Accept: accept}, regions.US)
	assert.Equal(t, refresh.StatusDrift, report(t, rep, regions.US).Status, report(t, rep, regions.US).Error)
	_, rep = runWith(t, data, embeddedZone(regions.US, usRecord(append(extra, "ip4:45.8.0.0/16")...)), refresh.Options{Accept: accept}, regions.US)
	us = report(t, rep, regions.US)
	assert.Equal(t, refresh.StatusRefused, us.Status, "a prefix not named is still refused")
	assert.Contains(t, us.Error, "ip4:45.8.0.0/16")
}

// Measured failure 1, IPv6: an ip6: /32 was accepted although no source
// has ever published a Mimecast IPv6 range.
func TestGuardIPv6WhileNoneEverPublished(t *testing.T) {
	data := embeddedText(t)
	_, rep := run(t, data, embeddedZone(regions.US, usRecord("ip6:2a00:1450::/32")), regions.US)
	us := report(t, rep, regions.US)
	assert.Equal(t, refresh.StatusRefused, us.Status)
	assert.Contains(t, us.Error, "ip6:2a00:1450::/32 in us._netblocks.mimecast.com is IPv6, and no source has ever published an IPv6 range")

	_, rep = runWith(t, data, embeddedZone(regions.US, usRecord("ip6:2a00:1450::/48")), refresh.Options{Accept: []netip.Prefix{netip.MustParsePrefix("2a00:1450::/48")}}, regions.US)
	assert.Equal(t, refresh.StatusDrift, report(t, rep, regions.US).Status, "accepted after review")
}

// Measured failure 2: a direct ip4: term in the global record became a
// row of region global, which passes in every region.
func TestGuardGlobalDirectTerms(t *testing.T) {
	data := embeddedText(t)
	z := embeddedZone(0, "")
	g := inc(regions.Global)
	z[g] = []string{strings.Replace(z[g][0], "v=spf1 ", "v=spf1 ip4:8.8.8.0/24 ", 1)}
	rs := []regions.Region{regions.US, regions.USB, regions.CA, regions.EU, regions.DE, regions.AU, regions.ZA, regions.Global}
	d, rep := run(t, data, z, rs...)
	gl := report(t, rep, regions.Global)
	assert.Equal(t, refresh.StatusRefused, gl.Status)
	assert.Equal(t, "global-direct", gl.ErrorKind)
	assert.Contains(t, gl.Error, "_netblocks.mimecast.com lists ip4:8.8.8.0/24 directly")
	_, _, err := refresh.Apply(d, rep, refresh.ApplyOptions{})
	assert.Error(t, err)
	// Not even an override lets it through.
	_, rep = runWith(t, data, z, refresh.Options{Accept: []netip.Prefix{netip.MustParsePrefix("8.8.8.0/24")}}, rs...)
	assert.Equal(t, refresh.StatusRefused, report(t, rep, regions.Global).Status)

	// Apply never writes a row of region global, whatever the report says.
	d, rep = run(t, data, embeddedZone(0, ""), rs...)
	require.False(t, rep.Drift())
	for i := range rep.Regions {
		if rep.Regions[i].Region == regions.Global {
			rep.Regions[i].Added = append(rep.Regions[i].Added, refresh.Added{Prefix: netip.MustParsePrefix("8.8.8.0/24"), Via: g, Region: regions.Global})
		}
	}
	nd, notes, err := refresh.Apply(d, rep, refresh.ApplyOptions{})
	require.NoError(t, err)
	assert.Len(t, nd.Ranges, len(d.Ranges))
	require.Len(t, notes, 1)
	assert.Contains(t, notes[0], "would pass in every region")
}

// tenRows is a dataset whose region eu has ten SPF rows of equal size.
func tenRows(extra string) string {
	var b strings.Builder
	b.WriteString(head)
	for i := range 10 {
		fmt.Fprintf(&b, "45.2.%d.0/24  eu  gateway  active  2026-11-01  2026-11-01  spf-x\n", i)
	}
	b.WriteString(extra)
	return b.String()
}

func euRecord(keep int) zone {
	var ps []netip.Prefix
	for i := range keep {
		ps = append(ps, netip.MustParsePrefix(fmt.Sprintf("45.2.%d.0/24", i)))
	}
	return zone{inc(regions.EU): {spftest.Record(ps)}}
}

// Measured failure 3: the shrink guard allowed exactly half. Boundary:
// losing 4 of 10 passes, 5 of 10 (exactly half) and 6 of 10 are refused.
func TestGuardShrinkBoundary(t *testing.T) {
	for _, tc := range []struct {
		keep    int
		refused bool
	}{{6, false}, {5, true}, {4, true}, {10, false}} {
		_, rep := run(t, tenRows(""), euRecord(tc.keep), regions.EU)
		eu := report(t, rep, regions.EU)
		if tc.refused {
			assert.Equal(t, refresh.StatusRefused, eu.Status, "keep %d of 10", tc.keep)
			assert.Equal(t, "shrink", eu.ErrorKind)
			assert.Contains(t, eu.Error, fmt.Sprintf("%d of 10 rows", 10-tc.keep))
			assert.Contains(t, eu.Error, "--allow-shrink eu")
		} else {
			assert.NotEqual(t, refresh.StatusRefused, eu.Status, "keep %d of 10: %s", tc.keep, eu.Error)
		}
	}
	// The override names the region.
	_, rep := runWith(t, tenRows(""), euRecord(2), refresh.Options{AllowShrink: regions.SetOf(regions.EU)}, regions.EU)
	assert.Equal(t, refresh.StatusDrift, report(t, rep, regions.EU).Status)
	_, rep = runWith(t, tenRows(""), euRecord(2), refresh.Options{AllowShrink: regions.SetOf(regions.US)}, regions.EU)
	assert.Equal(t, refresh.StatusRefused, report(t, rep, regions.EU).Status, "another region's override does not count")
}

// Measured failure 3: four nightly runs, each dropping a little under
// half, took a region apart. Rows retired within the window count.
func TestGuardShrinkRatchet(t *testing.T) {
	data := tenRows("")
	day := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	step := func(data string, keep int, day time.Time) (string, refresh.RegionReport) {
		t.Helper()
		d, rep := runWith(t, data, euRecord(keep), refresh.Options{Today: day}, regions.EU)
		eu := report(t, rep, regions.EU)
		if eu.Status == refresh.StatusRefused {
			return data, eu
		}
		nd, _, err := refresh.Apply(d, rep, refresh.ApplyOptions{Today: day})
		require.NoError(t, err)
		out, err := refresh.Render([]byte(withEnd(data)), d, nd)
		require.NoError(t, err)
		return string(out), eu
	}
	// Night 1: 4 of 10 go (40%): allowed and written.
	data1, eu := step(data, 6, day)
	require.Equal(t, refresh.StatusDrift, eu.Status, eu.Error)
	assert.Equal(t, 4, strings.Count(data1, "retired 2026-12-01: not in eu._netblocks.mimecast.com"))
	// Night 2: 1 more of the remaining 6 (17% of this night's rows, 50%
	// over the window): refused.
	_, eu = step(data1, 5, day.AddDate(0, 0, 1))
	assert.Equal(t, refresh.StatusRefused, eu.Status)
	assert.Equal(t, 4, eu.RecentRows)
	assert.Contains(t, eu.Error, "5 of 10 rows")
	assert.Contains(t, eu.Error, "4 were retired since")
	// The same night 2, 31 days later: the first retirements are outside
	// the window.
	_, eu = step(data1, 5, day.AddDate(0, 0, 31))
	assert.Equal(t, refresh.StatusDrift, eu.Status, eu.Error)
	// A night that drops nothing is never refused for earlier losses.
	_, eu = step(data1, 6, day.AddDate(0, 0, 1))
	assert.Equal(t, refresh.StatusOK, eu.Status, eu.Error)
	// Hand-retired history counts by its LastSeen.
	_, rep := run(t, tenRows("45.2.20.0/24  eu  gateway  retired  2026-11-01  2026-11-20  spf-x\n45.2.21.0/24  eu  gateway  retired  2026-11  2026-11  spf-x\n45.2.22.0/24  eu  gateway  retired  2017  2017  spf-x\n"), euRecord(6), regions.EU)
	eu = report(t, rep, regions.EU)
	assert.Equal(t, 2, eu.RecentRows, "rows last seen 2026-11-20 and 2026-11 are within 30 days of 2026-12-01; 2017 is not")
	assert.Equal(t, refresh.StatusRefused, eu.Status, "4 dropped + 2 recent = 6 of 12 rows")
}

// Measured failure 8: refresh --write rewrote the whole file. A refresh
// that finds nothing new changes only the dated header; one new prefix is
// a small diff; comments and the order of rows stay.
func TestRenderMinimalDiff(t *testing.T) {
	orig := embeddedText(t)
	rs := []regions.Region{regions.US, regions.USB, regions.CA, regions.EU, regions.DE, regions.AU, regions.ZA, regions.Global}
	day := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	apply := func(orig string, z zone, day time.Time) string {
		t.Helper()
		d, rep := runWith(t, orig, z, refresh.Options{Today: day}, rs...)
		nd, _, err := refresh.Apply(d, rep, refresh.ApplyOptions{Today: day, SourceText: "mimecastip refresh: test"})
		require.NoError(t, err)
		out, err := refresh.Render([]byte(orig), d, nd)
		require.NoError(t, err)
		_, err = regions.Parse(strings.NewReader(string(out)))
		require.NoError(t, err, "the rendered file parses:\n%s", out)
		return string(out)
	}
	first := apply(orig, embeddedZone(0, ""), day)
	changed := diffLines(orig, first)
	assert.Equal(t, []string{"-@version 2026-11-22", "+@version 2026-12-01", "+@source spf-live 2026-12-01 mimecastip refresh: test"}, changed)
	// The next day: only the dated header lines change.
	second := apply(first, embeddedZone(0, ""), day.AddDate(0, 0, 1))
	assert.Equal(t, []string{"-@version 2026-12-01", "-@source spf-live 2026-12-01 mimecastip refresh: test", "+@version 2026-12-02", "+@source spf-live 2026-12-02 mimecastip refresh: test"}, diffLines(first, second))

	// One new prefix: the header, one new row next to its neighbours, and
	// the end line.
	third := apply(second, embeddedZone(regions.US, usRecord("ip4:170.10.158.0/24")), day.AddDate(0, 0, 2))
	d := diffLines(second, third)
	assert.Len(t, d, 7, "%q", d)
	assert.Contains(t, d, "+170.10.158.0/24       us      gateway  active  2026-12-03  2026-12-03  spf-live")
	assert.Contains(t, third, lineWith(orig, "170.10.157.0/24")+"\n170.10.158.0/24 ", "the new row follows its neighbour")
	assert.Contains(t, d, "+@end 85")

	// Removing one: its row changes in place, nothing else but the header.
	var ps []netip.Prefix
	for _, rg := range regions.Embedded().Active() {
		if rg.Regions.Has(regions.USB) && rg.SPFPublished() && rg.Prefix.String() != "170.10.151.0/24" {
			ps = append(ps, rg.Prefix)
		}
	}
	fourth := apply(second, embeddedZone(regions.USB, spftest.Record(ps)), day.AddDate(0, 0, 2))
	d = diffLines(second, fourth)
	assert.Len(t, d, 6, "%q", d)
	assert.Contains(t, lineWith(fourth, "170.10.151.0/24"), "retired")
	assert.Contains(t, lineWith(fourth, "170.10.151.0/24"), "retired 2026-12-03: not in usb._netblocks.mimecast.com")
	// Comments are kept.
	for _, l := range strings.Split(orig, "\n") {
		if strings.HasPrefix(l, "#") {
			assert.Contains(t, fourth, l+"\n")
		}
	}
}

func lineWith(s, sub string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			return l
		}
	}
	return ""
}

// diffLines returns the lines only in a ("-line") and only in b
// ("+line"), in order of a then b: enough for files whose lines are
// unique apart from blank and comment lines.
func diffLines(a, b string) []string {
	count := func(s string) map[string]int {
		m := map[string]int{}
		for _, l := range strings.Split(s, "\n") {
			m[l]++
		}
		return m
	}
	ca, cb := count(a), count(b)
	var out []string
	for _, l := range strings.Split(a, "\n") {
		if ca[l] > cb[l] {
			out = append(out, "-"+l)
			ca[l]--
		}
	}
	ca = count(a)
	for _, l := range strings.Split(b, "\n") {
		if cb[l] > ca[l] {
			out = append(out, "+"+l)
			cb[l]--
		}
	}
	return out
}
