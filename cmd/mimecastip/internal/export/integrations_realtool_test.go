package export

import (
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b311f21d/go-mimecastip/cmd/mimecastip/internal/iprange"
	"github.com/seed-b311f21d/go-mimecastip/internal/testenv"
	"github.com/seed-b311f21d/go-mimecastip/regions"
)

// headerSnippet returns the lines of text's '#' header that are indented
// as lines to paste ("#   X" is "X"), in order.
func headerSnippet(t *testing.T, text string) []string {
	t.Helper()
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if !strings.HasPrefix(l, "#") {
			break
		}
		if strings.HasPrefix(l, "#   ") {
			out = append(out, l[len("#   "):])
		}
	}
	require.NotEmpty(t, out, "no snippet in the header")
	return out
}

// replaceAll replaces old by new in every line, requiring it to occur.
func replaceAll(t *testing.T, lines []string, old, new string) []string {
	t.Helper()
	n := 0
	out := make([]string, len(lines))
	for i, l := range lines {
		n += strings.Count(l, old)
		out[i] = strings.ReplaceAll(l, old, new)
	}
	require.NotZero(t, n, "%q not in the snippet", old)
	return out
}

// connProbes returns a few IPv4 addresses inside the ranges and a few
// just outside them (and 8.8.8.8), for the connection tests.
func connProbes(rs []regions.Range) (in, out []string) {
	all := rangesSet(rs)
	for _, rg := range all.Ranges() {
		if !rg.From.Is4() {
			continue
		}
		if len(in) < 3 {
			in = append(in, rg.From.Next().String(), rg.To.String())
		}
		if len(out) < 3 && rg.To.Next().IsValid() && !all.Contains(rg.To.Next()) {
			out = append(out, rg.To.Next().String())
		}
	}
	return in, append(out, "8.8.8.8")
}

func pairs(srcs []string, dst string) string {
	var b []string
	for _, s := range srcs {
		b = append(b, s+">"+dst)
	}
	return strings.Join(b, " ")
}

// expectDial checks the dial results of srcs to dst: want "banner" (the
// backend answered), "proxied" (it answered and its PROXY header named
// the source), or anything else for "not reached".
func expectDial(t *testing.T, res map[string]string, srcs []string, dst, want string, out string) {
	t.Helper()
	for _, s := range srcs {
		got, ok := res[s+">"+dst]
		require.True(t, ok, "no result for %s>%s:\n%s", s, dst, out)
		if want == "proxied" {
			assert.Equal(t, "banner", got, "%s>%s:\n%s", s, dst, out)
			assert.Equal(t, s, res[s+">"+dst+" from"], "%s>%s: the backend must see the client's address in the PROXY header", s, dst)
		} else if want == "banner" {
			assert.Equal(t, "banner", got, "%s>%s:\n%s", s, dst, out)
		} else {
			assert.NotEqual(t, "banner", got, "%s>%s reached the backend:\n%s", s, dst, out)
		}
	}
}

// copyPre copies SpamAssassin's plugin loaders (*.pre) of the installed
// site configuration into site, which replaces it in the tests.
func copyPre(t *testing.T, site string) {
	t.Helper()
	pre, err := filepath.Glob("/etc/spamassassin/*.pre")
	require.NoError(t, err)
	require.NotEmpty(t, pre, "no /etc/spamassassin/*.pre")
	for _, p := range pre {
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(site, filepath.Base(p)), b, 0o644))
	}
}

