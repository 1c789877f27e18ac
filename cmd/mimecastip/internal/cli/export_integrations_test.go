package cli

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestExportM365EnhancedFilteringCLI(t *testing.T) {
	r := cliRun("", "export", "--format", "m365", "--region", "us")
	assert.Equal(t, ExitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "-EFSkipIPs $MimecastIPs")
	assert.Contains(t, r.stdout, "-EFSkipLastIP $false")
	assert.NotContains(t, r.stdout, "Set-HostedConnectionFilterPolicy")

	r = cliRun("", "export", "--format", "m365", "--region", "us", "--m365-ip-allow-list")
	assert.Equal(t, ExitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "Set-HostedConnectionFilterPolicy -Identity Default -IPAllowList @{Add=$MimecastIPs}")

	r = cliRun("", "export", "--help")
	assert.Contains(t, r.stdout, "-m365-ip-allow-list")
	assert.Contains(t, r.stdout, "CIS Microsoft 365")
	assert.Contains(t, r.stdout, "CISA")
}

func TestExportPortsCLI(t *testing.T) {
	r := cliRun("", "export", "--format", "nftables", "--region", "us", "--port", "25,636")
	assert.Equal(t, ExitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "tcp dport { 25, 636 } ip saddr @mimecast_v4 accept")
	assert.Contains(t, r.stdout, "tcp dport { 25, 636 } counter reject with tcp reset")

	r = cliRun("", "export", "--format", "nftables", "--region", "us", "--service", "smtp,ldap,ldaps,pop3,pop3s")
	assert.Equal(t, ExitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "tcp dport { 25, 389, 636, 110, 995 } ip saddr @mimecast_v4 accept")

	r = cliRun("", "export", "--format", "iptables", "--region", "us", "--service", "LDAPS", "--port", "25")
	assert.Equal(t, ExitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "iptables -I INPUT -p tcp -m multiport --dports 25,636 -j MIMECAST-SMTP")

	r = cliRun("", "export", "--format", "firewalld", "--region", "us", "--service", "ldap")
	assert.Equal(t, ExitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, `port port="389" protocol="tcp" accept`)
	assert.NotContains(t, r.stdout, `port port="25"`)

	for _, bad := range [][]string{{"--port", "25,x"}, {"--port", "70000"}, {"--port", ""}, {"--service", "smtps"}, {"--port", "25,,636"}} {
		r = cliRun("", append([]string{"export", "--format", "nftables", "--region", "us"}, bad...)...)
		assert.Equal(t, ExitUsage, r.code, "%v", bad)
		assert.Contains(t, r.stderr, bad[0], "%v", bad)
	}
}

func TestExportNewFormatsCLI(t *testing.T) {
	for _, f := range []string{"spamassassin", "rspamd", "policyd-spf", "exim", "haproxy", "nginx", "firewalld"} {
		r := cliRun("", "export", "--format", f, "--region", "us")
		assert.Equal(t, ExitOK, r.code, "%s: %s", f, r.stderr)
		assert.Contains(t, r.stdout, "mimecastip export --format "+f+": dataset ", f)
		assert.Contains(t, r.stdout, "regions us", f)
		a := cliRun(r.stdout, "audit", "--region", "us")
		assert.Equal(t, ExitOK, a.code, "%s read back by audit:\n%s", f, a.stdout)
		assert.Contains(t, a.stdout, "result: OK", f)
	}
}

func TestAuditOutboundCLI(t *testing.T) {
	r := cliRun("170.10.129.5\n203.0.113.9\n10.1.2.3\n198.51.100.0/24\n", "audit", "--outbound")
	assert.Equal(t, ExitFinding, r.code, r.stdout+r.stderr)
	assert.Regexp(t, `line 3 +10\.1\.2\.3 +ERROR +a private address`, r.stdout)
	assert.Regexp(t, `line 4 +198\.51\.100\.0/24 +ERROR +a network`, r.stdout)
	assert.Contains(t, r.stdout, "result: FAIL")
	// the README shows this run verbatim
	readme, err := os.ReadFile("../../../../README.md")
	require.NoError(t, err)
	cmd := "$ printf '170.10.129.5\\n203.0.113.9\\n10.1.2.3\\n198.51.100.0/24\\n' | mimecastip audit --outbound\n"
	i := strings.Index(string(readme), cmd)
	require.GreaterOrEqual(t, i, 0, "README example missing")
	block := string(readme)[i+len(cmd):]
	block = block[:strings.Index(block, "```")]
	assert.Equal(t, block, r.stdout)

	r = cliRun("8.8.4.4\n9.9.9.9 # second relay\n", "audit", "--outbound")
	assert.Equal(t, ExitOK, r.code, r.stdout+r.stderr)
	assert.Contains(t, r.stdout, "result: OK")

	r = cliRun("8.8.4.4\n8.8.4.4\n", "audit", "--outbound", "--json")
	assert.Equal(t, ExitFinding, r.code)
	assert.Contains(t, r.stdout, `"kind": "duplicate"`)
	assert.Contains(t, r.stdout, "already on line 1")

	r = cliRun("# none\n", "audit", "--outbound")
	assert.Equal(t, ExitUsage, r.code)
	assert.Contains(t, r.stderr, "no authorized outbound address")

	r = cliRun("", "audit", "--help")
	assert.Contains(t, r.stdout, "-outbound")
	assert.Contains(t, r.stdout, "networks cannot be added")
}

func TestRegionsOutboundCLI(t *testing.T) {
	r := cliRun("", "regions", "--region", "eu")
	assert.Equal(t, ExitOK, r.code, r.stderr)
	assert.Regexp(t, `eu +relay +eu-smtp-outbound-1\.mimecast\.com +\[1\]`, r.stdout)
	assert.Contains(t, r.stdout, "[1] third-party")
	r = cliRun("", "regions", "--region", "za", "--json")
	assert.Equal(t, ExitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, `"host": "za-smtp-outbound-1.mimecast.co.za"`)
	assert.Contains(t, r.stdout, `"outbound": {`)
}
