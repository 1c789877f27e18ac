package matcher_test

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b311f21d/go-mimecastip/matcher"
	"github.com/seed-b311f21d/go-mimecastip/regions"
)

// rg builds a Range for tests. The matcher checks form, not content, so
// documentation prefixes are fine here.
func rg(prefix string, svc regions.Service, rs ...regions.Region) regions.Range {
	return regions.Range{
		Prefix:  netip.MustParsePrefix(prefix),
		Regions: regions.SetOf(rs...),
		Service: svc,
		Sources: []string{"test"},
	}
}

func retired(r regions.Range) regions.Range {
	r.Retired = true
	return r
}

// testRanges nest on purpose: a /32 in a /26 in a /25 in a /24, a /31 of
// another service, and IPv6 nesting.
var testRanges = []regions.Range{
	rg("192.0.2.0/24", regions.Gateway, regions.US),                // 0
	rg("192.0.2.0/25", regions.Gateway, regions.EU),                // 1
	rg("192.0.2.64/26", regions.Gateway, regions.DE),               // 2
	rg("192.0.2.77/32", regions.Gateway, regions.US, regions.USB),  // 3
	rg("192.0.2.200/31", regions.NonSPF, regions.US),               // 4
	rg("198.51.100.7/32", regions.Website, regions.Global),         // 5
	rg("2001:db8::/32", regions.Gateway, regions.AU),               // 6
	rg("2001:db8:1::/48", regions.NonSPF, regions.ZA),              // 7
	rg("2001:db8:1:2::5/128", regions.WebSecurity, regions.Global), // 8
	retired(rg("203.0.113.0/24", regions.Gateway, regions.EU)),     // skipped
	retired(rg("192.0.2.0/24", regions.Gateway, regions.CA)),       // skipped; not a duplicate
}

func TestLookup(t *testing.T) {
	m, err := matcher.New(testRanges)
	require.NoError(t, err)
	require.Equal(t, len(testRanges)-2, m.Len())

	tests := []struct {
		addr string
		want string // prefix of the expected range; "" for none
	}{
		{"192.0.2.0", "192.0.2.0/25"},
		{"192.0.2.1", "192.0.2.0/25"},
		{"192.0.2.63", "192.0.2.0/25"},
		{"192.0.2.64", "192.0.2.64/26"},
		{"192.0.2.76", "192.0.2.64/26"},
		{"192.0.2.77", "192.0.2.77/32"},
		{"192.0.2.78", "192.0.2.64/26"},
		{"192.0.2.127", "192.0.2.64/26"},
		{"192.0.2.128", "192.0.2.0/24"},
		{"192.0.2.199", "192.0.2.0/24"},
		{"192.0.2.200", "192.0.2.200/31"},
		{"192.0.2.201", "192.0.2.200/31"},
		{"192.0.2.202", "192.0.2.0/24"},
		{"192.0.2.255", "192.0.2.0/24"},
		{"192.0.1.255", ""},
		{"192.0.3.0", ""},
		{"198.51.100.7", "198.51.100.7/32"},
		{"198.51.100.6", ""},
		{"198.51.100.8", ""},
		{"203.0.113.5", ""}, // retired
		{"0.0.0.0", ""},
		{"255.255.255.255", ""},

		// IPv4-mapped IPv6 is unmapped first.
		{"::ffff:192.0.2.77", "192.0.2.77/32"},
		{"::ffff:192.0.2.200", "192.0.2.200/31"},
		{"::ffff:192.0.3.0", ""},
		{"::ffff:203.0.113.5", ""},
		// IPv4-compatible (deprecated) and NAT64 forms are not IPv4.
		{"::192.0.2.77", ""},
		{"64:ff9b::192.0.2.77", ""},

		// IPv6.
		{"2001:db8::", "2001:db8::/32"},
		{"2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", "2001:db8::/32"},
		{"2001:db8:1::", "2001:db8:1::/48"},
		{"2001:db8:1:2::4", "2001:db8:1::/48"},
		{"2001:db8:1:2::5", "2001:db8:1:2::5/128"},
		{"2001:db8:1:2::6", "2001:db8:1::/48"},
		{"2001:db8:2::1", "2001:db8::/32"},
		{"2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", ""},
		{"2001:db9::", ""},
		{"::", ""},
		{"::1", ""},
		// Zones are ignored.
		{"2001:db8:1:2::5%eth0", "2001:db8:1:2::5/128"},
		{"2001:db8::1%1", "2001:db8::/32"},
		{"fe80::1%eth0", ""},
	}
	for _, tc := range tests {
		a := netip.MustParseAddr(tc.addr)
		r, ok := m.Lookup(a)
		c := m.Contains(a)
		if tc.want == "" {
			assert.False(t, ok, "Lookup(%v) = %v, want no match", a, r.Prefix)
			assert.Zero(t, r, "Lookup(%v) range", a)
			assert.False(t, c, "Contains(%v)", a)
			continue
		}
		want := netip.MustParsePrefix(tc.want)
		assert.True(t, ok, "Lookup(%v) found nothing, want %v", a, want)
		assert.Equal(t, want, r.Prefix, "Lookup(%v)", a)
		assert.True(t, c, "Contains(%v)", a)
		assert.Contains(t, m.Ranges(), r, "Ranges() holds Lookup(%v)", a)
	}

	// The zero Addr matches nothing.
	_, ok := m.Lookup(netip.Addr{})
	assert.False(t, ok, "Lookup(zero Addr)")
	assert.False(t, m.Contains(netip.Addr{}), "Contains(zero Addr)")

	// The matched range carries its regions and service.
	r, _ := m.Lookup(netip.MustParseAddr("192.0.2.77"))
	assert.Equal(t, regions.SetOf(regions.US, regions.USB), r.Regions)
	assert.Equal(t, regions.Gateway, r.Service)
	r, _ = m.Lookup(netip.MustParseAddr("2001:db8:1::9"))
	assert.Equal(t, regions.NonSPF, r.Service)
}