func TestSpamAssassinReal(t *testing.T) {
	testenv.RequireCommands(t, "spamassassin")
	text, rs := export(t, "spamassassin", mustSet("us"), Options{})
	in, _ := connProbes(rs)
	site := t.TempDir()
	copyPre(t, site)
	home := t.TempDir()
	sa := func(stdin string, args ...string) (string, string, int) {
		cmd := exec.Command("spamassassin", append([]string{"--siteconfigpath=" + site, "-x"}, args...)...)
		cmd.Env = append(os.Environ(), "HOME="+home)
		cmd.Stdin = strings.NewReader(stdin)
		var o, e strings.Builder
		cmd.Stdout, cmd.Stderr = &o, &e
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else {
			require.NoError(t, err)
		}
		return o.String(), e.String(), code
	}
	// --lint exits 0 on an illegal address and only warns: any output fails.
	require.NoError(t, os.WriteFile(filepath.Join(site, "zz-bad.cf"), []byte("trusted_networks 300.10.128.0/24\n"), 0o644))
	_, stderr, _ := sa("", "--lint")
	require.Contains(t, stderr, "warn", "a planted illegal address must warn, or the check below proves nothing")
	require.NoError(t, os.Remove(filepath.Join(site, "zz-bad.cf")))

	require.NoError(t, os.WriteFile(filepath.Join(site, "mimecast.cf"), []byte(text), 0o644))
	_, stderr, code := sa("", "--lint")
	assert.Equal(t, 0, code)
	assert.Empty(t, stderr, "spamassassin --lint warnings")

	// A message as Postfix receives it from a Mimecast gateway: the top
	// Received line is the boundary hop, the next is Mimecast's ingress
	// from the real sender.
	msg := "Received: from us-smtp-delivery-1.mimecast.com (us-smtp-delivery-1.mimecast.com [" + in[0] + "])\n" +
		"\tby mx.example.org (Postfix) with ESMTPS id 4ABCDEF\n\tfor <user@example.org>; Tue, 14 Feb 2023 22:35:50 +0000 (UTC)\n" +
		"Received: from mail-qv1-f71.google.com (mail-qv1-f71.google.com [209.85.219.71])\n" +
		"\tby relay.mimecast.com with ESMTP with STARTTLS (version=TLSv1.3, cipher=TLS_AES_128_GCM_SHA256)\n" +
		"\tid us-mta-73-_Go8Hx0vPgqwuLHD2HVQUg-1; Tue, 14 Feb 2023 17:35:48 -0500\n" +
		"From: sender@example.com\nTo: user@example.org\nSubject: test\nDate: Tue, 14 Feb 2023 17:35:47 -0500\n" +
		"Message-ID: <t14@example.com>\n\nhello\n"
	// test-only: show the relay lists as headers
	require.NoError(t, os.WriteFile(filepath.Join(site, "zz-show.cf"), []byte(
		"add_header all Relays-Trusted _RELAYSTRUSTED_\nadd_header all Relays-Untrusted _RELAYSUNTRUSTED_\n"), 0o644))
	untrusted := regexp.MustCompile(`(?m)^X-Spam-Relays-Untrusted: \[ ip=(\S+)`)
	trusted := regexp.MustCompile(`(?m)^X-Spam-Relays-Trusted: \[ ip=(\S+)`)
	out, stderr, _ := sa(msg, "-L", "-t")
	require.Empty(t, stderr)
	m := untrusted.FindStringSubmatch(out)
	require.NotNil(t, m, out)
	assert.Equal(t, "209.85.219.71", m[1], "the sender's hop must be the first untrusted one")
	m = trusted.FindStringSubmatch(out)
	require.NotNil(t, m, out)
	assert.Equal(t, in[0], m[1], "the Mimecast hop must be trusted")

	// Without the file SpamAssassin takes Mimecast's hop as the untrusted one.
	require.NoError(t, os.Remove(filepath.Join(site, "mimecast.cf")))
	out, _, _ = sa(msg, "-L", "-t")
	m = untrusted.FindStringSubmatch(out)
	require.NotNil(t, m, out)
	assert.Equal(t, in[0], m[1])
}

