package regions_test

import (
	"bytes"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b311f21d/go-mimecastip/regions"
)

// header is a valid start of a data file: line 1 is the version, line 2
// defines source "src", so the first row is on line 3.
const header = "@version 2026-01-01\n@source src 2026 test source\n"

const goodRow = "1.1.1.0/24 us gateway active 2025 2026 src\n"

// end returns s with the "@end N" line a data file ends with, N the
// number of rows of s (non-blank lines that are neither comments nor
// directives).
func end(s string) string {
	n := 0
	for _, l := range strings.Split(s, "\n") {
		l = strings.TrimSpace(l)
		if l != "" && !strings.HasPrefix(l, "#") && !strings.HasPrefix(l, "@") {
			n++
		}
	}
	return s + regions.EndLine(n) + "\n"
}

func TestParseGood(t *testing.T) {
	in := header + "\n# a comment line\n" + goodRow +
		"8.0.0.0/12 eu gateway retired 2020-01 2021-02-03 src # broad: a whole /12 on purpose\n" +
		"2a00:1450::/32 de,global website active 2026-01-01 2026-01-01 src\n" +
		"1.1.2.0/24 USB,uk non-spf active 2026 2026 src,src\n"
	d, err := regions.Parse(strings.NewReader(end(in)))
	require.NoError(t, err)
	assert.Equal(t, "2026-01-01", d.Version)
	assert.Equal(t, []regions.Source{{ID: "src", Date: "2026", Text: "test source"}}, d.Sources)
	want := []regions.Range{
		{Prefix: netip.MustParsePrefix("1.1.1.0/24"), Regions: regions.SetOf(regions.US), Service: regions.Gateway,
			FirstSeen: "2025", LastSeen: "2026", Sources: []string{"src"}, Line: 5},
		{Prefix: netip.MustParsePrefix("8.0.0.0/12"), Regions: regions.SetOf(regions.EU), Service: regions.Gateway, Retired: true,
			FirstSeen: "2020-01", LastSeen: "2021-02-03", Sources: []string{"src"}, Comment: "broad: a whole /12 on purpose", Line: 6},
		{Prefix: netip.MustParsePrefix("2a00:1450::/32"), Regions: regions.SetOf(regions.DE, regions.Global), Service: regions.Website,
			FirstSeen: "2026-01-01", LastSeen: "2026-01-01", Sources: []string{"src"}, Line: 7},
		{Prefix: netip.MustParsePrefix("1.1.2.0/24"), Regions: regions.SetOf(regions.USB, regions.EU), Service: regions.NonSPF,
			FirstSeen: "2026", LastSeen: "2026", Sources: []string{"src", "src"}, Line: 8},
	}
	assert.Equal(t, want, d.Ranges)
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string // every one must be in the error
	}{
		{"bad prefix", header + "1.1.1.0/33 us gateway active 2025 2026 src\n", []string{"line 3", `bad prefix "1.1.1.0/33"`}},
		{"not a prefix", header + "mimecast us gateway active 2025 2026 src\n", []string{"line 3", `bad prefix "mimecast"`}},
		{"non-canonical", header + "1.1.1.1/24 us gateway active 2025 2026 src\n", []string{"line 3", "1.1.1.1/24", "not canonical", "1.1.1.0/24"}},
		{"4in6", header + "::ffff:1.1.1.0/120 us gateway active 2025 2026 src\n", []string{"line 3", "4-in-6", "1.1.1.0/24"}},
		{"private", header + "10.0.0.0/24 us gateway active 2025 2026 src\n", []string{"line 3", "10.0.0.0/24", "private"}},
		{"loopback", header + "127.0.0.0/16 us gateway active 2025 2026 src\n", []string{"line 3", "loopback"}},
		{"documentation v4", header + "192.0.2.0/24 us gateway active 2025 2026 src\n", []string{"line 3", "192.0.2.0/24", "documentation"}},
		{"documentation v6", header + "2001:db8::/48 us gateway active 2025 2026 src\n", []string{"line 3", "documentation"}},
		{"not global unicast v6", header + "fe80::/64 us gateway active 2025 2026 src\n", []string{"line 3", "2000::/3"}},
		{"too broad", header + "8.0.0.0/8 us gateway active 2025 2026 src\n", []string{"line 3", "8.0.0.0/8", "broader than /16"}},
		{"too broad v6", header + "2a00::/16 us gateway active 2025 2026 src\n", []string{"line 3", "broader than"}},
		{"broad without colon", header + "8.0.0.0/8 us gateway active 2025 2026 src # broad\n", []string{"line 3", "broader than"}},
		{"unknown region", header + "1.1.1.0/24 mars gateway active 2025 2026 src\n", []string{"line 3", `bad regions "mars"`}},
		{"all is not a region list", header + "1.1.1.0/24 all gateway active 2025 2026 src\n", []string{"line 3", `bad regions "all"`}},
		{"empty region in list", header + "1.1.1.0/24 us,,eu gateway active 2025 2026 src\n", []string{"line 3", "bad regions"}},
		{"unknown service", header + "1.1.1.0/24 us gatway active 2025 2026 src\n", []string{"line 3", `unknown service "gatway"`}},
		{"bad status", header + "1.1.1.0/24 us gateway live 2025 2026 src\n", []string{"line 3", `bad status "live"`}},
		{"bad date", header + "1.1.1.0/24 us gateway active 2025-13 2026 src\n", []string{"line 3", "bad dates", "2025-13"}},
		{"bad date day", header + "1.1.1.0/24 us gateway active 2025 2026-01-32 src\n", []string{"line 3", "bad dates"}},
		{"bad date calendar", header + "1.1.1.0/24 us gateway active 2025 2026-02-30 src\n", []string{"line 3", "bad dates", "2026-02-30"}},
		{"bad version calendar", "@version 2026-04-31\n@source src 2026 x\n" + goodRow, []string{"line 1", "2026-04-31"}},
		{"bad date form", header + "1.1.1.0/24 us gateway active 25 2026 src\n", []string{"line 3", "bad dates"}},
		{"first after last", header + "1.1.1.0/24 us gateway active 2026-02 2026-01-31 src\n", []string{"line 3", "first seen 2026-02 is after last seen 2026-01-31"}},
		{"duplicate prefix", header + goodRow + "\n1.1.1.0/24 eu gateway retired 2025 2026 src\n", []string{"line 5", "1.1.1.0/24 already on line 3"}},
		{"undefined source", header + "1.1.1.0/24 us gateway active 2025 2026 src,nosuch\n", []string{"line 3", `source "nosuch" is not defined`}},
		{"bad source id", header + "1.1.1.0/24 us gateway active 2025 2026 Src\n", []string{"line 3", `bad source ID "Src"`}},
		{"missing version", "@source src 2026 test\n" + goodRow, []string{"no @version line"}},
		{"two versions", header + goodRow + "@version 2026-02-02\n", []string{"line 4", "second @version (first on line 1)"}},
		{"bad version", "@version 2026-01\n@source src 2026 x\n" + goodRow, []string{"line 1", "@version YYYY-MM-DD"}},
		{"unknown directive", header + "@sauce x\n" + goodRow, []string{"line 3", `unknown directive "@sauce"`}},
		{"short source", "@version 2026-01-01\n@source src 2026\n" + goodRow, []string{"line 2", "@source ID DATE TEXT"}},
		{"source twice", header + "@source src 2025 again\n" + goodRow, []string{"line 3", `source "src" defined twice`}},
		{"source bad date", header + "@source other yesterday text\n" + goodRow, []string{"line 3", `bad date "yesterday"`}},
		{"too few columns", header + "1.1.1.0/24 us gateway active 2025 2026\n", []string{"line 3", "want 7 columns", "got 6"}},
		{"too many columns", header + "1.1.1.0/24 us gateway active 2025 2026 src extra\n", []string{"line 3", "got 8"}},
		{"binary junk", header + "1.1.1.0/24 us\x00gateway active 2025 2026 src\n", []string{"line 3", "not printable"}},
		{"invalid utf8", header + "\xff\xfe\n" + goodRow, []string{"line 3", "not printable"}},
		{"no ranges", header + "@end 0\n", []string{"no ranges"}},
		{"empty", "", []string{"no @version line"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := regions.Parse(strings.NewReader(tc.in))
			require.Error(t, err, "Parse(%q)", tc.in)
			assert.Nil(t, d)
			for _, w := range tc.want {
				assert.ErrorContains(t, err, w, "Parse(%q)", tc.in)
			}
			assert.True(t, strings.HasPrefix(err.Error(), "regions: "), "error %q lacks the package prefix", err)
		})
	}
}

