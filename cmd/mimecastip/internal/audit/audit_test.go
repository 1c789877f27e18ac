package audit

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b311f21d/go-mimecastip/cmd/mimecastip/internal/export"
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
			require.NoError(t, export.Write(&b, f, rs, export.Options{Version: d.Version, Regions: set, Classes: mail, Reject: "REJECT Not Mimecast", Now: time.Unix(0, 0)}))
			rep := Audit(parse(t, b.String()), Options{Dataset: d, Regions: set})
			var tb bytes.Buffer
			require.NoError(t, rep.WriteText(&tb, f.Name))
			assert.True(t, rep.OK, "%s %s:\n%s", f.Name, region, tb.String())
			assert.Zero(t, rep.Summary.Warnings, "%s %s:\n%s", f.Name, region, tb.String())
			// inferred region gives the same verdict
			inf := Audit(parse(t, b.String()), Options{Dataset: d})
			assert.Equal(t, region, inf.Regions.String(), "%s %s: inferred region", f.Name, region)
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

// TestAuditLoopback: loopback entries (the firewall exports' default
// exemption, "127.0.0.0/8 OK" in Postfix tables) are info, not foreign;
// a wider entry that includes loopback is still foreign.
func TestAuditLoopback(t *testing.T) {
	us := regions.SetOf(regions.US)
	full := exportText(t, "plain", us)
	rep := Audit(parse(t, full+"127.0.0.0/8 OK\n::1 OK\n127.0.0.1\n"), Options{Regions: us})
	assert.True(t, rep.OK)
	assert.Equal(t, 3, rep.Summary.Loopback)
	assert.Equal(t, KindLoopback, rep.Entries[len(rep.Entries)-1].Status)
	rep = Audit(parse(t, full+"126.0.0.0/7\n::/127\n"), Options{Regions: us})
	assert.False(t, rep.OK)
	assert.Equal(t, 2, rep.Summary.Foreign)
}