func TestRspamdReal(t *testing.T) {
	testenv.RequireCommands(t, "rspamadm", "rspamd", "rspamc")
	text, rs := export(t, "rspamd", mustSet("us"), Options{})
	in, out := connProbes(rs)
	dir := t.TempDir()
	for _, d := range []string{"local.d/maps.d", "db", "run", "log"} {
		require.NoError(t, os.MkdirAll(filepath.Join(dir, d), 0o755))
	}
	mapPath := filepath.Join(dir, "local.d/maps.d/mimecast.map")
	require.NoError(t, os.WriteFile(mapPath, []byte(text), 0o644))
	snip := replaceAll(t, headerSnippet(t, text), RspamdMapPath, mapPath)
	require.Len(t, snip, 1)
	write := func(name, content string) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, "local.d", name), []byte(content), 0o644))
	}
	write("spf.conf", snip[0]+"\n")
	// test-only settings: DNS to a closed loopback port, a loopback worker,
	// console logging with the SPF module's debug lines.
	write("options.inc", "dns { nameserver = [\"127.0.0.1:1\"]; timeout = 0.2s; retransmits = 0; }\n")
	write("worker-normal.inc", "bind_socket = \"127.0.0.1:11333\";\n")
	write("worker-controller.inc", "bind_socket = \"127.0.0.1:11334\";\n")
	write("worker-proxy.inc", "bind_socket = \"127.0.0.1:11332\";\n")
	write("logging.inc", "type = \"console\";\nlevel = \"info\";\ndebug_modules = [\"spf\"];\n")
	vars := "--var=LOCAL_CONFDIR=" + dir + " --var=DBDIR=" + dir + "/db --var=RUNDIR=" + dir + "/run --var=LOGDIR=" + dir + "/log"

	msg := func(hop string) string {
		return "Received: from us-smtp-delivery-1.mimecast.com (us-smtp-delivery-1.mimecast.com [" + hop + "])\n" +
			"\tby mx.example.org (Postfix) with ESMTPS id 4ABCDEF; Tue, 14 Feb 2023 22:35:50 +0000\n" +
			"Received: from mail-qv1-f71.google.com (mail-qv1-f71.google.com [209.85.219.71])\n" +
			"\tby relay.mimecast.com with ESMTP id us-mta-73-1; Tue, 14 Feb 2023 17:35:48 -0500\n" +
			"From: sender@example.com\nTo: user@example.org\nSubject: t\nMessage-ID: <t14-" + hop + "@example.com>\n\nhello\n"
	}
	inMsg := writeTemp(t, "in.eml", msg(in[0]))
	outMsg := writeTemp(t, "out.eml", msg(out[0]))
	script := "rspamadm " + vars + " configtest\n" +
		"rspamd -f -i -c /etc/rspamd/rspamd.conf " + vars + " > " + dir + "/rspamd.out 2>&1 &\npid=$!\n" +
		"ready=no; for i in $(seq 600); do printf 'Subject: ready\\n\\nx\\n' | rspamc -h 127.0.0.1:11333 symbols >/dev/null 2>&1 && { ready=yes; break; }; sleep 0.2; done\n" +
		"[ $ready = yes ] || { echo rspamd did not start; tail -30 " + dir + "/rspamd.out; kill $pid; exit 1; }\n" +
		"rspamc -h 127.0.0.1:11333 --ip " + in[0] + " --from sender@example.com symbols < " + inMsg + " >/dev/null\n" +
		"rspamc -h 127.0.0.1:11333 --ip " + out[0] + " --from sender@example.com symbols < " + outMsg + " >/dev/null\n" +
		"kill $pid; wait $pid || true\n"
	o, _ := netnsRun(t, nil, script)
	assert.Contains(t, o, "syntax OK")
	log, err := os.ReadFile(filepath.Join(dir, "rspamd.out"))
	require.NoError(t, err)
	found := regexp.MustCompile(`found external relay .* -> (\S+)`).FindAllStringSubmatch(string(log), -1)
	require.Len(t, found, 1, "exactly the message through Mimecast has an external relay:\n%s", log)
	assert.Equal(t, "209.85.219.71", found[0][1], "SPF must be checked for the hop before Mimecast")
	assert.Contains(t, string(log), "ip: "+out[0])
}

// eximBinary is where .ci/run unpacks exim4-daemon-light (exim4 conflicts
// with postfix, so it is not installed); MIMECASTIP_EXIM overrides it.
const eximBinary = "/opt/mimecastip-ci/exim4/usr/sbin/exim4"

