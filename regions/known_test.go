package regions_test

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b311f21d/go-mimecastip/regions"
)

// The canaries below are documented Mimecast facts. They must be changed
// deliberately, with a source, when the data changes.

// seedUSGateway is the US gateway table of the seed document "Mimecast Data
// Centers and URLs" (shared/seeds/001), in the page's order.
var seedUSGateway = []string{
	"170.10.132.0/24", "170.10.133.0/24", "170.10.128.0/24", "170.10.129.0/24",
	"170.10.130.0/24", "170.10.131.0/24", "170.10.156.0/24", "170.10.157.0/24",
	"207.211.31.0/25", "207.211.30.0/24", "205.139.110.0/24", "205.139.111.0/24",
	"216.205.24.0/24", "63.128.21.0/24",
}

func byPrefix(t *testing.T) map[netip.Prefix]regions.Range {
	t.Helper()
	m := map[netip.Prefix]regions.Range{}
	for _, r := range regions.Ranges() {
		m[r.Prefix] = r
	}
	require.NotEmpty(t, m)
	return m
}

func TestKnownData(t *testing.T) {
	rows := byPrefix(t)

	t.Run("seed US gateway table", func(t *testing.T) {
		require.Len(t, seedUSGateway, 14)
		for _, s := range seedUSGateway {
			p := netip.MustParsePrefix(s)
			r, ok := rows[p]
			if !assert.True(t, ok, "seed US network %v missing", p) {
				continue
			}
			assert.False(t, r.Retired, "%v retired", p)
			assert.True(t, r.Regions.Has(regions.US), "%v regions %v lack us", p, r.Regions)
			assert.Equal(t, regions.Gateway, r.Service, "%v service", p)
			assert.Contains(t, r.Sources, "dc", "%v does not cite the seed document", p)
		}
		// Every row citing the Data Centers page as a US gateway is one of
		// the 14: the table is neither more nor less than the seed.
		var got []string
		for _, r := range regions.Ranges() {
			if r.Regions.Has(regions.US) && r.Service == regions.Gateway && slices.Contains(r.Sources, "dc") {
				got = append(got, r.Prefix.String())
			}
		}
		want := slices.Clone(seedUSGateway)
		slices.Sort(want)
		slices.Sort(got)
		assert.Equal(t, want, got, "US gateway rows citing dc")
	})

	t.Run("US non-SPF intervals exact", func(t *testing.T) {
		var ps []netip.Prefix
		for _, r := range regions.Ranges() {
			if r.Service == regions.NonSPF && !r.Retired {
				assert.Equal(t, regions.SetOf(regions.US), r.Regions, "non-spf %v regions", r.Prefix)
				ps = append(ps, r.Prefix)
			}
		}
		got := intervals(ps)
		want := []interval{
			{netip.MustParseAddr("205.139.111.40"), netip.MustParseAddr("205.139.111.49")},
			{netip.MustParseAddr("207.211.30.40"), netip.MustParseAddr("207.211.30.49")},
		}
		assert.Equal(t, want, got, "union of non-spf prefixes %v", ps)
		// .40-.49 is a /29 plus a /31.
		for _, s := range []string{"205.139.111.40/29", "205.139.111.48/31", "207.211.30.40/29", "207.211.30.48/31"} {
			_, ok := rows[netip.MustParsePrefix(s)]
			assert.True(t, ok, "%s missing", s)
		}
	})

	t.Run("global addresses", func(t *testing.T) {
		for _, tc := range []struct {
			prefix string
			svc    regions.Service
		}{
			{"146.101.202.134/32", regions.Website},
			{"146.101.202.135/32", regions.Website},
			{"81.145.134.178/32", regions.Website},
			{"81.145.134.173/32", regions.Website},
			{"41.74.203.10/32", regions.WebSecurity},
			{"41.74.203.11/32", regions.WebSecurity},
		} {
			r, ok := rows[netip.MustParsePrefix(tc.prefix)]
			if !assert.True(t, ok, "%s missing", tc.prefix) {
				continue
			}
			assert.Equal(t, regions.SetOf(regions.Global), r.Regions, "%s regions", tc.prefix)
			assert.Equal(t, tc.svc, r.Service, "%s service", tc.prefix)
			assert.False(t, r.Retired, "%s retired", tc.prefix)
		}
	})

	t.Run("shared US and USB", func(t *testing.T) {
		for _, s := range []string{"170.10.156.0/24", "170.10.157.0/24"} {
			r, ok := rows[netip.MustParsePrefix(s)]
			require.True(t, ok, "%s missing", s)
			assert.Equal(t, regions.SetOf(regions.US, regions.USB), r.Regions, "%s regions", s)
			assert.Equal(t, "us,usb", r.Regions.String())
		}
	})

	t.Run("US inside EU", func(t *testing.T) {
		us, ok := rows[netip.MustParsePrefix("185.58.84.93/32")]
		require.True(t, ok, "185.58.84.93/32 missing")
		assert.Equal(t, regions.SetOf(regions.US), us.Regions)
		eu, ok := rows[netip.MustParsePrefix("185.58.84.0/22")]
		require.True(t, ok, "185.58.84.0/22 missing")
		assert.Equal(t, regions.SetOf(regions.EU), eu.Regions)
		assert.True(t, eu.Prefix.Overlaps(us.Prefix))
		assert.False(t, us.Retired || eu.Retired)
	})

	t.Run("retired history", func(t *testing.T) {
		for _, tc := range []struct{ retired, successor string }{
			{"213.167.75.0/24", "213.167.75.0/25"},
			{"213.167.81.0/24", "213.167.81.0/25"},
			{"51.163.159.21/32", "51.163.159.0/24"},
		} {
			r, ok := rows[netip.MustParsePrefix(tc.retired)]
			if assert.True(t, ok, "retired %s missing", tc.retired) {
				assert.True(t, r.Retired, "%s not retired", tc.retired)
				assert.NotEmpty(t, r.LastSeen, "%s has no last-seen date", tc.retired)
			}
			s, ok := rows[netip.MustParsePrefix(tc.successor)]
			if assert.True(t, ok, "successor %s missing", tc.successor) {
				assert.False(t, s.Retired, "%s retired", tc.successor)
			}
		}
	})
}

type interval struct{ first, last netip.Addr }

// intervals returns the union of ps as sorted, merged address intervals.
func intervals(ps []netip.Prefix) []interval {
	var iv []interval
	for _, p := range ps {
		iv = append(iv, interval{p.Addr(), lastAddr(p)})
	}
	slices.SortFunc(iv, func(a, b interval) int { return a.first.Compare(b.first) })
	var out []interval
	for _, x := range iv {
		if n := len(out); n > 0 {
			last := &out[n-1]
			if next := last.last.Next(); x.first.Compare(next) <= 0 || !next.IsValid() {
				if x.last.Compare(last.last) > 0 {
					last.last = x.last
				}
				continue
			}
		}
		out = append(out, x)
	}
	return out
}

// lastAddr returns the last address of canonical prefix p.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}