func TestParseReportsEveryProblem(t *testing.T) {
	in := header +
		"10.0.0.0/24 us gateway active 2025 2026 src\n" +
		goodRow +
		"1.1.1.0/24 us gateway active 2025 2026 src\n" +
		"1.1.3.0/24 us gatway active 2025 2026 src\n"
	_, err := regions.Parse(strings.NewReader(in))
	require.Error(t, err)
	for _, w := range []string{"line 3", "line 5", "line 6"} {
		assert.ErrorContains(t, err, w)
	}
	assert.NotContains(t, err.Error(), "regions: line 4:")
	assert.NotContains(t, err.Error(), "regions: regions:", "doubled package prefix")

	// The number of reported problems is capped.
	var b strings.Builder
	b.WriteString(header)
	for range 100 {
		b.WriteString("10.0.0.0/24 us gateway active 2025 2026 src\n")
	}
	_, err = regions.Parse(strings.NewReader(b.String()))
	require.Error(t, err)
	n := strings.Count(err.Error(), "regions: line")
	assert.LessOrEqual(t, n, 25, "too many errors reported")
	assert.GreaterOrEqual(t, n, 10)
}

func TestParseBroadWithReason(t *testing.T) {
	in := end(header + "8.0.0.0/12 us gateway active 2025 2026 src # broad: x\n")
	d, err := regions.Parse(strings.NewReader(in))
	require.NoError(t, err, "Parse(%q)", in)
	require.Len(t, d.Ranges, 1)
	assert.Equal(t, "broad: x", d.Ranges[0].Comment)

	// No reason admits a range broader than the hard limit (/12 for IPv4,
	// /28 for IPv6), and a reason must say something.
	for _, tc := range []struct{ row, want string }{
		{"64.0.0.0/3 us gateway active 2025 2026 src # broad: a third of the internet\n", "broader than /12, the limit even with"},
		{"8.0.0.0/11 us gateway active 2025 2026 src # broad: x\n", "broader than /12"},
		{"2a00::/27 us gateway active 2025 2026 src # broad: x\n", "broader than /28"},
		{"8.0.0.0/12 us gateway active 2025 2026 src # broad:\n", "broader than /16"},
		{"8.0.0.0/12 us gateway active 2025 2026 src # broad:   \n", "broader than /16"},
		{"192.175.48.0/24 us gateway active 2025 2026 src\n", "AS112"},
	} {
		_, err := regions.Parse(strings.NewReader(end(header + tc.row)))
		assert.ErrorContains(t, err, "line 3: ", tc.row)
		assert.ErrorContains(t, err, tc.want, tc.row)
	}
	d, err = regions.Parse(strings.NewReader(end(header + "2a00::/28 us gateway active 2025 2026 src # broad: x\n")))
	require.NoError(t, err)
	assert.Len(t, d.Ranges, 1)

	// A reason does not excuse a bogon.
	in = header + "10.0.0.0/8 us gateway active 2025 2026 src # broad: x\n"
	_, err = regions.Parse(strings.NewReader(in))
	assert.ErrorContains(t, err, "private", "Parse(%q)", in)
}