func TestEximReal(t *testing.T) {
	exim := testenv.Executable(t, "exim4 (unpacked exim4-daemon-light)", os.Getenv("MIMECASTIP_EXIM"), eximBinary)
	text, rs := export(t, "exim", mustSet("us"), Options{})
	in, out := connProbes(rs)
	dir := t.TempDir()
	// exim drops to its own user for a -C configuration: it must read the files.
	for d := dir; d != filepath.Dir(d) && strings.HasPrefix(d, os.TempDir()+"/"); d = filepath.Dir(d) {
		require.NoError(t, os.Chmod(d, 0o755))
	}
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "spool"), 0o777))
	hosts := filepath.Join(dir, "mimecast.hosts")
	require.NoError(t, os.WriteFile(hosts, []byte(text), 0o644))
	snip := replaceAll(t, headerSnippet(t, text), EximHostsPath, hosts)
	i := slices.Index(snip, "acl_check_mimecast:")
	require.Positive(t, i, "no ACL in the snippet: %q", snip)
	conf := "primary_hostname = mx.example.org\nspool_directory = " + dir + "/spool\nlog_file_path = " + dir + "/%slog\n" +
		strings.Join(snip[:i], "\n") + "\n\nbegin acl\n\n" + strings.Join(snip[i:], "\n") + "\n"
	confPath := filepath.Join(dir, "exim.conf")
	require.NoError(t, os.WriteFile(confPath, []byte(conf), 0o644))
	bh := func(addr string) string {
		cmd := exec.Command(exim, "-C", confPath, "-bh", addr)
		cmd.Stdin = strings.NewReader("QUIT\r\n")
		o, _ := cmd.CombinedOutput()
		return string(o)
	}
	for _, a := range in {
		o := bh(a)
		assert.Regexp(t, `(?m)^220 mx\.example\.org ESMTP`, o, a)
		assert.NotContains(t, o, "not a Mimecast gateway", a)
	}
	for _, a := range out {
		o := bh(a)
		assert.Regexp(t, `(?m)^550 `+regexp.QuoteMeta(a)+` is not a Mimecast gateway`, o, a)
		assert.NotRegexp(t, `(?m)^220 `, o, a)
	}
	// local clients on the loopback are accepted by the first rule
	assert.Regexp(t, `(?m)^220 mx\.example\.org ESMTP`, bh("127.0.0.1"))
	assert.Regexp(t, `(?m)^220 mx\.example\.org ESMTP`, bh("::1"))
	// An unreadable list drops the connection unanswered (the sender
	// retries): it never accepts and never rejects for good.
	require.NoError(t, os.Remove(hosts))
	o := bh(in[0])
	assert.Contains(t, o, "failed to open "+hosts)
	assert.NotRegexp(t, `(?m)^[25]\d\d `, o)
}

func TestHAProxyReal(t *testing.T) {
	testenv.RequireCommands(t, "haproxy")
	text, rs := export(t, "haproxy", mustSet("us"), Options{})
	in, out := connProbes(rs)
	lst := writeTemp(t, "mimecast.lst", text)
	snip := replaceAll(t, headerSnippet(t, text), HAProxyPath, lst)
	cfg := writeTemp(t, "haproxy.cfg", "global\n    maxconn 100\n\ndefaults\n    timeout connect 5s\n    timeout client 30s\n    timeout server 30s\n\n"+
		strings.Join(snip, "\n")+"\n")
	o, e, code := run(t, "haproxy", "-c", "-f", cfg)
	require.Equal(t, 0, code, o+e)
	assert.NotContains(t, o+e, "WARNING", o+e)
	assert.Contains(t, o+e, "Configuration file is valid")

	script := "helper_bg serve-proxy 127.0.0.1:2525 &\nb=$!\nhaproxy -f " + cfg + " -db &\nh=$!\n" +
		"helper wait 127.0.0.1:2525\nhelper wait 127.0.0.1:25\n" +
		"helper dial \"" + pairs(in, "127.0.0.1:25") + " " + pairs(out, "127.0.0.1:25") + "\"\n" +
		"kill $h $b\n"
	res, dials := netnsRun(t, append(slices.Clone(in), out...), script)
	expectDial(t, dials, in, "127.0.0.1:25", "proxied", res)
	expectDial(t, dials, out, "127.0.0.1:25", "no", res)
}

