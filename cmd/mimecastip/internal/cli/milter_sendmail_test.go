package cli

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/seed-b311f21d/go-mimecastip/internal/testenv"
)

// sendmailRootEnv names the directory holding the Debian packages
// sendmail-bin, sendmail-cf, m4 and the libraries sendmail needs,
// extracted with dpkg -x (sendmail conflicts with the postfix package, so
// .ci/run does not install it).
const sendmailRootEnv = "MIMECASTIP_SENDMAIL_ROOT"

// requireSendmail returns the extracted root, or skips (fails in CI).
func requireSendmail(t *testing.T) string {
	t.Helper()
	root := os.Getenv(sendmailRootEnv)
	if root == "" {
		if testenv.InCI() {
			t.Fatalf("CI=true but %s is not set (.ci/run extracts sendmail there)", sendmailRootEnv)
		}
		t.Skipf("%s is not set: extract sendmail-bin, sendmail-cf, m4, liblockfile1, libwrap0 with dpkg -x and point it there", sendmailRootEnv)
	}
	testenv.RequireRoot(t)
	testenv.RequireCommands(t, "unshare", "swaks", "hostname")
	for _, p := range []string{"usr/libexec/sendmail/sendmail", "usr/bin/m4", "usr/share/sendmail/cf/m4/cf.m4"} {
		if _, err := os.Stat(filepath.Join(root, p)); err != nil {
			t.Fatalf("%s=%s: %v", sendmailRootEnv, root, err)
		}
	}
	return root
}

// sendmailMilterLine is the README's Sendmail line with the port filled in.
func sendmailMilterLine(port int) string {
	return fmt.Sprintf("INPUT_MAIL_FILTER(`mimecastip', `S=inet:%d@127.0.0.1, F=T, T=S:10s;R:10s;E:5m')", port)
}