func TestParseLongLine(t *testing.T) {
	in := header + goodRow + "# " + strings.Repeat("x", 70*1024) + "\n"
	_, err := regions.Parse(strings.NewReader(in))
	assert.ErrorContains(t, err, "line 4")

	// A line Parse accepts is one Format can write back readably: a row
	// with a comment just under the scanner's limit used to come back
	// padded past it.
	in = header + "1.1.1.0/24 us gateway active 2025 2026 src # " + strings.Repeat("x", 5000) + "\n"
	_, err = regions.Parse(strings.NewReader(in))
	assert.ErrorContains(t, err, "line 3: line holds 5043 bytes of text, more than 4096")

	row := "1.1.1.0/24 us gateway active 2025 2026 src # "
	in = end(header + row + strings.Repeat("x", 4096-len(row)+2) + "\n")
	d, err := regions.Parse(strings.NewReader(in))
	require.NoError(t, err)
	var b bytes.Buffer
	require.NoError(t, d.Format(&b))
	d2, err := regions.Parse(&b)
	require.NoError(t, err, "Parse(Format(...)) of a 4096-byte row")
	equalIgnoringLine(t, d, d2)
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

func TestParseReadError(t *testing.T) {
	_, err := regions.Parse(errReader{})
	assert.ErrorContains(t, err, "disk on fire")
}

func TestParseFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.txt")
	require.NoError(t, os.WriteFile(good, []byte(end(header+goodRow)), 0o600))
	d, err := regions.ParseFile(good)
	require.NoError(t, err)
	assert.Len(t, d.Ranges, 1)

	bad := filepath.Join(dir, "bad.txt")
	require.NoError(t, os.WriteFile(bad, []byte(header+"1.1.1.1/24 us gateway active 2025 2026 src\n"), 0o600))
	_, err = regions.ParseFile(bad)
	assert.ErrorContains(t, err, bad)
	assert.ErrorContains(t, err, "line 3")

	_, err = regions.ParseFile(filepath.Join(dir, "missing.txt"))
	assert.ErrorIs(t, err, os.ErrNotExist)
}

