// Package postfixtest runs a throwaway Postfix instance for tests: its own
// config, queue and data directories under a temporary directory, smtpd
// listeners on free loopback ports, a maillog file, nothing delivered
// anywhere (local and default transports are discard:), XCLIENT allowed
// from loopback so tests can act as any client address with swaks.
//
// It follows the sandbox of ecosystem.md section 1.7 and guards against
// its pitfalls: it runs "postfix check" first, fails on "fatal:" in the
// maillog, waits until every listener answers 220, and stops the instance
// (abort as the fallback) in t.Cleanup. It needs root and the Debian
// packages postfix and swaks (libio-socket-inet6-perl for IPv6 swaks
// connections); without them the test is skipped, or fails under CI=true.
package postfixtest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/seed-b311f21d/go-mimecastip/internal/testenv"
)

// Option is one "-o name=value" of a master.cf service. A value with
// spaces or commas is written to main.cf as a parameter of its own and
// referenced, since master.cf -o values cannot hold spaces.
type Option struct{ Name, Value string }

// Listener is an smtpd service on 127.0.0.1.
type Listener struct {
	Name    string   // a label for tests; also names the generated main.cf parameters
	Port    int      // 0: a free port is chosen
	Options []Option // smtpd overrides, e.g. smtpd_recipient_restrictions
}

// Config describes an instance.
type Config struct {
	// Main is extra main.cf text, appended after the sandbox settings
	// (later settings win in main.cf).
	Main string
	// Listeners are the smtpd listeners; at least one.
	Listeners []Listener
	// Files are written to the config directory before start (name ->
	// content), e.g. cidr tables; Instance.Path gives their path.
	Files map[string]string
	// Master is extra master.cf text, appended after the sandbox's
	// services (e.g. "smtp unix - - n - - smtp" for outbound deliveries).
	Master string
}

// Instance is a running sandboxed Postfix.
type Instance struct {
	t         testing.TB
	Dir       string         // sandbox root
	ConfigDir string         // the -c directory
	Ports     map[string]int // listener name -> port
	proxied   map[string]bool
}

// Require skips (or fails in CI) unless the test can run Postfix.
func Require(t testing.TB) {
	t.Helper()
	testenv.RequireCommands(t, "postfix", "postconf", "swaks")
	testenv.RequireRoot(t)
	if _, err := user.Lookup("postfix"); err != nil {
		t.Fatalf("user postfix missing (is the postfix package installed?): %v", err)
	}
}

var paramName = regexp.MustCompile(`[^a-z0-9_]`)

