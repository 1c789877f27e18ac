package regions_test

import (
	"cmp"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b311f21d/go-mimecastip/regions"
)

// firstRegion returns the first region of s in the order of regions.List.
func firstRegion(s regions.Set) regions.Region {
	rs := s.Regions()
	if len(rs) == 0 {
		return 0
	}
	return rs[0]
}

// TestEmbeddedData is the security review of the embedded data file in code
// form: a stray 0.0.0.0/0 or a private prefix would label the wrong
// addresses Mimecast.
func TestEmbeddedData(t *testing.T) {
	d := regions.Embedded()
	require.NotNil(t, d)
	require.NotEmpty(t, d.Ranges)

	t.Run("parses", func(t *testing.T) {
		d, err := regions.ParseFile("ranges.txt")
		require.NoError(t, err)
		assert.Equal(t, regions.Embedded(), d, "ParseFile(ranges.txt) differs from Embedded()")
		assert.Equal(t, len(d.Ranges), len(regions.Ranges()))
	})

	t.Run("canonical", func(t *testing.T) {
		for _, r := range d.Ranges {
			p := r.Prefix
			assert.True(t, p.IsValid(), "line %d: %v is not valid", r.Line, p)
			assert.Equal(t, p.Masked(), p, "line %d: %v is not canonical", r.Line, p)
			assert.False(t, p.Addr().Is4In6(), "line %d: %v is IPv4 in 4-in-6 form", r.Line, p)
			assert.Empty(t, p.Addr().Zone(), "line %d: %v has a zone", r.Line, p)
			assert.Positive(t, r.Line, "%v: Line not set", p)
		}
	})

	t.Run("sorted", func(t *testing.T) {
		cmpRange := func(a, b regions.Range) int {
			return cmp.Or(
				cmp.Compare(firstRegion(a.Regions), firstRegion(b.Regions)),
				a.Prefix.Addr().Compare(b.Prefix.Addr()),
				cmp.Compare(a.Prefix.Bits(), b.Prefix.Bits()),
			)
		}
		for i := 1; i < len(d.Ranges); i++ {
			a, b := d.Ranges[i-1], d.Ranges[i]
			assert.Negative(t, cmpRange(a, b), "line %d (%v %v) should sort after line %d (%v %v)",
				a.Line, a.Prefix, a.Regions, b.Line, b.Prefix, b.Regions)
		}
	})

	t.Run("no duplicates", func(t *testing.T) {
		seen := map[netip.Prefix]int{}
		for _, r := range d.Ranges {
			if first, dup := seen[r.Prefix]; dup {
				assert.Fail(t, "duplicate prefix", "%v on lines %d and %d", r.Prefix, first, r.Line)
			}
			seen[r.Prefix] = r.Line
		}
	})

	t.Run("no bogons", func(t *testing.T) {
		for _, r := range d.Ranges {
			err := regions.CheckPrefix(r.Prefix)
			if err != nil && strings.Contains(r.Comment, "broad:") {
				assert.ErrorIs(t, err, regions.ErrBroad, "line %d: %v", r.Line, r.Prefix)
				continue
			}
			assert.NoError(t, err, "line %d: CheckPrefix(%v)", r.Line, r.Prefix)
		}
	})

	t.Run("nothing broad without reason", func(t *testing.T) {
		for _, r := range d.Ranges {
			p := r.Prefix
			if p.Addr().Is4() && p.Bits() < 16 || p.Addr().Is6() && p.Bits() < 32 {
				assert.Contains(t, r.Comment, "broad:", "line %d: %v is broad and states no reason", r.Line, p)
			}
		}
	})

	t.Run("fields valid", func(t *testing.T) {
		for _, r := range d.Ranges {
			assert.False(t, r.Regions.IsEmpty(), "line %d: %v has no region", r.Line, r.Prefix)
			assert.True(t, r.Service.Valid(), "line %d: %v has service %v", r.Line, r.Prefix, r.Service)
			assert.NotEmpty(t, r.FirstSeen, "line %d", r.Line)
			assert.NotEmpty(t, r.LastSeen, "line %d", r.Line)
			assert.LessOrEqual(t, r.FirstSeen[:4], r.LastSeen[:4], "line %d: first seen after last seen", r.Line)
			assert.LessOrEqual(t, r.LastSeen, d.Version, "line %d: last seen after the dataset's version", r.Line)
			if r.Regions.Has(regions.Global) {
				assert.Equal(t, regions.SetOf(regions.Global), r.Regions, "line %d: global mixed with regions", r.Line)
				assert.False(t, r.Service.Mail(), "line %d: a global row is a mail range", r.Line)
			}
		}
	})

	t.Run("sources defined and used", func(t *testing.T) {
		defined := map[string]bool{}
		for _, s := range d.Sources {
			assert.False(t, defined[s.ID], "source %q defined twice", s.ID)
			defined[s.ID] = true
			assert.NotEmpty(t, s.Text, "source %q has no text", s.ID)
		}
		used := map[string]bool{}
		for _, r := range d.Ranges {
			require.NotEmpty(t, r.Sources, "line %d: %v cites no source", r.Line, r.Prefix)
			for _, s := range r.Sources {
				assert.True(t, defined[s], "line %d: %v cites undefined source %q", r.Line, r.Prefix, s)
				used[s] = true
			}
		}
		for _, s := range d.Sources {
			assert.True(t, used[s.ID], "source %q is cited by no row", s.ID)
		}
	})

	t.Run("regions with ranges", func(t *testing.T) {
		active := map[regions.Region]int{}
		published := map[regions.Region]int{}
		for _, r := range d.Ranges {
			for _, g := range r.Regions.Regions() {
				published[g]++
				if !r.Retired && r.Service == regions.Gateway {
					active[g]++
				}
			}
		}
		for _, g := range []regions.Region{regions.US, regions.USB, regions.CA, regions.EU, regions.DE, regions.AU, regions.ZA} {
			assert.Positive(t, active[g], "region %v has no active gateway row", g)
		}
		for _, g := range []regions.Region{regions.USPCOM} {
			assert.Zero(t, published[g], "region %v publishes no ranges, yet the data has %d", g, published[g])
		}
		// Jersey publishes no SPF record; its MX hosts sit in two EU rows,
		// tagged eu,je as probable, so --region je is not an empty lockdown.
		var je []string
		for _, r := range d.Active() {
			if r.Regions.Has(regions.JE) {
				je = append(je, r.Prefix.String())
				assert.True(t, r.Regions.Has(regions.EU), r.Prefix)
				assert.Contains(t, r.Comment, "je probable", r.Prefix)
				assert.Contains(t, r.Sources, "mx-je", r.Prefix)
			}
		}
		assert.Equal(t, []string{"213.167.75.0/25", "213.167.81.0/25"}, je)
	})

	t.Run("count", func(t *testing.T) {
		assert.GreaterOrEqual(t, len(d.Ranges), 80)
		assert.LessOrEqual(t, len(d.Ranges), 1000)
		assert.Len(t, d.Active(), len(d.Ranges)-3, "retired rows changed; update this canary deliberately")
	})

	t.Run("version", func(t *testing.T) {
		v := regions.Version()
		assert.Equal(t, d.Version, v)
		_, err := time.Parse(time.DateOnly, v)
		assert.NoError(t, err, "Version() = %q", v)
		newest := ""
		for _, s := range d.Sources {
			if s.Date == "undated" {
				continue
			}
			assert.LessOrEqual(t, s.Date, v, "source %q is dated after the dataset", s.ID)
			newest = max(newest, s.Date)
		}
		assert.Equal(t, newest, v, "@version is the date of the newest source, not of the last edit")
		for _, r := range d.Ranges {
			assert.LessOrEqual(t, r.LastSeen, v, "%s is last seen after the dataset's date", r.Prefix)
		}
	})
}