func TestLookupDefaultRoutes(t *testing.T) {
	m, err := matcher.New([]regions.Range{
		rg("0.0.0.0/0", regions.Gateway, regions.US),
		rg("::/0", regions.Gateway, regions.EU),
		rg("1.2.3.4/32", regions.NonSPF, regions.US),
	})
	require.NoError(t, err)
	for addr, want := range map[string]string{
		"0.0.0.0":          "0.0.0.0/0",
		"1.2.3.4":          "1.2.3.4/32",
		"::ffff:1.2.3.4":   "1.2.3.4/32",
		"::ffff:9.9.9.9":   "0.0.0.0/0",
		"255.255.255.255":  "0.0.0.0/0",
		"::":               "::/0",
		"2001:db8::1":      "::/0",
		"::102:304":        "::/0", // ::1.2.3.4, not mapped
		"ffff::1%eth1":     "::/0",
		"::ffff:0.0.0.0":   "0.0.0.0/0",
		"::ffff:255.0.0.1": "0.0.0.0/0",
	} {
		a := netip.MustParseAddr(addr)
		r, ok := m.Lookup(a)
		assert.True(t, ok, "Lookup(%v)", a)
		assert.Equal(t, netip.MustParsePrefix(want), r.Prefix, "Lookup(%v)", a)
	}
	_, ok := m.Lookup(netip.Addr{})
	assert.False(t, ok, "the zero Addr matches nothing, not even /0")
}

func TestNewErrors(t *testing.T) {
	withLine := func(r regions.Range, n int) regions.Range { r.Line = n; return r }
	tests := []struct {
		name string
		rs   []regions.Range
		want []string
	}{
		{"invalid", []regions.Range{rg("192.0.2.0/24", regions.Gateway, regions.US), {Regions: regions.SetOf(regions.US)}},
			[]string{"row 1", "invalid prefix"}},
		{"non-canonical", []regions.Range{{Prefix: netip.MustParsePrefix("192.0.2.1/24")}},
			[]string{"row 0", "192.0.2.1/24", "not canonical", "192.0.2.0/24"}},
		{"non-canonical with line", []regions.Range{withLine(regions.Range{Prefix: netip.MustParsePrefix("192.0.2.1/24")}, 12)},
			[]string{"row 0 (line 12)", "not canonical"}},
		{"4in6", []regions.Range{rg("::ffff:192.0.2.0/120", regions.Gateway, regions.US)},
			[]string{"row 0", "4-in-6"}},
		{"duplicate", []regions.Range{rg("192.0.2.0/24", regions.Gateway, regions.US), rg("198.51.100.0/24", regions.Gateway, regions.US), withLine(rg("192.0.2.0/24", regions.NonSPF, regions.EU), 9)},
			[]string{"row 2 (line 9)", "192.0.2.0/24 already in row 0"}},
		{"every problem", []regions.Range{{Prefix: netip.MustParsePrefix("192.0.2.1/24")}, {}, rg("2001:db8::/32", regions.Gateway), rg("2001:db8::/32", regions.Gateway)},
			[]string{"row 0", "row 1", "row 3"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := matcher.New(tc.rs)
			require.Error(t, err)
			assert.Nil(t, m)
			for _, w := range tc.want {
				assert.ErrorContains(t, err, w)
			}
			assert.True(t, strings.HasPrefix(err.Error(), "matcher: "), "error %q lacks the package prefix", err)
		})
	}

	// Retired rows are not checked: they never match.
	m, err := matcher.New([]regions.Range{retired(regions.Range{Prefix: netip.MustParsePrefix("192.0.2.1/24")}), retired(regions.Range{})})
	require.NoError(t, err)
	assert.Equal(t, 0, m.Len())
}