// Start writes the sandbox, starts Postfix and waits for the listeners.
func Start(t testing.TB, cfg Config) *Instance {
	t.Helper()
	Require(t)
	if len(cfg.Listeners) == 0 {
		t.Fatal("postfixtest: no listeners")
	}
	// Not t.TempDir: its parents are mode 0700, and Postfix's daemons run
	// as user postfix and must reach the queue directory.
	dir, err := os.MkdirTemp("", "postfixtest-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	in := &Instance{t: t, Dir: dir, ConfigDir: filepath.Join(dir, "etc"), Ports: map[string]int{}, proxied: map[string]bool{}}
	pw, _ := user.Lookup("postfix")
	uid, _ := strconv.Atoi(pw.Uid)
	gid, _ := strconv.Atoi(pw.Gid)
	for _, d := range []string{"etc", "queue", "data"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// data_directory must belong to postfix, else master.lock fails.
	if err := os.Chown(filepath.Join(dir, "data"), uid, gid); err != nil {
		t.Fatal(err)
	}
	for name, content := range cfg.Files {
		if err := os.WriteFile(in.Path(name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// Stop in cleanup, registered before start so a half-started instance
	// is stopped too. Runs before the RemoveAll above (LIFO).
	t.Cleanup(in.stop)
	for attempt := 1; ; attempt++ {
		in.Ports, in.proxied = map[string]int{}, map[string]bool{}
		auto := map[int]bool{} // ports chosen here, not by the caller
		var err error
		var main, master strings.Builder
		fmt.Fprintf(&main, `compatibility_level = 3.6
queue_directory = %[1]s/queue
data_directory = %[1]s/data
meta_directory = /etc/postfix
maillog_file = %[1]s/maillog
maillog_file_prefixes = /var, /dev/stdout, %[1]s
myhostname = mx.example.test
mydomain = example.test
myorigin = example.test
mydestination = example.test
inet_interfaces = loopback-only
inet_protocols = all
mynetworks =
alias_maps =
alias_database =
local_recipient_maps =
local_transport = discard:
default_transport = discard:
relay_transport = discard:
smtpd_relay_restrictions = reject_unauth_destination
smtpd_authorized_xclient_hosts = 127.0.0.0/8, [::1]/128
smtputf8_enable = no
biff = no
smtpd_banner = $myhostname ESMTP postfixtest %[2]s
`, dir, in.id())
		for i, l := range cfg.Listeners {
			if l.Name == "" {
				l.Name = fmt.Sprintf("l%d", i)
			}
			if l.Port == 0 {
				l.Port = FreePort(t)
				auto[l.Port] = true
			}
			if _, dup := in.Ports[l.Name]; dup {
				t.Fatalf("postfixtest: listener name %q twice", l.Name)
			}
			in.Ports[l.Name] = l.Port
			for _, o := range l.Options {
				if o.Name == "smtpd_upstream_proxy_protocol" && o.Value != "" {
					in.proxied[l.Name] = true
				}
			}
			fmt.Fprintf(&master, "127.0.0.1:%d inet n - n - - smtpd\n", l.Port)
			fmt.Fprintf(&master, "  -o syslog_name=postfix/%s\n", paramName.ReplaceAllString(l.Name, "_"))
			for _, o := range l.Options {
				v := o.Value
				if strings.ContainsAny(v, " \t,{}=") {
					p := "postfixtest_" + paramName.ReplaceAllString(strings.ToLower(l.Name), "_") + "_" + o.Name
					fmt.Fprintf(&main, "%s = %s\n", p, v)
					v = "$" + p
				}
				fmt.Fprintf(&master, "  -o %s=%s\n", o.Name, v)
			}
		}
		master.WriteString(`pickup unix n - n 60 1 pickup
cleanup unix n - n - 0 cleanup
qmgr unix n - n 300 1 qmgr
rewrite unix - - n - - trivial-rewrite
bounce unix - - n - 0 bounce
defer unix - - n - 0 bounce
trace unix - - n - 0 bounce
verify unix - - n - 1 verify
flush unix n - n 1000? 0 flush
proxymap unix - - n - - proxymap
showq unix n - n - - showq
error unix - - n - - error
retry unix - - n - - error
discard unix - - n - - discard
anvil unix - - n - 1 anvil
scache unix - - n - 1 scache
postlog unix-dgram n - n - 1 postlogd
`)
		master.WriteString(cfg.Master)
		main.WriteString(cfg.Main)
		if err := os.WriteFile(in.Path("main.cf"), []byte(main.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(in.Path("master.cf"), []byte(master.String()), 0o644); err != nil {
			t.Fatal(err)
		}

		if testHookBeforeStart != nil {
			testHookBeforeStart(attempt, in.Ports)
		}
		if out, err := in.postfix("check"); err != nil {
			in.fail("postfix check: %v\n%s", err, out)
		}
		if out, err := in.postfix("start"); err != nil {
			// master exits at once when it cannot bind a port.
			if m := bindFatal.FindStringSubmatch(in.Maillog()); m != nil && attempt < 3 {
				if p, _ := strconv.Atoi(m[1]); auto[p] {
					in.t.Logf("postfixtest: attempt %d: %s; restarting with new ports", attempt, m[0])
					in.stop()
					os.Remove(filepath.Join(in.Dir, "maillog"))
					continue
				}
			}
			// postfix start prints early fatal errors only to a TTY
			// (pitfall 1); script(1) gives it one.
			tty, _ := exec.Command("script", "-qc", "postfix -c "+in.ConfigDir+" start", "/dev/null").CombinedOutput()
			in.fail("postfix start: %v\n%s\nwith a tty: %s", err, out, tty)
		}
		// Generous for a loaded CI machine, but bounded.
		deadline := time.Now().Add(90 * time.Second)
		for name, port := range in.Ports {
			if err = in.waitBanner(port, in.proxied[name], deadline); err != nil {
				var pt portTaken
				if errors.As(err, &pt) && auto[pt.port] && attempt < 3 {
					// Somebody outside the tests took a port between its
					// reservation and master's bind: new ports, new start.
					in.t.Logf("postfixtest: attempt %d: listener %s: %v; restarting with new ports", attempt, name, err)
					break
				}
				in.fail("listener %s (127.0.0.1:%d) not answering: %v\n%s%s", name, port, err, in.masterState(), dgramQueueHint())
			}
		}
		if err != nil {
			in.stop()
			os.Remove(filepath.Join(in.Dir, "maillog"))
			continue
		}
		if log := in.Maillog(); strings.Contains(log, "fatal:") {
			in.fail("fatal error in the maillog")
		}
		return in
	}
}

// id is the instance's name in its smtpd banner ("postfixtest-NNN", the
// sandbox directory's name), so that a greeting is known to come from this
// instance and not from another server on the same port.
func (in *Instance) id() string { return filepath.Base(in.Dir) }

// dgramQueueHint explains a start that hangs where the queue of a unix
// datagram socket is the kernel's default of 10 (no systemd, which sets
// 512): Postfix's processes then wait on the full postlog socket.
func dgramQueueHint() string {
	b, err := os.ReadFile("/proc/sys/net/unix/max_dgram_qlen")
	if n, _ := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && n < 512 {
		return fmt.Sprintf("\nnet.unix.max_dgram_qlen is %d: raise it (sysctl -w net.unix.max_dgram_qlen=512, as systemd does; .ci/run does it) so that the postlog socket does not fill", n)
	}
	return ""
}

// masterState describes the master process for a failure message.
func (in *Instance) masterState() string {
	pid := in.masterPID()
	if pid == 0 {
		return "master: no pid file (never started or already exited)"
	}
	if err := syscall.Kill(pid, 0); err != nil {
		return fmt.Sprintf("master: pid %d not running (%v)", pid, err)
	}
	st, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	out, _ := in.postfix("status")
	return fmt.Sprintf("master: pid %d running (%s); postfix status: %s", pid, bytes.TrimSpace(st), bytes.TrimSpace(out))
}

// Path returns the path of a file in the config directory.
func (in *Instance) Path(name string) string { return filepath.Join(in.ConfigDir, name) }

// Maillog returns the instance's log so far.
func (in *Instance) Maillog() string {
	b, _ := os.ReadFile(filepath.Join(in.Dir, "maillog"))
	return string(b)
}

func (in *Instance) fail(format string, args ...any) {
	in.t.Helper()
	in.t.Fatalf("postfixtest: "+format+"\n--- maillog ---\n%s", append(args, in.Maillog())...)
}

func (in *Instance) postfix(args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return exec.CommandContext(ctx, "postfix", append([]string{"-c", in.ConfigDir}, args...)...).CombinedOutput()
}

// stop stops the instance and waits for its master process to exit.
func (in *Instance) stop() {
	pid := in.masterPID()
	if pid == 0 || syscall.Kill(pid, 0) != nil {
		return // never started, or master exited (e.g. on a fatal bind)
	}
	if out, err := in.postfix("stop"); err != nil {
		in.t.Logf("postfixtest: postfix stop: %v %s; aborting", err, out)
		in.postfix("abort")
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if syscall.Kill(pid, 0) != nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	in.t.Logf("postfixtest: master %d still running; aborting", pid)
	in.postfix("abort")
	syscall.Kill(pid, syscall.SIGKILL)
}

func (in *Instance) masterPID() int {
	b, err := os.ReadFile(filepath.Join(in.Dir, "queue", "pid", "master.pid"))
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// testHookBeforeStart, when set by a test, runs before each start attempt.
var testHookBeforeStart func(attempt int, ports map[string]int)

// bindFatal is master's message when a listener's port is taken.
var bindFatal = regexp.MustCompile(`fatal: bind 127\.0\.0\.1 port (\d+): Address already in use`)

// portTaken is a listener port that another server holds.
type portTaken struct {
	port int
	msg  string
}

func (e portTaken) Error() string { return fmt.Sprintf("port %d taken: %s", e.port, e.msg) }

// waitBanner dials until the port answers with a 220 greeting. A fatal
// error in the maillog ends the wait at once: master then throttles the
// service for 60s (pitfall 2) and the port would only time out.
// A listener behind the PROXY protocol gets a header first.
func (in *Instance) waitBanner(port int, proxied bool, deadline time.Time) error {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	var last error
	for time.Now().Before(deadline) {
		if log := in.Maillog(); strings.Contains(log, "fatal:") {
			if m := bindFatal.FindStringSubmatch(log); m != nil {
				p, _ := strconv.Atoi(m[1])
				return portTaken{p, m[0]}
			}
			return errors.New("fatal error in the maillog")
		}
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			// smtpd is spawned on the first connection; under load that
			// takes a while.
			c.SetDeadline(time.Now().Add(10 * time.Second))
			if proxied {
				fmt.Fprintf(c, "PROXY TCP4 127.0.0.1 127.0.0.1 40000 %d\r\n", port)
			}
			line, err := bufio.NewReader(c).ReadString('\n')
			c.Write([]byte("QUIT\r\n"))
			c.Close()
			if err == nil && strings.HasPrefix(line, "220") {
				if !strings.Contains(line, " ESMTP postfixtest "+in.id()) {
					// Not this instance: another server holds the port.
					return portTaken{port, fmt.Sprintf("greeting %q is not this instance's (%s): another server is listening on the port", strings.TrimSpace(line), in.id())}
				}
				return nil
			}
			last = fmt.Errorf("greeting %q: %v", line, err)
		} else {
			last = err
		}
		time.Sleep(100 * time.Millisecond)
	}
	return last
}

// Reply is the server's answer to one SMTP command in a swaks session.
type Reply struct {
	Code int    // e.g. 250, 554; 0 when the session never got there
	Text string // the reply line(s), without swaks' markers
}

// Session is a swaks run.
type Session struct {
	Transcript string
	XClient    Reply // reply to XCLIENT
	Rcpt       Reply // reply to RCPT TO
	Data       Reply // reply to the end of DATA (only with a full message)
}

// SwaksOptions are the knobs of a test session.
type SwaksOptions struct {
	XClientAddr string // "170.10.129.5", "IPV6:2001:db8::5"; "" sends no XCLIENT
	From, To    string // defaults a@sender.test and u@example.test
	FullMessage bool   // send DATA too (default: quit after RCPT)
	Extra       []string
}

// Swaks runs swaks against the named listener and parses its replies.
func (in *Instance) Swaks(listener string, o SwaksOptions) Session {
	in.t.Helper()
	port, ok := in.Ports[listener]
	if !ok {
		in.t.Fatalf("postfixtest: no listener %q", listener)
	}
	if o.From == "" {
		o.From = "a@sender.test"
	}
	if o.To == "" {
		o.To = "u@example.test"
	}
	args := []string{"--server", "127.0.0.1", "--port", strconv.Itoa(port), "--from", o.From, "--to", o.To,
		"--helo", "client.example.net", "--timeout", "30", "--hide-informational"}
	if !o.FullMessage {
		args = append(args, "--quit-after", "RCPT")
	}
	if o.XClientAddr != "" {
		args = append(args, "--xclient-addr", o.XClientAddr, "--xclient-name", "[UNAVAILABLE]",
			"--xclient-reverse-name", "[UNAVAILABLE]")
	}
	args = append(args, o.Extra...)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "swaks", args...).CombinedOutput()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		in.t.Fatalf("postfixtest: swaks: %v\n%s", err, out)
	}
	return parseSwaks(string(out))
}

// parseSwaks finds the replies to XCLIENT, RCPT TO and the end of DATA in
// a swaks transcript (" -> CMD" lines from the client, " <-  " and
// " <** " lines from the server).
func parseSwaks(out string) Session {
	s := Session{Transcript: out}
	var cur *Reply
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "-> XCLIENT"):
			cur = &s.XClient
		case strings.HasPrefix(line, "-> RCPT TO"):
			cur = &s.Rcpt
		case line == "-> .":
			cur = &s.Data
		case strings.HasPrefix(line, "->"), strings.HasPrefix(line, "~>"):
			cur = nil
		case strings.HasPrefix(line, "<-"), strings.HasPrefix(line, "<**"), strings.HasPrefix(line, "<~"):
			if cur == nil {
				continue
			}
			text := strings.TrimSpace(strings.TrimLeft(line, "<-*~"))
			if cur.Code == 0 && len(text) >= 3 {
				cur.Code, _ = strconv.Atoi(text[:3])
			}
			if cur.Text != "" {
				cur.Text += "\n"
			}
			cur.Text += text
		}
	}
	return s
}

// Postconf returns "postconf -c DIR -h NAME" for the instance.
func (in *Instance) Postconf(name string) string {
	out, err := exec.Command("postconf", "-c", in.ConfigDir, "-h", name).Output()
	if err != nil {
		in.t.Fatalf("postconf %s: %v", name, err)
	}
	return string(bytes.TrimSpace(out))
}

// Held returns the queue IDs of the messages in the hold queue.
func (in *Instance) Held() []string {
	in.t.Helper()
	out, err := exec.Command("postqueue", "-c", in.ConfigDir, "-j").Output()
	if err != nil {
		in.t.Fatalf("postqueue -j: %v", err)
	}
	var ids []string
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var m struct {
			QueueName string `json:"queue_name"`
			QueueID   string `json:"queue_id"`
		}
		if err := dec.Decode(&m); err != nil {
			break
		}
		if m.QueueName == "hold" {
			ids = append(ids, m.QueueID)
		}
	}
	return ids
}

// Headers returns the headers of a queued message (postcat -h).
func (in *Instance) Headers(queueID string) string {
	in.t.Helper()
	out, err := exec.Command("postcat", "-c", in.ConfigDir, "-hq", queueID).CombinedOutput()
	if err != nil {
		in.t.Fatalf("postcat %s: %v\n%s", queueID, err, out)
	}
	return string(out)
}