func TestNginxReal(t *testing.T) {
	testenv.RequireCommands(t, "nginx")
	module := "/usr/lib/nginx/modules/ngx_stream_module.so"
	if _, err := os.Stat(module); err != nil {
		testenv.RequireCommands(t, "ngx_stream_module.so (apt-get install libnginx-mod-stream)")
	}
	text, rs := export(t, "nginx", mustSet("us"), Options{})
	in, out := connProbes(rs)
	dir := t.TempDir()
	inc := filepath.Join(dir, "mimecast-allow.conf")
	require.NoError(t, os.WriteFile(inc, []byte(text), 0o644))
	snip := replaceAll(t, headerSnippet(t, text), NginxPath, inc)
	conf := filepath.Join(dir, "nginx.conf")
	require.NoError(t, os.WriteFile(conf, []byte("load_module "+module+";\npid "+dir+"/nginx.pid;\nerror_log "+dir+"/error.log;\nevents {}\n"+
		strings.Join(snip, "\n")+"\n"), 0o644))
	o, e, code := run(t, "nginx", "-t", "-p", dir, "-e", dir+"/error.log", "-c", conf)
	require.Equal(t, 0, code, o+e)
	assert.Contains(t, o+e, "test is successful")
	assert.NotContains(t, o+e, "[warn]", o+e)

	script := "helper_bg serve-proxy 127.0.0.1:2525 &\nb=$!\nnginx -p " + dir + " -e " + dir + "/error.log -c " + conf + " -g 'daemon off;' &\nn=$!\n" +
		"helper wait 127.0.0.1:2525\nhelper wait 127.0.0.1:25\n" +
		"helper dial \"" + pairs(in, "127.0.0.1:25") + " " + pairs(out, "127.0.0.1:25") + "\"\n" +
		"kill $n $b\n"
	res, dials := netnsRun(t, append(slices.Clone(in), out...), script)
	expectDial(t, dials, in, "127.0.0.1:25", "proxied", res)
	expectDial(t, dials, out, "127.0.0.1:25", "no", res)
}

func TestPolicydSPFReal(t *testing.T) {
	testenv.RequireCommands(t, "policyd-spf")
	text, rs := export(t, "policyd-spf", mustSet("us"), Options{})
	in, out := connProbes(rs)
	var line string
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, "Whitelist = ") {
			line = l
		}
	}
	require.NotEmpty(t, line)
	conf := writeTemp(t, "policyd-spf.conf", "debugLevel = 0\nHELO_reject = Fail\nMail_From_reject = Fail\n"+line+"\n")
	req := func(addr string) string {
		return "request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\nclient_address=" + addr +
			"\nclient_name=unknown\nhelo_name=mail.example.com\nsender=alice@example.com\nrecipient=bob@example.org\ninstance=" + addr + "\n\n"
	}
	reqs := writeTemp(t, "requests", req(in[0])+req(out[0])+req(in[len(in)-1]))
	// No network namespace route: the foreign address's SPF lookup fails
	// at once instead of leaving the machine.
	o, _ := netnsRun(t, nil, "policyd-spf "+conf+" < "+reqs+"\n")
	var actions []string
	for _, l := range strings.Split(o, "\n") {
		if strings.HasPrefix(l, "action=") {
			actions = append(actions, l)
		}
	}
	require.Len(t, actions, 3, o)
	assert.Contains(t, actions[0], "SPF skipped for whitelisted relay - client-ip="+in[0]+";")
	assert.NotContains(t, actions[1], "whitelisted")
	assert.Contains(t, actions[1], "client-ip="+out[0]+";")
	assert.Contains(t, actions[2], "SPF skipped for whitelisted relay - client-ip="+in[len(in)-1]+";")
}

func TestFirewalldReal(t *testing.T) {
	testenv.RequireCommands(t, "firewall-offline-cmd")
	text, rs := export(t, "firewalld", mustSet("us"), Options{Ports: []int{25, 389, 636}})
	dir := t.TempDir()
	base, err := os.ReadFile("/etc/firewalld/firewalld.conf")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "firewalld.conf"), base, 0o644))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "ipsets"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "ipsets", "mimecast4.xml"), []byte(text), 0o644))
	fw := func(args string) string {
		o, e, code := run(t, "sh", "-c", "firewall-offline-cmd --system-config "+dir+" "+args)
		require.Equal(t, 0, code, "%s: %s%s", args, o, e)
		assert.Empty(t, e, "%s: warnings", args)
		return o
	}
	fw("--check-config")
	var got []netip.Prefix
	for _, l := range strings.Fields(fw("--ipset=mimecast4 --get-entries")) {
		got = append(got, netip.MustParsePrefix(l))
	}
	want, _ := split(Merge(rs))
	assert.Equal(t, want, got)
	assert.True(t, iprange.FromPrefixes(got...).Equal(rangesSet(rs)))

	var rules int
	fw("--zone=public --add-service=smtp") // as on a fresh server
	for _, l := range strings.Split(text, "\n") {
		l = strings.TrimSpace(l)
		if !strings.HasPrefix(l, "firewall-offline-cmd ") {
			continue
		}
		args := strings.TrimPrefix(l, "firewall-offline-cmd ")
		args = strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">").Replace(args)
		fw(args)
		if strings.Contains(args, "--add-rich-rule") {
			rules++
		}
	}
	assert.Equal(t, 3, rules)
	listed := fw("--zone=public --list-rich-rules")
	for _, p := range []string{"25", "389", "636"} {
		assert.Contains(t, listed, `rule family="ipv4" source ipset="mimecast4" port port="`+p+`" protocol="tcp" accept`)
	}
	assert.NotContains(t, fw("--zone=public --list-services"), "smtp")
	fw("--check-config")

	// a planted bad entry is reported (firewalld only warns and goes on)
	bad := strings.Replace(text, "<entry>170.10.128.0/22</entry>", "<entry>170.10.328.0/22</entry>", 1)
	require.NotEqual(t, text, bad)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "ipsets", "mimecast4.xml"), []byte(bad), 0o644))
	_, e, _ := run(t, "firewall-offline-cmd", "--system-config", dir, "--check-config")
	assert.Contains(t, e, "INVALID_ENTRY")
}

