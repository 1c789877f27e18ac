package audit

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b311f21d/go-mimecastip/internal/export"
	"github.com/seed-b311f21d/go-mimecastip/mimecastip"
	"github.com/seed-b311f21d/go-mimecastip/regions"
)

func parse(t *testing.T, text string) []Entry {
	t.Helper()
	es, err := Parse(strings.NewReader(text))
	require.NoError(t, err)
	return es
}

func TestParseForms(t *testing.T) {
	text := `# comment 9.9.9.9
170.10.128.0/22
1.2.3.4-1.2.3.9
5.6.7.8 - 5.6.7.20
10.1.0.0/255.255.0.0
$x = @("63.128.21.0/24","170.10.156.0/24")
Set-HostedConnectionFilterPolicy -Identity Default -IPAllowList @{Add="170.10.157.0/24"}
Set-HostedConnectionFilterPolicy -Identity Default -IPBlockList @{Add="8.8.8.0/24"}
elements = { 205.139.110.0/24, 2001:db8::/32 }
add mimecast4 216.205.24.0/24
170.10.129.0/24   OK
0.0.0.0/0   554 5.7.1 go away
::/0 REJECT
-A INPUT -s 9.9.9.0/24 -j DROP
; zone comment 7.7.7.7
@ IN TXT "v=spf1 ip4:91.220.42.0/24 ip6:2001:db8:1::/48 ~all"
170.10.132.5/24
1.2.3.0/33
9.9.9.9-9.9.9.1
`
	es := parse(t, text)
	type row struct {
		line int
		text string
		deny bool
	}
	var got []row
	for _, e := range es {
		got = append(got, row{e.Line, e.Text, e.Deny})
	}
	assert.Equal(t, []row{
		{2, "170.10.128.0/22", false},
		{3, "1.2.3.4-1.2.3.9", false},
		{4, "5.6.7.8 - 5.6.7.20", false},
		{5, "10.1.0.0/255.255.0.0", false},
		{6, "63.128.21.0/24", false}, {6, "170.10.156.0/24", false},
		{7, "170.10.157.0/24", false},
		{8, "8.8.8.0/24", true},
		{9, "205.139.110.0/24", false}, {9, "2001:db8::/32", false},
		{10, "216.205.24.0/24", false},
		{11, "170.10.129.0/24", false},
		{12, "0.0.0.0/0", true},
		{13, "::/0", true},
		{14, "9.9.9.0/24", true},
		{16, "91.220.42.0/24", false}, {16, "2001:db8:1::/48", false},
		{17, "170.10.132.5/24", false},
		{18, "1.2.3.0/33", false},
		{19, "9.9.9.9-9.9.9.1", false},
	}, got)
	assert.Equal(t, "10.1.0.0/16", es[3].Prefix.String())
	assert.Equal(t, "5.6.7.8-5.6.7.20", es[2].Range.String())
	assert.True(t, es[17].NonCanonical)
	assert.Equal(t, "170.10.132.0/24", es[17].Prefix.String())
	assert.NotEmpty(t, es[18].Invalid)
	assert.NotEmpty(t, es[19].Invalid)
}

// TestExportsAuditClean: every export format, read back, is a complete and
// clean allowlist of its region.
func TestExportsAuditClean(t *testing.T) {
	d := regions.Embedded()
	mail := []mimecastip.Class{mimecastip.Mimecast, mimecastip.NonSPF}
	for _, region := range []string{"us", "eu", "de", "za", "au", "ca", "usb"} {
		set, err := regions.ParseSet(region)
		require.NoError(t, err)
		for _, f := range export.Formats() {
			if f.Name == "ip6tables" {
				continue // IPv6 only: empty for the current data
			}
			var b bytes.Buffer
			rs := export.Select(d, set, mail)
			require.NoError(t, export.Write(&b, f, rs, export.Options{Version: d.Version, Regions: set, Classes: mail, Reject: "no", Now: time.Unix(0, 0)}))
			rep := Audit(parse(t, b.String()), Options{Dataset: d, Regions: set})
			var tb bytes.Buffer
			require.NoError(t, rep.WriteText(&tb, f.Name))
			assert.True(t, rep.OK, "%s %s:\n%s", f.Name, region, tb.String())
			assert.Zero(t, rep.Summary.Warnings, "%s %s:\n%s", f.Name, region, tb.String())
			// inferred region gives the same verdict
			inf := Audit(parse(t, b.String()), Options{Dataset: d})
			assert.Equal(t, region, inf.Regions, "%s %s: inferred region", f.Name, region)
		}
	}
}

func findings(rep *Report, line int) []string {
	var out []string
	for _, e := range rep.Entries {
		if e.Line == line {
			for _, f := range e.Findings {
				out = append(out, f.Kind)
			}
			if len(e.Findings) == 0 {
				out = append(out, "ok")
			}
		}
	}
	return out
}