func TestEmbeddedIsCopy(t *testing.T) {
	a := regions.Ranges()
	require.NotEmpty(t, a)
	want := regions.Ranges()
	a[0].Prefix = netip.MustParsePrefix("1.1.1.0/24")
	a[0].Sources[0] = "changed"
	assert.Equal(t, want, regions.Ranges(), "All returned shared storage")

	d := regions.Embedded()
	d.Ranges[0].Sources[0] = "changed"
	d.Sources[0].ID = "changed"
	d.Version = "changed"
	assert.NotEqual(t, d, regions.Embedded(), "Embedded returned shared storage")
	assert.Equal(t, want, regions.Embedded().Ranges)
}

func TestActive(t *testing.T) {
	d := regions.Embedded()
	act := d.Active()
	for _, r := range act {
		assert.False(t, r.Retired, "Active returned retired %v", r.Prefix)
	}
	n := 0
	for _, r := range d.Ranges {
		if !r.Retired {
			n++
		}
	}
	assert.Len(t, act, n)
}

func TestSPFPublished(t *testing.T) {
	tests := []struct {
		sources []string
		want    bool
	}{
		{nil, false},
		{[]string{"dc"}, false},
		{[]string{"dc", "spf-a"}, true},
		{[]string{"spf"}, true},
		{[]string{"websec", "list-jb0710"}, false},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, regions.Range{Sources: tc.sources}.SPFPublished(), "SPFPublished(%q)", tc.sources)
	}
}