func TestEmpty(t *testing.T) {
	addrs := []netip.Addr{{}, netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("::ffff:192.0.2.1"), netip.MustParseAddr("2001:db8::1")}

	var zero matcher.Matcher
	var nilm *matcher.Matcher
	empty, err := matcher.New(nil)
	require.NoError(t, err)
	onlyRetired, err := matcher.New([]regions.Range{retired(rg("192.0.2.0/24", regions.Gateway, regions.US))})
	require.NoError(t, err)

	for name, m := range map[string]*matcher.Matcher{"zero": &zero, "nil": nilm, "New(nil)": empty, "only retired": onlyRetired} {
		assert.Equal(t, 0, m.Len(), "%s: Len", name)
		assert.Empty(t, m.Ranges(), "%s: Ranges", name)
		for _, a := range addrs {
			r, ok := m.Lookup(a)
			assert.False(t, ok, "%s: Lookup(%v)", name, a)
			assert.Zero(t, r, "%s: Lookup(%v)", name, a)
			assert.False(t, m.Contains(a), "%s: Contains(%v)", name, a)
		}
	}
}

func TestNewCopies(t *testing.T) {
	rs := []regions.Range{rg("192.0.2.0/24", regions.Gateway, regions.US)}
	m, err := matcher.New(rs)
	require.NoError(t, err)
	rs[0].Prefix = netip.MustParsePrefix("198.51.100.0/24")
	rs[0].Sources[0] = "changed"
	r, ok := m.Lookup(netip.MustParseAddr("192.0.2.1"))
	require.True(t, ok, "New did not copy its input")
	assert.Equal(t, []string{"test"}, r.Sources)

	out := m.Ranges()
	out[0].Sources[0] = "changed"
	out[0].Prefix = netip.Prefix{}
	again := m.Ranges()
	assert.Equal(t, []string{"test"}, again[0].Sources, "Ranges returned shared storage")
	assert.Equal(t, netip.MustParsePrefix("192.0.2.0/24"), again[0].Prefix)
}

func TestRangesOrder(t *testing.T) {
	m, err := matcher.New(testRanges)
	require.NoError(t, err)
	var want []netip.Prefix
	for _, r := range testRanges {
		if !r.Retired {
			want = append(want, r.Prefix)
		}
	}
	var got []netip.Prefix
	for _, r := range m.Ranges() {
		got = append(got, r.Prefix)
	}
	assert.Equal(t, want, got, "Ranges keeps the order given to New, retired rows dropped")
}

func TestMaxRanges(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a matcher of 65536 rows")
	}
	rs := make([]regions.Range, 0, matcher.MaxRanges+1)
	for i := range matcher.MaxRanges + 1 {
		a := netip.AddrFrom4([4]byte{1, byte(i >> 8), byte(i), 0})
		rs = append(rs, regions.Range{Prefix: netip.PrefixFrom(a, 24), Service: regions.Gateway})
	}
	_, err := matcher.New(rs)
	assert.ErrorContains(t, err, "more than 65535")
	m, err := matcher.New(rs[:matcher.MaxRanges])
	require.NoError(t, err)
	assert.Equal(t, matcher.MaxRanges, m.Len())
	r, ok := m.Lookup(netip.MustParseAddr("1.255.254.9"))
	assert.True(t, ok)
	assert.Equal(t, netip.MustParsePrefix("1.255.254.0/24"), r.Prefix)
	_, ok = m.Lookup(netip.MustParseAddr("1.255.255.9"))
	assert.False(t, ok)
}