// TestNftablesPorts: --port 25,636 loads with nft -c and opens both ports
// to the ranges only, leaving other ports alone.
func TestNftablesPorts(t *testing.T) {
	testenv.RequireCommands(t, "nft")
	text, rs := export(t, "nftables", mustSet("us"), Options{Ports: []int{25, 636}, NoLoopback: true}) // the probes come in on lo
	assert.Contains(t, text, "tcp dport { 25, 636 } ip saddr @mimecast_v4 accept")
	in, out := connProbes(rs)
	file := writeTemp(t, "mimecast.nft", text)
	var dial []string
	for _, p := range []string{"25", "636", "2626"} {
		dial = append(dial, pairs(in, "127.0.0.1:"+p), pairs(out, "127.0.0.1:"+p))
	}
	script := "nft -c -f " + file + "\nnft -f " + file + "\n" +
		"helper_bg serve \"127.0.0.1:25 127.0.0.1:636 127.0.0.1:2626\" &\nb=$!\nhelper wait 127.0.0.1:2626\n" +
		"helper dial \"" + strings.Join(dial, " ") + "\"\nkill $b\n"
	res, dials := netnsRun(t, append(slices.Clone(in), out...), script)
	for _, p := range []string{"25", "636"} {
		expectDial(t, dials, in, "127.0.0.1:"+p, "banner", res)
		expectDial(t, dials, out, "127.0.0.1:"+p, "no", res)
	}
	expectDial(t, dials, append(slices.Clone(in), out...), "127.0.0.1:2626", "banner", res)
}

// TestIptablesPorts: the header's INPUT rule with --port 25,389 sends both
// ports through the chain.
func TestIptablesPorts(t *testing.T) {
	testenv.RequireCommands(t, "iptables-restore", "iptables")
	text, rs := export(t, "iptables", mustSet("us"), Options{Ports: []int{25, 389}, NoLoopback: true}) // the probes come in on lo
	jump := regexp.MustCompile(`(?m)^# Then send inbound SMTP through it once: (iptables -I INPUT .*)$`).FindStringSubmatch(text)
	require.NotNil(t, jump, text)
	assert.Contains(t, jump[1], "-m multiport --dports 25,389")
	in, out := connProbes(rs)
	file := writeTemp(t, "mimecast.rules", text)
	var dial []string
	for _, p := range []string{"25", "389", "2626"} {
		dial = append(dial, pairs(in, "127.0.0.1:"+p), pairs(out, "127.0.0.1:"+p))
	}
	script := "iptables-restore --noflush < " + file + "\n" + jump[1] + "\n" +
		"helper_bg serve \"127.0.0.1:25 127.0.0.1:389 127.0.0.1:2626\" &\nb=$!\nhelper wait 127.0.0.1:2626\n" +
		"helper dial \"" + strings.Join(dial, " ") + "\"\nkill $b\n"
	res, dials := netnsRun(t, append(slices.Clone(in), out...), script)
	for _, p := range []string{"25", "389"} {
		expectDial(t, dials, in, "127.0.0.1:"+p, "banner", res)
		expectDial(t, dials, out, "127.0.0.1:"+p, "no", res)
	}
	expectDial(t, dials, append(slices.Clone(in), out...), "127.0.0.1:2626", "banner", res)
}