// startSendmail builds a sendmail.cf from a minimal .mc holding
// milterLine and runs "sendmail -bd" on 127.0.0.1:port in its own UTS
// namespace (sendmail sleeps a minute at start when the host name is not
// qualified), queueing mail without delivering it. It returns the queue
// directory.
func startSendmail(t *testing.T, root string, port int, milterLine string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "sendmailtest-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	queue := filepath.Join(dir, "queue")
	if err := os.Mkdir(queue, 0o700); err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{"aliases": "", "service.switch": "hosts\tfiles\naliases\tfiles\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mc := fmt.Sprintf("divert(-1)\ninclude(`%[1]s/usr/share/sendmail/cf/m4/cf.m4')\ndivert(0)dnl\n"+
		"OSTYPE(`linux')dnl\n"+
		"define(`confDOMAIN_NAME', `mx.example.test')dnl\n"+
		"define(`QUEUE_DIR', `%[2]s/queue')dnl\n"+
		"define(`confPID_FILE', `%[2]s/sendmail.pid')dnl\n"+
		"define(`ALIAS_FILE', `%[2]s/aliases')dnl\n"+
		"define(`STATUS_FILE', `%[2]s/statistics')dnl\n"+
		"define(`confSERVICE_SWITCH_FILE', `%[2]s/service.switch')dnl\n"+
		"define(`confDONT_PROBE_INTERFACES', `True')dnl\n"+
		"define(`confDELIVERY_MODE', `queue')dnl\n"+
		"FEATURE(`nocanonify')dnl\nFEATURE(`no_default_msa')dnl\nFEATURE(`accept_unresolvable_domains')dnl\n"+
		"DAEMON_OPTIONS(`Port=%[3]d, Addr=127.0.0.1, Name=MTA')dnl\n"+
		"%[4]s\ndnl\nMAILER(`local')dnl\nMAILER(`smtp')dnl\n", root, dir, port, milterLine)
	m4 := exec.Command(filepath.Join(root, "usr/bin/m4"))
	m4.Stdin = strings.NewReader(mc)
	out, err := m4.Output()
	if err != nil {
		t.Fatalf("m4: %v\n%s", err, mc)
	}
	cfPath := filepath.Join(dir, "sendmail.cf")
	if err := os.WriteFile(cfPath, out, 0o644); err != nil {
		t.Fatal(err)
	}
	// sendmail-bin installs the binary setgid; the dynamic loader then
	// ignores LD_LIBRARY_PATH, so run a copy without the bit.
	bin := filepath.Join(dir, "sendmail")
	b, err := os.ReadFile(filepath.Join(root, "usr/libexec/sendmail/sendmail"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "unshare", "--uts", "sh", "-c", `hostname mx.example.test && exec "$0" -C "$1" -bd -q0`, bin, cfPath)
	cmd.Env = append(os.Environ(), "LD_LIBRARY_PATH="+filepath.Join(root, "usr/lib/x86_64-linux-gnu")+":"+filepath.Join(root, "lib/x86_64-linux-gnu"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sendmail -bd: %v\n%s", err, out)
	}
	pidFile := filepath.Join(dir, "sendmail.pid")
	t.Cleanup(func() {
		b, err := os.ReadFile(pidFile)
		if err != nil {
			return
		}
		pid, _ := strconv.Atoi(strings.SplitN(string(b), "\n", 2)[0])
		if pid > 0 {
			syscall.Kill(pid, syscall.SIGTERM)
			for end := time.Now().Add(5 * time.Second); time.Now().Before(end) && syscall.Kill(pid, 0) == nil; {
				time.Sleep(50 * time.Millisecond)
			}
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sendmail not listening on %d: %v", port, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return queue
}

func swaksTo(t *testing.T, port int, extra ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	args := append([]string{"--server", "127.0.0.1", "--port", strconv.Itoa(port), "--from", "a@sender.test",
		"--to", "root@mx.example.test", "--helo", "client.example.net", "--timeout", "30", "--hide-informational"}, extra...)
	out, _ := exec.CommandContext(ctx, "swaks", args...).CombinedOutput()
	return string(out)
}

// TestMilterWithRealSendmail runs Sendmail 8.17 with the README's
// INPUT_MAIL_FILTER line: the milter's connect-time verdict reaches the
// client (swaks connects from 127.0.0.1, which is not Mimecast: 554), a
// dead milter with F=T gives 451, and in tag mode the queued message
// carries the milter's header instead of the sender's forged one.
func TestMilterWithRealSendmail(t *testing.T) {
	root := requireSendmail(t)
	pEnf, pTag, dead := freePort(t), freePort(t), freePort(t)
	enf := startMilter(t, pEnf, "--region", "us", "--log-level", "debug")
	startMilter(t, pTag, "--region", "us", "--tag")
	smEnf, smTag, smDead := freePort(t), freePort(t), freePort(t)
	startSendmail(t, root, smEnf, sendmailMilterLine(pEnf))
	tagQueue := startSendmail(t, root, smTag, sendmailMilterLine(pTag))
	startSendmail(t, root, smDead, sendmailMilterLine(dead))

	out := swaksTo(t, smEnf, "--quit-after", "RCPT")
	if code, _ := firstRefusal(out); code/100 != 5 {
		t.Errorf("enforce: first refusal %d, want 5xx\n%s", code, out)
	}
	if !strings.Contains(enf.stderr.String(), "client_address=127.0.0.1 host=localhost verdict=reject") {
		t.Errorf("the milter did not decide the Sendmail client:\n%s", enf.stderr)
	}

	out = swaksTo(t, smDead, "--quit-after", "RCPT")
	if code, text := firstRefusal(out); code != 451 || !strings.Contains(text, "4.3.2") {
		t.Errorf("dead milter: first refusal %d %q, want 451 4.3.2\n%s", code, text, out)
	}

	out = swaksTo(t, smTag, "--add-header", "X-Mimecastip-Trace: mimecast; forged by the sender")
	if code, text := firstRefusal(out); code != 0 {
		t.Fatalf("tag mode: refused %d %q\n%s", code, text, out)
	}
	var qf []byte
	for end := time.Now().Add(10 * time.Second); qf == nil && time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		files, _ := filepath.Glob(filepath.Join(tagQueue, "qf*"))
		if len(files) > 0 {
			qf, _ = os.ReadFile(files[0])
		}
	}
	if qf == nil {
		t.Fatal("tag mode: no queued message")
	}
	var ours []string
	for _, l := range strings.Split(string(qf), "\n") {
		if i := strings.Index(strings.ToLower(l), "x-mimecastip-trace:"); i >= 0 && strings.HasPrefix(l, "H") {
			ours = append(ours, l[i:])
		}
	}
	const want = "X-Mimecastip-Trace: undetermined; address=127.0.0.1; class=foreign; regions=; prefix=; decision=reject"
	if len(ours) != 1 || ours[0] != want {
		t.Errorf("tag mode: queued X-Mimecastip-Trace headers %q, want [%q]\n%s", ours, want, qf)
	}
}