func TestCheckPrefix(t *testing.T) {
	tests := []struct {
		in    netip.Prefix
		want  string // "" for no error
		broad bool
	}{
		{netip.MustParsePrefix("170.10.128.0/24"), "", false},
		{netip.MustParsePrefix("2a00:1450::/32"), "", false},
		{netip.Prefix{}, "invalid", false},
		{netip.MustParsePrefix("170.10.128.1/24"), "not canonical", false},
		{netip.MustParsePrefix("::ffff:170.10.128.0/120"), "4-in-6", false},
		{netip.MustParsePrefix("0.0.0.0/0"), "this-network", false},
		{netip.MustParsePrefix("172.16.0.0/16"), "private", false},
		{netip.MustParsePrefix("192.168.1.0/24"), "private", false},
		{netip.MustParsePrefix("100.64.0.0/16"), "CGN", false},
		{netip.MustParsePrefix("169.254.0.0/16"), "link-local", false},
		{netip.MustParsePrefix("198.51.100.0/24"), "documentation", false},
		{netip.MustParsePrefix("203.0.113.0/24"), "documentation", false},
		{netip.MustParsePrefix("224.0.0.0/24"), "multicast", false},
		{netip.MustParsePrefix("255.255.255.255/32"), "reserved", false},
		{netip.MustParsePrefix("3fff::/32"), "documentation", false},
		{netip.MustParsePrefix("::1/128"), "2000::/3", false},
		{netip.MustParsePrefix("170.0.0.0/15"), "broader", true},
		{netip.MustParsePrefix("2a00::/31"), "broader", true},
	}
	for _, tc := range tests {
		err := regions.CheckPrefix(tc.in)
		if tc.want == "" {
			assert.NoError(t, err, "CheckPrefix(%v)", tc.in)
			continue
		}
		assert.ErrorContains(t, err, tc.want, "CheckPrefix(%v)", tc.in)
		assert.Equal(t, tc.broad, errors.Is(err, regions.ErrBroad), "errors.Is(CheckPrefix(%v), ErrBroad)", tc.in)
	}
}

// equalIgnoringLine compares two datasets apart from Range.Line.
func equalIgnoringLine(t *testing.T, want, got *regions.Dataset, msgAndArgs ...any) bool {
	t.Helper()
	w, g := want.Clone(), got.Clone()
	for i := range w.Ranges {
		w.Ranges[i].Line = 0
	}
	for i := range g.Ranges {
		g.Ranges[i].Line = 0
	}
	return assert.Equal(t, w, g, msgAndArgs...)
}

func TestFormatRoundTrip(t *testing.T) {
	d := regions.Embedded()
	var buf bytes.Buffer
	require.NoError(t, d.Format(&buf))
	got, err := regions.Parse(bytes.NewReader(buf.Bytes()))
	require.NoError(t, err, "Parse(Format(Embedded())):\n%s", buf.String())
	equalIgnoringLine(t, d, got, "Format then Parse of the embedded dataset")

	// Formatting is deterministic and a fixed point.
	var again bytes.Buffer
	require.NoError(t, got.Format(&again))
	assert.Equal(t, buf.String(), again.String())
}

func TestFilter(t *testing.T) {
	all := regions.Ranges()
	tests := []struct {
		set regions.Set
	}{
		{regions.SetOf(regions.US)},
		{regions.SetOf(regions.USB)},
		{regions.SetOf(regions.EU, regions.DE)},
		{regions.SetOf(regions.JE)},
		{0},
		{regions.AllSet()},
	}
	for _, tc := range tests {
		got := regions.Filter(all, tc.set)
		want := tc.set.Add(regions.Global)
		n := 0
		for _, r := range all {
			if !r.Regions.Intersect(want).IsEmpty() {
				n++
			}
		}
		assert.Len(t, got, n, "Filter(%v)", tc.set)
		for _, r := range got {
			assert.False(t, r.Regions.Intersect(want).IsEmpty(), "Filter(%v) kept %v (%v)", tc.set, r.Prefix, r.Regions)
		}
	}

	usb := regions.Filter(all, regions.SetOf(regions.USB))
	assert.Contains(t, sortedPrefixes(usb), "170.10.156.0/24", "a row shared by us and usb is in the usb subset")
	assert.Contains(t, sortedPrefixes(usb), "146.101.202.134/32", "global rows are always kept")
	assert.NotContains(t, sortedPrefixes(usb), "170.10.128.0/24", "a us-only row is not in the usb subset")
	assert.Len(t, regions.Filter(all, regions.AllSet()), len(all))

	// The result is a copy.
	got := regions.Filter(all, regions.SetOf(regions.US))
	require.NotEmpty(t, got)
	got[0].Sources[0] = "changed"
	assert.NotEqual(t, "changed", regions.Ranges()[0].Sources[0])
	assert.Empty(t, regions.Filter(nil, regions.SetOf(regions.US)))
}

