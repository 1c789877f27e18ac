package export

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b311f21d/go-mimecastip/cmd/mimecastip/internal/iprange"
	"github.com/seed-b311f21d/go-mimecastip/mimecastip"
	"github.com/seed-b311f21d/go-mimecastip/regions"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

var mail = []mimecastip.Class{mimecastip.Mimecast, mimecastip.NonSPF}

func export(t testing.TB, format string, set regions.Set, o Options) (string, []regions.Range) {
	t.Helper()
	d := regions.Embedded()
	f, ok := Lookup(format)
	require.True(t, ok, format)
	rs := Select(d, set, mail)
	o.Version, o.Regions, o.Classes = d.Version, set, mail
	if o.Now.IsZero() {
		o.Now = time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	}
	var b bytes.Buffer
	require.NoError(t, Write(&b, f, rs, o))
	return b.String(), rs
}

func mustSet(s string) regions.Set {
	set, err := regions.ParseSet(s)
	if err != nil {
		panic(err)
	}
	return set
}

func TestGolden(t *testing.T) {
	for _, f := range Formats() {
		for _, region := range []string{"us", "eu"} {
			t.Run(f.Name+"-"+region, func(t *testing.T) {
				got, _ := export(t, f.Name, mustSet(region), Options{Reject: "554 5.7.1 Not a Mimecast relay"})
				path := filepath.Join("testdata", f.Name+"-"+region+".golden")
				if *update {
					require.NoError(t, os.MkdirAll("testdata", 0o755))
					require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
				}
				want, err := os.ReadFile(path)
				require.NoError(t, err, "run go test -update")
				assert.Equal(t, string(want), got)
			})
		}
	}
}

func TestHeader(t *testing.T) {
	for _, f := range Formats() {
		got, _ := export(t, f.Name, mustSet("us,usb"), Options{})
		assert.Contains(t, got, regions.Version(), f.Name)
		if f.Name == "json" {
			assert.Contains(t, got, `"usb"`)
			continue
		}
		assert.Contains(t, got, "regions us,usb", f.Name)
	}
}

func TestSelect(t *testing.T) {
	d := regions.Embedded()
	rs := Select(d, mustSet("eu"), mail)
	for _, r := range rs {
		assert.False(t, r.Retired, "%v", r.Prefix)
		assert.True(t, r.Regions.Has(regions.EU), "%v", r.Prefix)
		assert.True(t, r.Service.Mail(), "%v", r.Prefix)
	}
	assert.NotContains(t, Merge(rs), netip.MustParsePrefix("213.167.75.0/24"), "retired range exported")
	assert.Empty(t, Select(d, mustSet("global"), mail), "website addresses are not mail")
	only := Select(d, mustSet("us"), []mimecastip.Class{mimecastip.NonSPF})
	require.NotEmpty(t, only)
	for _, r := range only {
		assert.Equal(t, regions.NonSPF, r.Service)
	}
}

// setOf returns the addresses of ps.
func setOf(ps []netip.Prefix) iprange.Set { return iprange.FromPrefixes(ps...) }

func rangesSet(rs []regions.Range) iprange.Set {
	var b iprange.Builder
	for _, r := range rs {
		b.AddPrefix(r.Prefix)
	}
	return b.Set()
}

// cidrs returns the prefixes that occur in text, in order.
func cidrs(t testing.TB, text, prefix string) []netip.Prefix {
	var out []netip.Prefix
	var body []string
	for _, l := range strings.Split(text, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			body = append(body, l)
		}
	}
	text = strings.Join(body, "\n")
	for _, f := range strings.FieldsFunc(text, func(r rune) bool {
		return r == ' ' || r == '\n' || r == '\t' || r == '"' || r == ',' || r == '{' || r == '}'
	}) {
		f = strings.TrimPrefix(f, prefix)
		if !strings.Contains(f, "/") || strings.HasPrefix(f, "/") {
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			continue
		}
		require.Equal(t, p.Masked(), p, "non-canonical prefix in output")
		out = append(out, p)
	}
	return out
}

func TestMergedFormatsCoverExactly(t *testing.T) {
	for _, region := range []string{"us", "eu", "de", "au", "za", "ca", "usb", "all"} {
		set := mustSet(region)
		for _, format := range []string{"plain", "postfix", "postscreen", "nftables", "ipset", "exchange"} {
			got, rs := export(t, format, set, Options{NoLoopback: true})
			ps := cidrs(t, got, "")
			assert.True(t, setOf(ps).Equal(rangesSet(rs)), "%s %s: exported prefixes differ from the ranges", format, region)
			// no overlaps: merged output has each address once
			var n float64
			for _, p := range ps {
				n += iprange.RangeOf(p).Len()
			}
			assert.Equal(t, setOf(ps).Len(), n, "%s %s: overlapping prefixes", format, region)
		}
	}
}

