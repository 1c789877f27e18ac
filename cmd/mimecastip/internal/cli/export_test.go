package cli

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestExportRefusesSpecialFiles: -o renamed a regular file over FIFOs,
// devices and sockets (as root, -o /dev/null replaced /dev/null). They
// are refused and stay what they are.
func TestExportRefusesSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	require.NoError(t, syscall.Mkfifo(fifo, 0o644))
	sock := filepath.Join(dir, "sock")
	l, err := net.Listen("unix", sock)
	require.NoError(t, err)
	defer l.Close()
	sub := filepath.Join(dir, "subdir")
	require.NoError(t, os.Mkdir(sub, 0o755))
	linkToFifo := filepath.Join(dir, "link-to-fifo")
	require.NoError(t, os.Symlink(fifo, linkToFifo))
	dangling := filepath.Join(dir, "dangling")
	require.NoError(t, os.Symlink(filepath.Join(dir, "nowhere"), dangling))

	targets := []string{fifo, sock, sub, linkToFifo, dangling}
	if os.Geteuid() == 0 {
		// A device node of our own, so the real /dev/null is never at risk.
		null := filepath.Join(dir, "null")
		require.NoError(t, syscall.Mknod(null, syscall.S_IFCHR|0o666, 1<<8|3))
		targets = append(targets, null)
	}
	modes := map[string]os.FileMode{}
	for _, p := range targets {
		st, err := os.Lstat(p)
		require.NoError(t, err)
		modes[p] = st.Mode()
	}
	for _, p := range targets {
		r := cliRun("", "export", "--format", "plain", "--region", "us", "-o", p)
		assert.Equal(t, ExitUsage, r.code, "%s: %s", p, r.stderr)
		assert.Contains(t, r.stderr, "refusing", p)
		assert.Equal(t, 1, strings.Count(r.stderr, "\n"), "one error, once: %s", r.stderr)
		st, err := os.Lstat(p)
		require.NoError(t, err)
		assert.Equal(t, modes[p], st.Mode(), "%s is still what it was", p)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		assert.False(t, strings.Contains(e.Name(), ".tmp"), "temporary file left: %s", e.Name())
	}
	if os.Geteuid() == 0 {
		r := cliRun("", "export", "--format", "plain", "--region", "us", "-o", os.DevNull)
		assert.Equal(t, ExitUsage, r.code)
		st, err := os.Lstat(os.DevNull)
		require.NoError(t, err)
		assert.NotZero(t, st.Mode()&os.ModeCharDevice, "/dev/null is still a device")
	}
}

// TestExportSymlink: through a symlink, the file it points to is replaced
// atomically and the link kept (as documented in --help).
func TestExportSymlink(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "real", "mimecast.cidr")
	require.NoError(t, os.MkdirAll(filepath.Dir(real), 0o755))
	require.NoError(t, os.WriteFile(real, []byte("old\n"), 0o640))
	link := filepath.Join(dir, "mimecast.cidr")
	require.NoError(t, os.Symlink(filepath.Join("real", "mimecast.cidr"), link))
	r := cliRun("", "export", "--format", "postfix", "--region", "us", "-o", link)
	require.Equal(t, ExitOK, r.code, r.stderr)
	st, err := os.Lstat(link)
	require.NoError(t, err)
	assert.NotZero(t, st.Mode()&os.ModeSymlink, "the link is kept")
	b, err := os.ReadFile(real)
	require.NoError(t, err)
	assert.Contains(t, string(b), "170.10.128.0/22          OK")
	st, err = os.Stat(real)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o640), st.Mode().Perm(), "mode kept")
	assert.Contains(t, string(b), "cidr:"+link, "the header's main.cf line names the -o path")
	es, _ := os.ReadDir(filepath.Dir(real))
	assert.Len(t, es, 1, "no temporary file left")

	r = cliRun("", "export", "--format", "plain", "--region", "us")
	assert.Equal(t, ExitOK, r.code)
	assert.Contains(t, cliRun("", "export", "--help").stdout, "through a symlink, the file it points to is replaced")
}

