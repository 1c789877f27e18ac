package export

import (
	"bytes"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b311f21d/go-mimecastip/cmd/mimecastip/internal/iprange"
	"github.com/seed-b311f21d/go-mimecastip/internal/testenv"
	"github.com/seed-b311f21d/go-mimecastip/regions"
)

// probes returns addresses inside and outside the ranges: the first, last
// and a middle address of every range, and the addresses just around each
// merged block.
func probes(rs []regions.Range) (in, out []netip.Addr) {
	all := rangesSet(rs)
	add := func(a netip.Addr) {
		if !a.IsValid() {
			return
		}
		if all.Contains(a) {
			in = append(in, a)
		} else {
			out = append(out, a)
		}
	}
	for _, r := range rs {
		rg := iprange.RangeOf(r.Prefix)
		add(rg.From)
		add(rg.To)
		add(rg.From.Next())
	}
	for _, rg := range all.Ranges() {
		add(rg.From.Prev())
		add(rg.To.Next())
	}
	add(netip.MustParseAddr("8.8.8.8"))
	add(netip.MustParseAddr("2a00:1450:4001::1"))
	return in, out
}

func writeTemp(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	return p
}

func run(t *testing.T, name string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(name, args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return o.String(), e.String(), ee.ExitCode()
	}
	require.NoError(t, err, "%s %v", name, args)
	return o.String(), e.String(), 0
}

// TestPostmap checks the postfix and postscreen tables with Postfix's own
// cidr lookup: every inside probe answers OK (permit), every outside probe
// the catch-all, and Postfix skips no rule.
func TestPostmap(t *testing.T) {
	testenv.RequireCommands(t, "postmap")
	conf := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(conf, "main.cf"), nil, 0o644))
	for _, format := range []string{"postfix", "postscreen"} {
		for _, region := range []string{"us", "eu", "all"} {
			text, rs := export(t, format, mustSet(region), Options{Reject: "554 5.7.1 Not a Mimecast relay"})
			file := writeTemp(t, format+".cidr", text)
			in, out := probes(rs)
			allow, deny := "OK", "554 5.7.1 Not a Mimecast relay"
			if format == "postscreen" {
				allow, deny = "permit", "reject"
			}
			// postmap -q - reads keys from stdin and prints "key<TAB>value".
			var keys strings.Builder
			want := map[string]string{}
			for _, a := range in {
				keys.WriteString(a.String() + "\n")
				want[a.String()] = allow
			}
			for _, a := range out {
				keys.WriteString(a.String() + "\n")
				want[a.String()] = deny
			}
			cmd := exec.Command("postmap", "-c", conf, "-q", "-", "cidr:"+file)
			cmd.Stdin = strings.NewReader(keys.String())
			var o, e bytes.Buffer
			cmd.Stdout, cmd.Stderr = &o, &e
			require.NoError(t, cmd.Run(), "%s %s: %s", format, region, e.String())
			assert.Empty(t, e.String(), "%s %s: postmap warnings (skipped rules?)", format, region)
			got := map[string]string{}
			for _, line := range strings.Split(strings.TrimSpace(o.String()), "\n") {
				k, v, _ := strings.Cut(line, "\t")
				got[k] = v
			}
			assert.Equal(t, want, got, "%s %s", format, region)
		}
	}
}

// TestPostmapWarnsNonCanonical shows why exports must be canonical: Postfix
// skips a rule with host bits set.
func TestPostmapWarnsNonCanonical(t *testing.T) {
	testenv.RequireCommands(t, "postmap")
	conf := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(conf, "main.cf"), nil, 0o644))
	file := writeTemp(t, "bad.cidr", "170.10.132.5/24 OK\n")
	_, stderr, code := run(t, "postmap", "-c", conf, "-q", "170.10.132.9", "cidr:"+file)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "skipping this rule")
}

// inNetns runs script with sh inside a new network namespace.
func inNetns(t *testing.T, script string) (string, int) {
	t.Helper()
	stdout, stderr, code := run(t, "unshare", "-n", "sh", "-c", script)
	return stdout + stderr, code
}

func TestNftables(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireCommands(t, "nft", "unshare")
	for _, region := range []string{"za", "all"} {
		text, rs := export(t, "nftables", mustSet(region), Options{})
		file := writeTemp(t, "mimecast.nft", text)
		out, code := inNetns(t, "nft -c -f "+file)
		require.Equal(t, 0, code, "nft -c -f: %s", out)
		in, outside := probes(rs)
		var script strings.Builder
		script.WriteString("set -e; nft -f " + file + "; nft -f " + file + "\n") // loads twice: reloadable
		for _, a := range in {
			if a.Is4() {
				script.WriteString("nft get element inet mimecast mimecast_v4 '{ " + a.String() + " }' >/dev/null || { echo MISSING " + a.String() + "; exit 3; }\n")
			}
		}
		for _, a := range outside {
			set := "mimecast_v4"
			if a.Is6() {
				set = "mimecast_v6"
			}
			script.WriteString("if nft get element inet mimecast " + set + " '{ " + a.String() + " }' >/dev/null 2>&1; then echo EXTRA " + a.String() + "; exit 4; fi\n")
		}
		script.WriteString("nft list chain inet mimecast smtp_in\n")
		out, code = inNetns(t, script.String())
		assert.Equal(t, 0, code, "%s: %s", region, out)
		assert.Contains(t, out, "tcp dport 25 ip saddr @mimecast_v4 accept")
	}
}