func TestAuditNothingMimecast(t *testing.T) {
	rep := Audit(parse(t, "8.8.8.8\n1.1.1.0/24\n"), Options{})
	assert.False(t, rep.OK)
	assert.True(t, rep.Regions.IsEmpty())
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

// TestParseMapped: an IPv4-mapped IPv6 entry matches no IPv4 client in
// Postfix, nft or iptables; it is invalid, and the message says why and
// what to write instead.
func TestParseMapped(t *testing.T) {
	for in, instead := range map[string]string{
		"::ffff:170.10.128.0/118":                   "170.10.128.0/22",
		"::ffff:170.10.128.5":                       "170.10.128.5",
		"ip6:::ffff:170.10.129.0/120":               "170.10.129.0/24",
		"::ffff:170.10.128.1 - ::ffff:170.10.128.9": "170.10.128.1-170.10.128.9",
		"::FFFF:AA0A:8000/118":                      "170.10.128.0/22",
	} {
		es := parse(t, in+"\n")
		require.Len(t, es, 1, in)
		assert.Contains(t, es[0].Invalid, "IPv4-mapped", in)
		assert.Contains(t, es[0].Invalid, "Postfix, nft and iptables", in)
		assert.Contains(t, es[0].Invalid, "write "+instead, in)
		assert.False(t, es[0].Range.From.IsValid(), in)
	}
	// Shorter than /96 it is an IPv6 prefix like any other.
	es := parse(t, "::ffff:0:0/90\n")
	require.Len(t, es, 1)
	assert.Empty(t, es[0].Invalid)
}

// TestParseMalformed: every word that tries to be an address, CIDR or
// range and is not a valid one is an invalid entry with its line number;
// none is skipped or read as something else.
func TestParseMalformed(t *testing.T) {
	bad := []string{
		"010.1.1.1", "300.1.1.1", "170.10.1290.0/24", "170.10.129/24", "170.10.128.0/2A", "170.10.128.0/",
		"170.10.128.0/024", "170.10.128.0/33", "2001:db8::/129", "1.2.3.4:25", "1.2.3", "1.2.3.4.5",
		"/24", "ip4:170.10.128", "ip4:", "ip6:2001:db8:::1", "2001:db8:::1/48", "fe80::1%eth0",
		"10.0.0.0/255.0.255.0", "10.0.0.0/255.255.0.300", "1.2.3.4-1.2.3.300", "1.2.3.9-1.2.3.1",
		"1.2.3.4-::1", "170.10.128.0/24/25", "170.10.128.0–170.10.128.9", "170.10.128.0x",
		"07:14:45", "2001:db8::g", "170.10/16", "1.2.3.4/",
	}
	var text strings.Builder
	for _, b := range bad {
		text.WriteString("170.10.128.0/24 " + b + "\n")
	}
	es := parse(t, text.String())
	byLine := map[int][]Entry{}
	for _, e := range es {
		byLine[e.Line] = append(byLine[e.Line], e)
	}
	for i, b := range bad {
		got := byLine[i+1]
		require.Len(t, got, 2, "%q: %+v", b, got)
		assert.Empty(t, got[0].Invalid)
		assert.NotEmpty(t, got[1].Invalid, "%q must be invalid: %+v", b, got[1])
		assert.False(t, got[1].Range.From.IsValid(), b)
	}

	// Negated patterns (Postfix cidr "!", iptables "! -s", nft "!=")
	// match everything else: not an allowlist entry that can be checked.
	for _, line := range []string{"!8.8.8.8 OK", "-A INPUT ! -s 8.8.8.8 -j ACCEPT", "ip saddr != 8.8.8.8 accept"} {
		es := parse(t, line+"\n")
		require.Len(t, es, 1, line)
		assert.Contains(t, es[0].Invalid, "negated", line)
	}

	// In an SPF record, +all and the DNS mechanisms allow what audit
	// cannot see: errors, not a silent partial check.
	es = parse(t, "@ IN TXT ( \"v=spf1 ip4:170.10.128.0/22 include:_spf.example.com a mx:mx.example.com \"\n"+
		"\"ptr exists:%{i}.x.example redirect=_spf.example.net +all all ~all -all ?all\" )\n")
	var spf []string
	for _, e := range es {
		if e.Invalid != "" {
			spf = append(spf, e.Text)
		}
	}
	assert.Equal(t, []string{"include:_spf.example.com", "a", "mx:mx.example.com", "ptr", "exists:%", "redirect", "+all", "all"}, spf)
	// The words are harmless outside an SPF record.
	es = parse(t, "170.10.128.0/24 a mx all include\n")
	require.Len(t, es, 1)

	// A deny word in a comment of an accepting rule does not hide the
	// entry; the action right after the entry decides a Postfix line.
	for line, deny := range map[string]bool{
		"-A INPUT -s 8.8.8.8 -j ACCEPT -m comment --comment block-list": false,
		"ip saddr 8.8.8.8 accept comment \"drop later\"":                false,
		"8.8.8.8 REJECT not ok":                                         true,
		"8.8.8.8 554 5.7.1 not ok":                                      true,
		"-A INPUT -s 8.8.8.8 -j DROP":                                   true,
		"8.8.8.8 OK":                                                    false,
	} {
		es := parse(t, line+"\n")
		require.Len(t, es, 1, line)
		assert.Equal(t, deny, es[0].Deny, line)
	}

	// A range with spaces whose end is broken is one invalid entry.
	es = parse(t, "1.2.3.4 - 1.2.3.256\n")
	require.Len(t, es, 1)
	assert.NotEmpty(t, es[0].Invalid)
	assert.Equal(t, "1.2.3.4 - 1.2.3.256", es[0].Text)
}

// TestParseNotAddresses: words of the export formats and of Postfix
// actions are not entries: enhanced status codes after a reply code,
// "[0:0]" counters, ports, hostnames.
func TestParseNotAddresses(t *testing.T) {
	es := parse(t, "0.0.0.0/0 554 5.7.1 Not a Mimecast relay\n::/0 REJECT 5.7.1 no\n:MIMECAST-SMTP - [0:0]\n"+
		"tcp dport 25 counter\nmail.example.com\n2026-11-22\n\"generated\": \"2023-11-14T22:13:20Z\"\n<?xml version=\"1.0\" encoding=\"utf-8\"?>\n")
	var texts []string
	for _, e := range es {
		texts = append(texts, e.Text)
		assert.Empty(t, e.Invalid, e.Text)
	}
	assert.Equal(t, []string{"0.0.0.0/0", "::/0"}, texts)

	// A Unicode space (pasted from a web page) separates like a space.
	es = parse(t, "170.10.128.0/24\u00a0\u00a0170.10.129.0/24\n")
	require.Len(t, es, 2)
	assert.Empty(t, es[1].Invalid)
	// [v6]/NN in brackets.
	es = parse(t, "[2001:db8::]/32 OK\n")
	require.Len(t, es, 1)
	assert.Equal(t, "2001:db8::/32", es[0].Prefix.String())
	toks := lex(nil, "x [2001:db8::]/32 y")
	require.Len(t, toks, 3)
	assert.Equal(t, token{s: "2001:db8::/32", start: 3, end: 17}, toks[1])
}

// TestAuditMalformedFails is issue 11's case: a full US allowlist plus
// malformed entries was "result: OK", exit 0.
func TestAuditMalformedFails(t *testing.T) {
	us := regions.SetOf(regions.US)
	full := exportText(t, "plain", us)
	base := strings.Count(full, "\n")
	rep := Audit(parse(t, full), Options{Regions: us})
	require.True(t, rep.OK, "the export alone is clean")
	for _, b := range []string{"010.1.1.1", "300.1.1.1", "170.10.1290.0/24", "170.10.129/24", "170.10.128.0/2A", "::ffff:170.10.128.0/118"} {
		rep := Audit(parse(t, full+b+"\n"), Options{Regions: us})
		assert.False(t, rep.OK, b)
		assert.Equal(t, 1, rep.Summary.Invalid, b)
		assert.Equal(t, 1, rep.Summary.Errors, b)
		last := rep.Entries[len(rep.Entries)-1]
		assert.Equal(t, base+1, last.Line, b)
		assert.Equal(t, KindInvalid, last.Status, b)
		var out bytes.Buffer
		require.NoError(t, rep.WriteText(&out, "x"))
		assert.Contains(t, out.String(), fmt.Sprintf("line %d", base+1), b)
		assert.Contains(t, out.String(), "INVALID", b)
		assert.Contains(t, out.String(), "result: FAIL", b)
	}
}

func exportText(t testing.TB, format string, set regions.Set) string {
	t.Helper()
	f, ok := export.Lookup(format)
	require.True(t, ok)
	mail := []mimecastip.Class{mimecastip.Mimecast, mimecastip.NonSPF}
	var b bytes.Buffer
	d := regions.Embedded()
	require.NoError(t, export.Write(&b, f, export.Select(d, set, mail), export.Options{Version: d.Version, Regions: set, Classes: mail, Now: time.Unix(0, 0)}))
	return b.String()
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
		"010.1.1.1", "170.10.128.0/2A", "[2001:db8::]/32", "ip4:1.2.3", "!1.2.3.4", "554 5.7.1 x", "\xff\xfe1\x00.\x00", "1.2.3.4\u00a0-\u00a01.2.3.9",
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
