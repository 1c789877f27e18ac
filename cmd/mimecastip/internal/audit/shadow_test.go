package audit

import (
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b311f21d/go-mimecastip/cmd/mimecastip/internal/iprange"
	"github.com/seed-b311f21d/go-mimecastip/regions"
)

// TestAuditFirstMatch: Postfix cidr/access tables and firewall chains stop
// at the first matching entry, so a rejecting entry before the allow lines
// takes its addresses: the full US list after "170.10.128.0/22 REJECT" (or
// "0.0.0.0/0 REJECT") lets those ranges through nowhere, and the audit must
// say MISSING, not OK. A catch-all REJECT at the end changes nothing.
func TestAuditFirstMatch(t *testing.T) {
	us := regions.SetOf(regions.US)
	var ok strings.Builder
	for _, l := range strings.Split(exportText(t, "plain", us), "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			ok.WriteString(l + " OK\n")
		}
	}
	full := ok.String()
	require.True(t, Audit(parse(t, full+"0.0.0.0/0 REJECT\n"), Options{Regions: us}).OK, "a final catch-all REJECT is the usual lockdown")

	rep := Audit(parse(t, "170.10.128.0/22 REJECT\n"+full), Options{Regions: us})
	assert.False(t, rep.OK, "an earlier REJECT shadows 170.10.128.0/22")
	var missing []string
	for _, r := range rep.Ranges {
		missing = append(missing, r.Status+" "+r.Prefix)
	}
	assert.Contains(t, missing, "missing 170.10.128.0/24")
	assert.Contains(t, missing, "missing 170.10.131.0/24")
	assert.NotContains(t, missing, "missing 170.10.132.0/24")
	assert.Equal(t, KindShadowed, rep.Entries[2].Status, "the 170.10.128.0/22 OK line: %+v", rep.Entries[2])

	rep = Audit(parse(t, "0.0.0.0/0 554 5.7.1 no\n"+full), Options{Regions: us})
	assert.False(t, rep.OK)
	assert.Equal(t, 0, rep.Summary.OK)
	assert.Equal(t, rep.Summary.Published, countRangesMissing(rep))

	// iptables: a DROP for part of a range before its ACCEPT.
	rep = Audit(parse(t, "-A INPUT -s 170.10.133.128/25 -j DROP\n"+full), Options{Regions: us})
	assert.False(t, rep.OK)
	for _, r := range rep.Ranges {
		if r.Prefix == "170.10.133.0/24" {
			assert.Equal(t, KindPartial, r.Status)
			assert.Equal(t, []string{"170.10.133.128/25"}, r.Missing)
		}
	}
}

// countRangesMissing counts the published ranges with no address let
// through, including those reported with a parent.
func countRangesMissing(rep *Report) int {
	var b iprange.Builder
	for _, r := range rep.Ranges {
		for _, m := range r.Missing {
			b.AddPrefix(netip.MustParsePrefix(m))
		}
	}
	s := b.Set()
	n := 0
	for _, r := range regions.Embedded().Ranges {
		if !r.Retired && r.Service.Mail() && r.Regions.Has(regions.US) && s.Covers(iprange.FromPrefixes(r.Prefix)) {
			n++
		}
	}
	if n > rep.Summary.Published {
		n = rep.Summary.Published
	}
	return n
}

// TestFirstMatchReference checks the sweep against a linear scan per
// address over random small lists of allow and deny entries.
func TestFirstMatchReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for iter := 0; iter < 300; iter++ {
		var es []Entry
		for j := r.IntN(12); j >= 0; j-- {
			a, b := r.IntN(64), r.IntN(64)
			if b < a {
				a, b = b, a
			}
			if r.IntN(8) == 0 {
				b = 255 // reaches the family's end
			}
			es = append(es, Entry{Range: iprange.Range{From: netip.AddrFrom4([4]byte{255, 255, 255, byte(a)}), To: netip.AddrFrom4([4]byte{255, 255, 255, byte(b)})}, Deny: r.IntN(3) == 0})
			if e := &es[len(es)-1]; e.Deny && r.IntN(3) == 0 {
				e.Exclude = true
			}
		}
		got := firstMatch(es)
		rs := got.Ranges()
		for x := 0; x < 256; x++ {
			ad := netip.AddrFrom4([4]byte{255, 255, 255, byte(x)})
			want, excluded := false, false
			for _, e := range es {
				excluded = excluded || e.Exclude && inside(iprange.Range{From: ad, To: ad}, e.Range)
			}
			for _, e := range es {
				if inside(iprange.Range{From: ad, To: ad}, e.Range) {
					want = !e.Deny
					break
				}
			}
			want = want && !excluded
			require.Equal(t, want, got.Contains(ad), "iter %d addr %s entries %+v", iter, ad, es)
			require.Equal(t, !want, shadowedBy(rs, iprange.Range{From: ad, To: ad}), "iter %d addr %s", iter, ad)
		}
	}
}

// TestAuditIpsetNomatch: an ipset "nomatch" entry takes its addresses out
// of a hash:net set whatever its place in the save file, so the full US
// set with "170.10.128.0/24 nomatch" misses that range.
func TestAuditIpsetNomatch(t *testing.T) {
	us := regions.SetOf(regions.US)
	var set strings.Builder
	set.WriteString("create mc hash:net family inet\n")
	for _, l := range strings.Split(exportText(t, "plain", us), "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			set.WriteString("add mc " + l + "\n")
		}
	}
	require.True(t, Audit(parse(t, set.String()), Options{Regions: us}).OK)
	for _, text := range []string{
		set.String() + "add mc 170.10.128.0/24 nomatch\n",
		"create mc hash:net\nadd mc 170.10.128.0/24 nomatch\n" + set.String()[len("create mc hash:net family inet\n"):],
	} {
		es := parse(t, text)
		rep := Audit(es, Options{Regions: us})
		assert.False(t, rep.OK)
		require.NotEmpty(t, rep.Ranges)
		assert.Equal(t, "170.10.128.0/24", rep.Ranges[0].Prefix)
		assert.Equal(t, KindMissing, rep.Ranges[0].Status)
	}
}