// TestIntegrationsIPv6 feeds the synthetic dataset (both families) to the
// tools that take IPv6, for the day the data has IPv6 ranges.
func TestIntegrationsIPv6(t *testing.T) {
	testenv.RequireCommands(t, "spamassassin", "haproxy", "nginx", "policyd-spf")
	exim := testenv.Executable(t, "exim4 (unpacked exim4-daemon-light)", os.Getenv("MIMECASTIP_EXIM"), eximBinary)
	dir := t.TempDir()
	for d := dir; d != filepath.Dir(d) && strings.HasPrefix(d, os.TempDir()+"/"); d = filepath.Dir(d) {
		require.NoError(t, os.Chmod(d, 0o755))
	}
	save := func(name, text string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(text), 0o644))
		return p
	}
	const in6, out6 = "2a0b:4340:10::5", "2a0c::1"

	// SpamAssassin: lint without a warning
	site := filepath.Join(dir, "sa")
	require.NoError(t, os.Mkdir(site, 0o755))
	copyPre(t, site)
	save("sa/mimecast.cf", exportSynthetic(t, "spamassassin"))
	cmd := exec.Command("spamassassin", "--siteconfigpath="+site, "-x", "--lint")
	cmd.Env = append(os.Environ(), "HOME="+dir)
	o, err := cmd.CombinedOutput()
	assert.NoError(t, err, "%s", o)
	assert.Empty(t, string(o))

	// Exim: the IPv6 gateway accepted, another IPv6 address refused
	text := exportSynthetic(t, "exim")
	hosts := save("mimecast.hosts", text)
	snip := replaceAll(t, headerSnippet(t, text), EximHostsPath, hosts)
	i := slices.Index(snip, "acl_check_mimecast:")
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "spool"), 0o777))
	conf := save("exim.conf", "primary_hostname = mx.example.org\nspool_directory = "+dir+"/spool\nlog_file_path = "+dir+"/%slog\n"+
		strings.Join(snip[:i], "\n")+"\nbegin acl\n"+strings.Join(snip[i:], "\n")+"\n")
	bh := func(addr string) string {
		c := exec.Command(exim, "-C", conf, "-bh", addr)
		c.Stdin = strings.NewReader("QUIT\r\n")
		o, _ := c.CombinedOutput()
		return string(o)
	}
	assert.Regexp(t, `(?m)^220 `, bh(in6))
	assert.Regexp(t, `(?m)^550 `, bh(out6))

	// HAProxy and nginx accept the file
	text = exportSynthetic(t, "haproxy")
	lst := save("mimecast.lst", text)
	cfg := save("haproxy.cfg", "defaults\n    timeout connect 5s\n    timeout client 30s\n    timeout server 30s\n"+
		strings.Join(replaceAll(t, headerSnippet(t, text), HAProxyPath, lst), "\n")+"\n")
	ho, he, code := run(t, "haproxy", "-c", "-f", cfg)
	assert.Equal(t, 0, code, ho+he)
	assert.NotContains(t, ho+he, "WARNING")
	text = exportSynthetic(t, "nginx")
	inc := save("mimecast-allow.conf", text)
	nconf := save("nginx.conf", "load_module /usr/lib/nginx/modules/ngx_stream_module.so;\npid "+dir+"/nginx.pid;\nerror_log "+dir+"/error.log;\nevents {}\n"+
		strings.Join(replaceAll(t, headerSnippet(t, text), NginxPath, inc), "\n")+"\n")
	no, ne, code := run(t, "nginx", "-t", "-p", dir, "-e", dir+"/error.log", "-c", nconf)
	assert.Equal(t, 0, code, no+ne)
	assert.NotContains(t, no+ne, "[warn]")

	// policyd-spf: the IPv6 gateway is whitelisted
	var line string
	for _, l := range strings.Split(exportSynthetic(t, "policyd-spf"), "\n") {
		if strings.HasPrefix(l, "Whitelist = ") {
			line = l
		}
	}
	pconf := save("policyd-spf.conf", "debugLevel = 0\n"+line+"\n")
	reqs := save("requests", "request=smtpd_access_policy\nprotocol_state=RCPT\nclient_address="+in6+
		"\nhelo_name=mail.example.com\nsender=alice@example.com\nrecipient=bob@example.org\n\n")
	po, _ := netnsRun(t, nil, "policyd-spf "+pconf+" < "+reqs+"\n")
	assert.Contains(t, po, "SPF skipped for whitelisted relay - client-ip="+in6+";")
}