func TestM365(t *testing.T) {
	for _, region := range []string{"us", "eu", "za", "all"} {
		got, rs := export(t, "m365", mustSet(region), Options{})
		ps := cidrs(t, got, "")
		require.NotEmpty(t, ps)
		for _, p := range ps {
			assert.True(t, p.Addr().Is4(), "%s: IPv6 prefix %v", region, p)
			assert.GreaterOrEqual(t, p.Bits(), 24, "%s: %v shorter than /24", region, p)
		}
		assert.True(t, setOf(ps).Equal(rangesSet(rs)), "%s: the /24 split changes the covered set", region)
		assert.Contains(t, got, "New-InboundConnector")
		assert.Contains(t, got, "-EFSkipIPs $MimecastIPs")
		assert.NotContains(t, got, "Set-HostedConnectionFilterPolicy")
	}
	// /22 and /23 are split
	got, _ := export(t, "m365", mustSet("za"), Options{})
	assert.Contains(t, got, `"41.74.193.0/24"`)
	assert.NotContains(t, got, "/22")
}

func TestSplitTo24(t *testing.T) {
	ps := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/22"), netip.MustParsePrefix("10.1.0.0/25"), netip.MustParsePrefix("2001:db8::/32")}
	out, dropped := SplitTo24(ps)
	assert.Equal(t, 1, dropped)
	assert.Equal(t, []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/24"), netip.MustParsePrefix("10.0.1.0/24"), netip.MustParsePrefix("10.0.2.0/24"),
		netip.MustParsePrefix("10.0.3.0/24"), netip.MustParsePrefix("10.1.0.0/25"),
	}, out)
}

func TestM365WarnsIPv6(t *testing.T) {
	rs := []regions.Range{
		{Prefix: netip.MustParsePrefix("2a00:1450::/32"), Regions: mustSet("eu"), Service: regions.Gateway},
		{Prefix: netip.MustParsePrefix("185.58.84.0/22"), Regions: mustSet("eu"), Service: regions.Gateway},
	}
	var warns []string
	var b bytes.Buffer
	f, _ := Lookup("m365")
	require.NoError(t, Write(&b, f, rs, Options{Version: "v", Regions: mustSet("eu"), Classes: mail,
		Warn: func(format string, a ...any) { warns = append(warns, format) }}))
	assert.NotContains(t, b.String(), "2a00:")
	assert.Len(t, warns, 1)
}

func TestSPFStrings(t *testing.T) {
	for _, region := range []string{"us", "eu", "all"} {
		got, rs := export(t, "spf", mustSet(region), Options{})
		line := got[strings.Index(got, "TXT"):]
		var strs []string
		for _, f := range strings.Split(line, "\"") {
			if strings.HasPrefix(f, "v=spf1") || strings.HasPrefix(f, "ip4:") || strings.HasPrefix(f, "ip6:") {
				strs = append(strs, f)
			}
		}
		require.NotEmpty(t, strs)
		for _, s := range strs[:len(strs)-1] {
			assert.LessOrEqual(t, len(s), 255, "%s: string too long", region)
			assert.True(t, strings.HasSuffix(s, " "), "%s: string not cut after a space: %q", region, s)
		}
		assert.LessOrEqual(t, len(strs[len(strs)-1]), 255)
		rec := strings.Join(strs, "")
		assert.True(t, strings.HasPrefix(rec, "v=spf1 ") && strings.HasSuffix(rec, " ~all"), rec)
		var ps []netip.Prefix
		for _, term := range strings.Fields(rec)[1:] {
			if term == "~all" {
				continue
			}
			v := strings.TrimPrefix(strings.TrimPrefix(term, "ip4:"), "ip6:")
			if !strings.Contains(v, "/") {
				v += "/32"
			}
			ps = append(ps, netip.MustParsePrefix(v))
		}
		assert.True(t, setOf(ps).Equal(rangesSet(rs)), region)
	}
}

func TestSplitTXT(t *testing.T) {
	rec := "v=spf1 " + strings.Repeat("ip4:203.0.113.0/24 ", 40) + "~all"
	parts := SplitTXT(rec)
	assert.Equal(t, rec, strings.Join(parts, ""))
	for _, p := range parts {
		assert.LessOrEqual(t, len(p), 255)
	}
	long := strings.Repeat("x", 600)
	parts = SplitTXT(long)
	assert.Equal(t, long, strings.Join(parts, ""))
	for _, p := range parts {
		assert.LessOrEqual(t, len(p), 255)
	}
}