func TestAuditFindings(t *testing.T) {
	text := `170.10.128.0/22
207.211.30.0/23
185.58.84.0/22
170.10.132.5/24
213.167.75.0/24
146.101.202.134
8.8.8.8
170.10.128.0/24
0.0.0.0/0 REJECT
`
	us := regions.SetOf(regions.US)
	rep := Audit(parse(t, text), Options{Regions: us})
	assert.False(t, rep.OK)
	assert.Equal(t, []string{"ok"}, findings(rep, 1))
	assert.Len(t, rep.Entries[0].Covers, 4, "170.10.128.0/22 covers 4 published /24s")
	assert.Equal(t, []string{KindForeign}, findings(rep, 2))
	assert.Equal(t, []string{"207.211.31.128/25"}, rep.Entries[1].Findings[0].Prefixes, "207.211.30.0/23 is partly foreign")
	assert.Equal(t, []string{KindOtherRegion}, findings(rep, 3))
	assert.Equal(t, []string{KindNonCanonical}, findings(rep, 4))
	assert.Equal(t, []string{KindOtherRegion, KindRetired}, findings(rep, 5))
	assert.Equal(t, []string{KindNotMail}, findings(rep, 6))
	assert.Equal(t, []string{KindForeign}, findings(rep, 7))
	assert.Equal(t, []string{KindRedundant}, findings(rep, 8))
	assert.Equal(t, []string{KindDeny}, findings(rep, 9))
	var missing []string
	for _, r := range rep.Ranges {
		missing = append(missing, r.Status+" "+r.Prefix)
	}
	assert.Contains(t, missing, "missing 216.205.24.0/24")
	assert.Contains(t, missing, "missing 205.139.110.0/24")
	assert.NotContains(t, missing, "missing 205.139.111.40/29", "nested range reported with its parent")

	// EU: the retired /24 next to its active /25 is a warning, not an error.
	eu := Audit(parse(t, "213.167.75.0/24\n"), Options{Regions: regions.SetOf(regions.EU)})
	assert.Equal(t, []string{KindRetired}, findings(eu, 1))
	assert.Equal(t, Warning, eu.Entries[0].Findings[0].Level)

	// Partial coverage of a published range.
	p := Audit(parse(t, "170.10.133.0/25\n"), Options{Regions: us})
	var partial *RangeReport
	for i := range p.Ranges {
		if p.Ranges[i].Prefix == "170.10.133.0/24" {
			partial = &p.Ranges[i]
		}
	}
	require.NotNil(t, partial)
	assert.Equal(t, KindPartial, partial.Status)
	assert.Equal(t, []string{"170.10.133.128/25"}, partial.Missing)
}

func TestAuditNothingMimecast(t *testing.T) {
	rep := Audit(parse(t, "8.8.8.8\n1.1.1.0/24\n"), Options{})
	assert.False(t, rep.OK)
	assert.Equal(t, "", rep.Regions)
	var b bytes.Buffer
	require.NoError(t, rep.WriteText(&b, "x"))
	assert.Contains(t, b.String(), "--region")
}

func TestParseEncodings(t *testing.T) {
	text := "$ips = @(\"170.10.128.0/24\",\"170.10.129.0/24\")\r\n"
	utf16le := []byte{0xFF, 0xFE}
	utf16be := []byte{0xFE, 0xFF}
	for _, c := range text {
		utf16le = append(utf16le, byte(c), 0)
		utf16be = append(utf16be, 0, byte(c))
	}
	for name, in := range map[string][]byte{
		"utf-8":        []byte(text),
		"utf-8 bom":    append([]byte{0xEF, 0xBB, 0xBF}, text...),
		"utf-16le bom": utf16le,
		"utf-16be bom": utf16be,
	} {
		es, err := Parse(bytes.NewReader(in))
		require.NoError(t, err, name)
		require.Len(t, es, 2, name)
		assert.Equal(t, "170.10.129.0/24", es[1].Text, name)
	}
}

func TestParseMapped(t *testing.T) {
	es := parse(t, "::ffff:170.10.128.0/118\n")
	require.Len(t, es, 1)
	assert.Empty(t, es[0].Invalid)
	assert.Equal(t, "170.10.128.0/22", es[0].Prefix.String())
}

func TestMaskBits(t *testing.T) {
	es := parse(t, "10.0.0.0/255.0.255.0\n")
	require.Len(t, es, 1)
	assert.NotEmpty(t, es[0].Invalid)
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"170.10.128.0/22\n", "1.2.3.4-1.2.3.9\n", "10.0.0.0/255.0.0.0", `@{Add="1.2.3.0/24","5.6.7.0/24"}`,
		"elements = { 2001:db8::/32, ::/0 }", "0.0.0.0/0 REJECT", "1.2.3.4 - ::1", "1.2.3.4/99999", "::ffff:1.2.3.4/120",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		es, err := Parse(strings.NewReader(s))
		if err != nil {
			return
		}
		for _, e := range es {
			if e.Invalid == "" && (!e.Range.From.IsValid() || e.Range.To.Less(e.Range.From)) {
				t.Fatalf("Parse(%q): bad range %+v", s, e)
			}
		}
		Audit(es, Options{})
	})
}