// TestExportOptionErrors: --spf-all takes only ~all, -all, ?all; --reject
// takes an access(5) action that refuses, as policy --reject does;
// --allow takes canonical CIDRs for the firewall formats.
func TestExportOptionErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--format", "spf", "--spf-all", "+all"}, "--spf-all"},
		{[]string{"--format", "spf", "--spf-all", "bogus"}, "--spf-all"},
		{[]string{"--format", "spf", "--spf-all", ""}, "--spf-all"},
		{[]string{"--format", "postfix", "--reject", "Not a Mimecast relay"}, "--reject"},
		{[]string{"--format", "postfix", "--reject", "OK"}, "does not keep the mail out"},
		{[]string{"--format", "postfix", "--reject", "DUNNO"}, "does not keep the mail out"},
		{[]string{"--format", "postfix", "--reject", "PREPEND X-Test: 1"}, "does not keep the mail out"},
		{[]string{"--format", "postfix", "--reject", "permit_mynetworks"}, "does not keep the mail out"},
		{[]string{"--format", "postfix", "--reject", "554"}, "needs a text"},
		{[]string{"--format", "postfix", "--reject", "REJECT {address} no"}, "placeholder"},
		{[]string{"--format", "postfix", "--reject", "REJECT a\nb"}, "control character"},
		{[]string{"--format", "plain", "--reject", "REJECT no"}, "postfix and postscreen only"},
		{[]string{"--format", "plain", "--allow", "192.0.2.0/24"}, "nftables, iptables and ip6tables only"},
		{[]string{"--format", "nftables", "--allow", "192.0.2.1/24"}, "write 192.0.2.0/24"},
		{[]string{"--format", "nftables", "--allow", "bogus"}, "--allow"},
		{[]string{"--format", "nftables", "--allow", "::ffff:192.0.2.1"}, "IPv4-mapped"},
		{[]string{"--format", "nftables", "--allow", ","}, "no CIDR"},
	} {
		r := cliRun("", append([]string{"export", "--region", "us"}, tc.args...)...)
		assert.Equal(t, ExitUsage, r.code, "%v", tc.args)
		assert.Contains(t, r.stderr, tc.want, "%v", tc.args)
		assert.Empty(t, r.stdout, "%v", tc.args)
		assert.Equal(t, 1, strings.Count(r.stderr, "\n"), "%v: one error, once: %s", tc.args, r.stderr)
	}
	for _, a := range []string{"~all", "-all", "?all"} {
		r := cliRun("", "export", "--region", "us", "--format", "spf", "--spf-all", a)
		assert.Equal(t, ExitOK, r.code, a)
		assert.Contains(t, r.stdout, a+"\"", a)
	}
	for _, a := range []string{"554 5.7.1 Not a Mimecast relay", "REJECT Not a Mimecast relay", "reject", "DEFER_IF_PERMIT 4.7.1 try later", "450 4.7.1 later", "HOLD", "DISCARD"} {
		r := cliRun("", "export", "--region", "us", "--format", "postfix", "--reject", a)
		assert.Equal(t, ExitOK, r.code, "%s: %s", a, r.stderr)
		assert.Contains(t, r.stdout, "0.0.0.0/0                "+a+"\n", a)
	}
	r := cliRun("", "export", "--region", "us", "--format", "nftables", "--allow", "192.0.2.0/24, 2001:db8::/32,198.51.100.7")
	assert.Equal(t, ExitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "tcp dport 25 ip saddr { 192.0.2.0/24, 198.51.100.7/32 } accept")
	assert.Contains(t, r.stdout, "tcp dport 25 ip6 saddr { 2001:db8::/32 } accept")
	assert.Contains(t, r.stdout, "tcp dport 25 ip saddr 127.0.0.0/8 accept")
	assert.Contains(t, r.stdout, "--allow 192.0.2.0/24,2001:db8::/32,198.51.100.7/32")
	r = cliRun("", "export", "--region", "us", "--format", "iptables", "--allow", "192.0.2.0/24,2001:db8::/32", "--allow-loopback=false")
	assert.Equal(t, ExitOK, r.code)
	assert.Contains(t, r.stdout, "-A MIMECAST-SMTP -s 192.0.2.0/24 -j ACCEPT")
	assert.NotContains(t, r.stdout, "127.0.0.0/8")
	assert.NotContains(t, r.stdout, "2001:db8")
	assert.Contains(t, r.stderr, "other family left out")
}