func TestJSON(t *testing.T) {
	got, rs := export(t, "json", mustSet("us"), Options{})
	var doc JSONDoc
	require.NoError(t, json.Unmarshal([]byte(got), &doc))
	assert.Equal(t, regions.Version(), doc.Version)
	assert.Equal(t, "2026-11-22T00:00:00Z", doc.Generated)
	assert.Equal(t, mustSet("us"), doc.Regions)
	require.Len(t, doc.Ranges, len(rs))
	var classes = map[string]int{}
	for _, r := range doc.Ranges {
		classes[r.Class]++
		assert.Equal(t, 4, r.Family)
		assert.NotEmpty(t, r.Sources)
	}
	assert.Positive(t, classes["mimecast"])
	assert.Positive(t, classes["non-spf"])
}

func TestCSV(t *testing.T) {
	got, rs := export(t, "csv", mustSet("us"), Options{})
	r := csv.NewReader(strings.NewReader(got))
	r.Comment = '#'
	recs, err := r.ReadAll()
	require.NoError(t, err)
	require.Len(t, recs, len(rs)+1)
	assert.Equal(t, "cidr", recs[0][0])
}

// TestValidateReject: --reject is a full access(5) action that refuses
// the client (as policy --reject takes it), written as given.
func TestValidateReject(t *testing.T) {
	for _, a := range []string{"554 5.7.1 Not Mimecast", "REJECT Not a Mimecast relay", "reject", "REJECT", "DEFER later", "defer_if_permit 4.7.1 x", "450 4.7.1 later", "HOLD", "DISCARD dropped"} {
		assert.NoError(t, ValidateReject(a), a)
		assert.Equal(t, a, rejectAction(a))
	}
	for _, a := range []string{"", "  ", "Not a Mimecast relay", "OK", "DUNNO", "permit", "PREPEND X-A: b", "554", "250 ok", "DEFER_IF_REJECT x", "REJECT {address}", "REJECT a\tb", "5.7.1 Not a Mimecast relay"} {
		assert.Error(t, ValidateReject(a), a)
		if a == "" {
			continue // no --reject: no catch-all lines
		}
		var b bytes.Buffer
		f, _ := Lookup("postfix")
		assert.Error(t, Write(&b, f, nil, Options{Reject: a}), "Write checks it too: %q", a)
	}
}

// TestSPFAllTerms: only ~all, -all and ?all; +all would pass every sender.
func TestSPFAllTerms(t *testing.T) {
	f, _ := Lookup("spf")
	for _, a := range []string{"+all", "all", "bogus", "~ALL", "-all x"} {
		var b bytes.Buffer
		assert.Error(t, Write(&b, f, nil, Options{SPFAll: a}), a)
	}
	for _, a := range SPFAllTerms {
		got, _ := export(t, "spf", mustSet("us"), Options{SPFAll: a})
		assert.Contains(t, got, a+"\"", a)
	}
}

func TestParseAllow(t *testing.T) {
	ps, err := ParseAllow(" 192.0.2.0/24,198.51.100.7, 2001:db8::/32 ")
	require.NoError(t, err)
	assert.Equal(t, []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("198.51.100.7/32"), netip.MustParsePrefix("2001:db8::/32")}, ps)
	for _, s := range []string{"", ",", "192.0.2.1/24", "x", "::ffff:1.2.3.4", "fe80::1%lo", "1.2.3.0/33"} {
		_, err := ParseAllow(s)
		assert.Error(t, err, s)
	}
	f, _ := Lookup("nftables")
	var b bytes.Buffer
	assert.Error(t, Write(&b, f, nil, Options{Allow: []netip.Prefix{netip.MustParsePrefix("192.0.2.1/24")}}), "Write refuses a non-canonical --allow")
}

// TestPostfixHeaderPath: the main.cf line names the file written.
func TestPostfixHeaderPath(t *testing.T) {
	got, _ := export(t, "postfix", mustSet("us"), Options{Path: "/etc/postfix/mc-us.cidr"})
	assert.Contains(t, got, "check_client_access cidr:/etc/postfix/mc-us.cidr, reject")
	got, _ = export(t, "postscreen", mustSet("us"), Options{Path: "/etc/postfix/ps.cidr"})
	assert.Contains(t, got, "postscreen_access_list = permit_mynetworks, cidr:/etc/postfix/ps.cidr")
}