// sortedPrefixes is a helper for messages.
func sortedPrefixes(rs []regions.Range) []string {
	out := make([]string, 0, len(rs))
	for _, r := range rs {
		out = append(out, r.Prefix.String())
	}
	slices.Sort(out)
	return out
}

// TestEmbeddedCorrections pins the corrections of the dated review of
// public sources: each row says what its tags rest on.
func TestEmbeddedCorrections(t *testing.T) {
	d := regions.Embedded()
	row := func(p string) regions.Range {
		for _, r := range d.Ranges {
			if r.Prefix.String() == p {
				return r
			}
		}
		t.Fatalf("no row %s", p)
		return regions.Range{}
	}
	for _, p := range []string{"170.10.151.0/24", "170.10.153.0/24"} {
		r := row(p)
		assert.Equal(t, "2021-09", r.FirstSeen, p)
		assert.Contains(t, r.Sources, "mail-usa", p)
		assert.Contains(t, r.Comment, "US-A account mail was seen", p)
	}
	for _, p := range []string{"170.10.156.0/24", "170.10.157.0/24"} {
		r := row(p)
		assert.Equal(t, regions.SetOf(regions.US, regions.USB), r.Regions, p)
		assert.Contains(t, r.Comment, "only in usb._netblocks; the us tag rests on the US table of the Data Centers page", p)
	}
	assert.Contains(t, row("185.58.84.0/22").Sources, "dc")
	for _, p := range []string{"185.58.85.0/24", "185.58.86.0/24"} {
		assert.Equal(t, "2026-03-18", row(p).LastSeen, p)
	}
	// No user-visible source text cites a file outside the repository.
	for _, s := range d.Sources {
		assert.NotContains(t, s.Text, "seed 0", s.ID)
		assert.NotContains(t, s.Text, "research/", s.ID)
	}
	assert.Equal(t, "2026-11-22", d.NewestEvidence(regions.US))
	assert.Equal(t, "2026-11-22", d.NewestEvidence(regions.EU), "185.58.84.0/22 is on the Data Centers page")
	assert.Equal(t, "2026-08-11", d.NewestEvidence(regions.JE))
	assert.Equal(t, "2026-02-14", d.NewestEvidence(regions.ZA))
	assert.Equal(t, "", d.NewestEvidence(regions.USPCOM))
}