func TestIpset(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireCommands(t, "ipset", "unshare")
	for _, region := range []string{"us", "de", "all"} {
		text, rs := export(t, "ipset", mustSet(region), Options{})
		file := writeTemp(t, "mimecast.ipset", text)
		in, outside := probes(rs)
		var script strings.Builder
		script.WriteString("set -e; ipset restore -f " + file + "; ipset -exist restore -f " + file + "\n")
		for _, a := range in {
			script.WriteString("ipset -q test mimecast4 " + a.String() + " || { echo MISSING " + a.String() + "; exit 3; }\n")
		}
		for _, a := range outside {
			set := "mimecast4"
			if a.Is6() {
				set = "mimecast6"
			}
			script.WriteString("if ipset -q test " + set + " " + a.String() + "; then echo EXTRA " + a.String() + "; exit 4; fi\n")
		}
		out, code := inNetns(t, script.String())
		assert.Equal(t, 0, code, "%s: %s", region, out)
	}
}

func TestIptablesRestore(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireCommands(t, "iptables-restore", "ip6tables-restore", "unshare")
	text, rs := export(t, "iptables", mustSet("us"), Options{})
	file := writeTemp(t, "mimecast.rules", text)
	text6, _ := export(t, "ip6tables", mustSet("us"), Options{})
	file6 := writeTemp(t, "mimecast6.rules", text6)
	merged := Merge(rs)
	script := "set -e; iptables-restore --noflush < " + file + "; iptables-restore --noflush < " + file +
		"; ip6tables-restore --noflush < " + file6 + "; iptables -S MIMECAST-SMTP; ip6tables -S MIMECAST-SMTP"
	out, code := inNetns(t, script)
	require.Equal(t, 0, code, out)
	for _, p := range merged {
		assert.Equal(t, 1, strings.Count(out, "-A MIMECAST-SMTP -s "+p.String()+" -j ACCEPT"), "%v after two loads:\n%s", p, out)
	}
	assert.Equal(t, 2, strings.Count(out, "-j REJECT --reject-with tcp-reset"), out)
}

// synthetic returns ranges of both families, nested and adjacent, for the
// day the dataset gets IPv6 ranges.
func synthetic() []regions.Range {
	var rs []regions.Range
	for _, p := range []string{"11.22.32.0/24", "11.22.33.0/24", "11.22.33.8/29", "2a0b:4340::/32", "2a0b:4341::/32", "2a0b:4340:10::/48", "2600:1f18::1/128"} {
		rs = append(rs, regions.Range{Prefix: netip.MustParsePrefix(p), Regions: mustSet("eu"), Service: regions.Gateway})
	}
	SortRanges(rs)
	return rs
}

func exportSynthetic(t *testing.T, format string) string {
	f, ok := Lookup(format)
	require.True(t, ok)
	var b bytes.Buffer
	require.NoError(t, Write(&b, f, synthetic(), Options{Version: "test", Regions: mustSet("eu"), Classes: mail, Reject: "REJECT"}))
	return b.String()
}

func TestRealToolsIPv6(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireCommands(t, "nft", "ipset", "ip6tables-restore", "postmap", "unshare")
	rs := synthetic()
	in, out := probes(rs)
	require.NotEmpty(t, in)

	nft := writeTemp(t, "v6.nft", exportSynthetic(t, "nftables"))
	ips := writeTemp(t, "v6.ipset", exportSynthetic(t, "ipset"))
	ip6 := writeTemp(t, "v6.rules", exportSynthetic(t, "ip6tables"))
	var script strings.Builder
	script.WriteString("set -e; nft -f " + nft + "; ipset restore -f " + ips + "; ip6tables-restore --noflush < " + ip6 + "\n")
	for _, a := range in {
		fam := "4"
		if a.Is6() {
			fam = "6"
		}
		script.WriteString("nft get element inet mimecast mimecast_v" + fam + " '{ " + a.String() + " }' >/dev/null || { echo NFT-MISSING " + a.String() + "; exit 3; }\n")
		script.WriteString("ipset -q test mimecast" + fam + " " + a.String() + " || { echo IPSET-MISSING " + a.String() + "; exit 3; }\n")
	}
	for _, a := range out {
		fam := "4"
		if a.Is6() {
			fam = "6"
		}
		script.WriteString("if ipset -q test mimecast" + fam + " " + a.String() + "; then echo IPSET-EXTRA " + a.String() + "; exit 4; fi\n")
	}
	script.WriteString("ip6tables -S MIMECAST-SMTP\n")
	o, code := inNetns(t, script.String())
	require.Equal(t, 0, code, o)
	assert.Contains(t, o, "-A MIMECAST-SMTP -s 2a0b:4340::/31 -j ACCEPT")

	conf := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(conf, "main.cf"), nil, 0o644))
	table := writeTemp(t, "v6.cidr", exportSynthetic(t, "postfix"))
	for _, a := range in {
		stdout, stderr, code := run(t, "postmap", "-c", conf, "-q", a.String(), "cidr:"+table)
		assert.Equal(t, 0, code)
		assert.Equal(t, "OK", strings.TrimSpace(stdout), "%v", a)
		assert.Empty(t, stderr)
	}
}