// TestParseWindowsText: a file saved by a Windows editor (a byte-order mark,
// CRLF line ends) parses like the plain one.
func TestParseWindowsText(t *testing.T) {
	plain := end(header + goodRow)
	win := "\uFEFF" + strings.ReplaceAll(plain, "\n", "\r\n")
	want, err := regions.Parse(strings.NewReader(plain))
	require.NoError(t, err)
	got, err := regions.Parse(strings.NewReader(win))
	require.NoError(t, err)
	assert.Equal(t, want, got)
	// A byte-order mark anywhere but the start is still junk.
	_, err = regions.Parse(strings.NewReader(header + "\uFEFF" + goodRow))
	assert.ErrorContains(t, err, "line 3")
}

// TestParseIncomplete: a data file must end with "@end ROWS". A file cut
// short at any line boundary (measured: a reload racing an in-place write
// served 4 to 25 of 32 ranges) fails to load with an error that says it is
// incomplete, instead of loading as a smaller valid dataset.
func TestParseIncomplete(t *testing.T) {
	full, err := os.ReadFile("ranges.txt")
	require.NoError(t, err)
	lines := strings.SplitAfter(string(full), "\n")
	require.Greater(t, len(lines), 80)
	for cut := 1; cut < len(lines)-1; cut++ {
		if strings.TrimSpace(strings.Join(lines[cut:], "")) == "" {
			continue // only blank lines cut off: nothing lost
		}
		in := strings.Join(lines[:cut], "")
		_, err := regions.Parse(strings.NewReader(in))
		if !assert.Error(t, err, "the embedded file cut after line %d loads", cut) {
			continue
		}
		assert.Contains(t, err.Error(), "incomplete", "the embedded file cut after line %d", cut)
		// Cut in the middle of a line, too.
		_, err = regions.Parse(strings.NewReader(in + lines[cut][:len(lines[cut])/2]))
		assert.Error(t, err, "the embedded file cut inside line %d loads", cut+1)
	}

	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"no end line", header + goodRow, []string{"incomplete", `"@end 1"`}},
		{"rows after a truncation-free end", header + goodRow + "@end 1\n1.1.2.0/24 us gateway active 2025 2026 src\n", []string{"line 5", "text after the @end line (line 4)"}},
		{"count too high", header + goodRow + "@end 2\n", []string{"line 4", "incomplete or was edited", "declares 2 rows, the file has 1", `write "@end 1"`}},
		{"count too low", header + goodRow + goodRow2 + "@end 1\n", []string{"line 5", "declares 1 rows, the file has 2"}},
		{"bad count", header + goodRow + "@end one\n", []string{"line 4", `want "@end ROWS"`}},
		{"signed count", header + goodRow + "@end +1\n", []string{"line 4", `want "@end ROWS"`}},
		{"no count", header + goodRow + "@end\n", []string{"line 4", `want "@end ROWS"`}},
		{"two counts", header + goodRow + "@end 1 1\n", []string{"line 4", `want "@end ROWS"`}},
		{"two end lines", header + goodRow + "@end 1\n@end 1\n", []string{"line 5", "text after the @end line"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := regions.Parse(strings.NewReader(tc.in))
			require.Error(t, err)
			for _, w := range tc.want {
				assert.ErrorContains(t, err, w)
			}
		})
	}
	// Blank lines and comments may follow the end line; a bad row counts
	// as a row, so its own error is not hidden behind a count mismatch.
	_, err = regions.Parse(strings.NewReader(header + goodRow + "@end 1\n\n# the end\n"))
	assert.NoError(t, err)
	_, err = regions.Parse(strings.NewReader(header + goodRow + "10.0.0.0/24 us gateway active 2025 2026 src\n@end 2\n"))
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "incomplete")
}

const goodRow2 = "1.1.2.0/24 us gateway active 2025 2026 src\n"
