package cli

import (
	"testing"

	"github.com/stretchr/testify/assert"
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