// TestAuditNeutralActions: in a Postfix access or cidr table, DUNNO, the
// non-final actions and restriction names do not accept the client; an
// entry with one of them is not part of the allowlist.
func TestAuditNeutralActions(t *testing.T) {
	us := regions.SetOf(regions.US)
	var lines []string
	for _, l := range strings.Split(exportText(t, "plain", us), "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			lines = append(lines, l)
		}
	}
	table := func(first string) string {
		var b strings.Builder
		for i, l := range lines {
			a := "OK"
			if i == 0 {
				a = first
			}
			b.WriteString(l + "\t" + a + "\n")
		}
		return b.String()
	}
	require.True(t, Audit(parse(t, table("OK")), Options{Regions: us}).OK)
	for _, a := range []string{"DUNNO", "dunno", "WARN seen", "INFO x", "PREPEND X-A: b", "FILTER smtp:[127.0.0.1]:10025", "REDIRECT a@b", "BCC a@b", "permit_mynetworks", "reject_unknown_client_hostname"} {
		rep := Audit(parse(t, table(a)), Options{Regions: us})
		assert.False(t, rep.OK, a)
		require.NotEmpty(t, rep.Ranges, a)
		assert.Equal(t, lines[0], rep.Ranges[0].Prefix, a)
	}
}

// TestAuditPowerShellRemove: entries in a PowerShell @{Remove=...} are
// taken out of the list, not allowed.
func TestAuditPowerShellRemove(t *testing.T) {
	us := regions.SetOf(regions.US)
	var q []string
	for _, l := range strings.Split(exportText(t, "plain", us), "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			q = append(q, `"`+l+`"`)
		}
	}
	add := "Set-ReceiveConnector Mimecast -RemoteIPRanges @{Add=" + strings.Join(q, ",") + "}\n"
	require.True(t, Audit(parse(t, add), Options{Regions: us}).OK)
	for _, rm := range []string{
		`Set-ReceiveConnector Mimecast -RemoteIPRanges @{Remove="170.10.128.0/22"}` + "\n",
		`Set-HostedConnectionFilterPolicy -Identity Default -IPAllowList @{Add="8.8.8.8"; remove = "170.10.128.0/22"}` + "\n",
	} {
		rep := Audit(parse(t, add+rm), Options{Regions: us})
		assert.False(t, rep.OK, rm)
		require.NotEmpty(t, rep.Ranges, rm)
		assert.Equal(t, "170.10.128.0/24", rep.Ranges[0].Prefix, rm)
	}
}

// TestAuditIptablesTargets: an iptables rule allows its addresses only
// with -j ACCEPT; -j LOG, RETURN or a user chain allows nothing, and
// (non-terminating) shadows nothing: LOG before ACCEPT stays OK.
func TestAuditIptablesTargets(t *testing.T) {
	us := regions.SetOf(regions.US)
	var b strings.Builder
	for _, l := range strings.Split(exportText(t, "plain", us), "\n") {
		if l != "" && !strings.HasPrefix(l, "#") && l != "170.10.128.0/22" {
			b.WriteString("-A INPUT -p tcp --dport 25 -s " + l + " -j ACCEPT\n")
		}
	}
	rest := b.String()
	require.True(t, Audit(parse(t, rest+"-A INPUT -s 170.10.128.0/22 -j ACCEPT\n"), Options{Regions: us}).OK)
	require.True(t, Audit(parse(t, "-A INPUT -s 170.10.128.0/22 -j LOG --log-prefix mc\n"+rest+"-A INPUT -s 170.10.128.0/22 -j ACCEPT\n"), Options{Regions: us}).OK, "LOG before ACCEPT")
	for _, target := range []string{"LOG", "RETURN", "MARK --set-mark 1", "MIMECAST"} {
		rep := Audit(parse(t, rest+"-A INPUT -s 170.10.128.0/22 --jump "+target+"\n"), Options{Regions: us})
		assert.False(t, rep.OK, target)
		require.NotEmpty(t, rep.Ranges, target)
		assert.Equal(t, "170.10.128.0/24", rep.Ranges[0].Prefix, target)
	}
}

// TestAuditNftVerdicts: an nft rule allows its source addresses only with
// an accept verdict; jump, log or counter alone allows nothing.
func TestAuditNftVerdicts(t *testing.T) {
	us := regions.SetOf(regions.US)
	var b strings.Builder
	for _, l := range strings.Split(exportText(t, "plain", us), "\n") {
		if l != "" && !strings.HasPrefix(l, "#") && l != "170.10.128.0/22" {
			b.WriteString("tcp dport 25 ip saddr " + l + " accept\n")
		}
	}
	rest := b.String()
	require.True(t, Audit(parse(t, rest+"ip saddr 170.10.128.0/22 counter accept\n"), Options{Regions: us}).OK)
	for _, v := range []string{"jump mimecast", "log prefix mc", "counter", "goto x"} {
		rep := Audit(parse(t, rest+"ip saddr 170.10.128.0/22 "+v+"\n"), Options{Regions: us})
		assert.False(t, rep.OK, v)
		require.NotEmpty(t, rep.Ranges, v)
		assert.Equal(t, "170.10.128.0/24", rep.Ranges[0].Prefix, v)
	}
}
