package cli

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/seed-b311f21d/go-mimecastip/regions"
)

func TestPolicyUsageErrors(t *testing.T) {
	cases := map[string][]string{
		"no listen":       {},
		"bad region":      {"--listen", "127.0.0.1:0", "--region", "mars"},
		"bad pass":        {"--listen", "127.0.0.1:0", "--pass", "MAYBE"},
		"newline reject":  {"--listen", "127.0.0.1:0", "--reject", "REJECT a\nb"},
		"bad log level":   {"--listen", "127.0.0.1:0", "--log-level", "loud"},
		"bad log format":  {"--listen", "127.0.0.1:0", "--log-format", "xml"},
		"bad listen":      {"--listen", "10040"},
		"bad data":        {"--listen", "127.0.0.1:0", "--data", "/nonexistent/ranges.txt"},
		"extra argument":  {"--listen", "127.0.0.1:0", "extra"},
		"bad socket mode": {"--listen", "127.0.0.1:0", "--socket-mode", "999"},
		"bad tag header":  {"--listen", "127.0.0.1:0", "--tag", "--tag-header", "X Y"},
	}
	for name, args := range cases {
		t.Run(name, func(t *testing.T) {
			var stderr bytes.Buffer
			env := &Env{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: &stderr, Signals: make(chan string)}
			if st := Main(append([]string{"policy"}, args...), env); st != ExitUsage {
				t.Errorf("exit %d, want %d; stderr:\n%s", st, ExitUsage, stderr.String())
			}
		})
	}
	// A listen address in use.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var stderr bytes.Buffer
	env := &Env{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: &stderr, Signals: make(chan string)}
	if st := Main([]string{"policy", "--listen", l.Addr().String()}, env); st != ExitUsage {
		t.Errorf("address in use: exit %d", st)
	}
}

func TestPolicyHelp(t *testing.T) {
	var stdout bytes.Buffer
	env := &Env{Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: io.Discard}
	if st := Main([]string{"policy", "--help"}, env); st != ExitOK {
		t.Fatalf("exit %d", st)
	}
	for _, want := range []string{"--listen", "unix:/PATH", "DEFER_IF_PERMIT", "SIGHUP", "reject_unauth_destination"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("help lacks %q", want)
		}
	}
}

func ask(t *testing.T, c net.Conn, br *bufio.Reader, addr string) string {
	t.Helper()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(c, "request=smtpd_access_policy\nprotocol_state=RCPT\nclient_address=%s\nfoo=bar\n\n", addr)
	line, err := br.ReadString('\n')
	if err != nil {
		t.Fatalf("reading reply: %v", err)
	}
	if blank, err := br.ReadString('\n'); blank != "\n" || err != nil {
		t.Fatalf("reply not ended by an empty line: %q %v", blank, err)
	}
	return strings.TrimPrefix(strings.TrimSuffix(line, "\n"), "action=")
}

// TestPolicyCommandLifecycle runs the subcommand on a unix socket with a
// data file: answers, SIGHUP reload of a changed file on an open
// connection, a failed reload keeping the data, TERM with the socket
// removed and exit 0.
func TestPolicyCommandLifecycle(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "ranges.txt")
	var full bytes.Buffer
	if err := regions.Embedded().Format(&full); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(data, full.Bytes(), 0o644)
	sock := filepath.Join(dir, "p.sock")
	p := startPolicy(t, "unix:"+sock, "--listen", sock, "--data", data, "--region", "us",
		"--reject", "550 5.7.1 {address} is {class}", "--log-format", "json", "--log-level", "debug")

	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	if got := ask(t, c, br, "170.10.129.5"); got != "DUNNO" {
		t.Errorf("got %q", got)
	}
	if got := ask(t, c, br, "2001:db8::5"); got != "550 5.7.1 2001:db8::5 is foreign" {
		t.Errorf("got %q", got)
	}
	if got := ask(t, c, br, ""); !strings.HasPrefix(got, "DEFER_IF_PERMIT 4.7.1") {
		t.Errorf("got %q", got)
	}

	// Remove 170.10.129.0/24, SIGHUP: the same connection sees the change.
	// (Through Dataset and Format, so the file stays valid whatever
	// integrity rule the format has.)
	d := regions.Embedded()
	var kept []regions.Range
	for _, r := range d.Ranges {
		if r.Prefix.String() != "170.10.129.0/24" {
			kept = append(kept, r)
		}
	}
	if len(kept) == len(d.Ranges) {
		t.Fatal("170.10.129.0/24 not in the dataset")
	}
	d.Ranges = kept
	var less bytes.Buffer
	if err := d.Format(&less); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(data, less.Bytes(), 0o644)
	p.sigs <- "HUP"
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(p.stderr.String(), `"msg":"reloaded"`) {
		if time.Now().After(deadline) {
			t.Fatalf("no reload logged:\n%s", p.stderr)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := ask(t, c, br, "170.10.129.5"); got != "550 5.7.1 170.10.129.5 is foreign" {
		t.Errorf("after reload: got %q", got)
	}
	// A broken file: the reload fails, the data stays.
	os.WriteFile(data, []byte("not a data file\n"), 0o644)
	p.sigs <- "HUP"
	for !strings.Contains(p.stderr.String(), "reload failed") {
		if time.Now().After(deadline) {
			t.Fatalf("no reload failure logged:\n%s", p.stderr)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := ask(t, c, br, "170.10.128.5"); got != "DUNNO" {
		t.Errorf("after failed reload: got %q", got)
	}
	if !strings.Contains(p.stderr.String(), `"msg":"decision"`) {
		t.Errorf("no JSON decision log:\n%s", p.stderr)
	}

	// TERM: the idle connection is closed, the command exits 0 (checked
	// by startPolicy's cleanup) and the socket is gone.
	p.sigs <- "TERM"
	select {
	case st := <-p.status:
		if st != ExitOK {
			t.Errorf("exit %d", st)
		}
		p.status <- st // for the cleanup
	case <-time.After(10 * time.Second):
		t.Fatal("no exit after TERM")
	}
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Errorf("socket left behind: %v", err)
	}
	if !strings.Contains(p.stderr.String(), "policy counts at shutdown") {
		t.Errorf("no counts at shutdown:\n%s", p.stderr)
	}
}

// TestPolicyBinarySignals builds the command and drives it with real
// signals (the os/signal path used when Env.Signals is nil): SIGHUP
// reloads, SIGTERM stops with exit 0 after answering a request in flight.
func TestPolicyBinarySignals(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "mimecastip")
	build := exec.Command("go", "build", "-o", bin, "github.com/seed-b311f21d/go-mimecastip/cmd/mimecastip")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	sock := filepath.Join(dir, "p.sock")
	var stderr lockedBuffer
	cmd := exec.Command(bin, "policy", "--listen", "unix:"+sock)
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	waitDial(t, "unix", sock)
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	if got := ask(t, c, br, "170.10.129.5"); got != "DUNNO" {
		t.Errorf("got %q", got)
	}
	cmd.Process.Signal(syscall.SIGHUP)
	waitLog(t, &stderr, "msg=reloaded")
	if got := ask(t, c, br, "198.51.100.9"); !strings.HasPrefix(got, "REJECT 5.7.1 198.51.100.9 ") {
		t.Errorf("after SIGHUP: got %q", got)
	}
	// Half a request in flight, then SIGTERM: it still gets its answer.
	io.WriteString(c, "request=smtpd_access_policy\nclient_address=170.10.129.5\n")
	time.Sleep(100 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGTERM)
	waitLog(t, &stderr, "stopping")
	io.WriteString(c, "protocol_state=RCPT\n\n")
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if line, err := br.ReadString('\n'); line != "action=DUNNO\n" {
		t.Errorf("in-flight request during shutdown: %q %v", line, err)
	}
	select {
	case <-exited:
		if waitErr != nil {
			t.Errorf("exit: %v\n%s", waitErr, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no exit after SIGTERM")
	}
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Errorf("socket left behind: %v", err)
	}
}

func waitLog(t *testing.T, b *lockedBuffer, sub string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(b.String(), sub) {
		if time.Now().After(deadline) {
			t.Fatalf("log lacks %q:\n%s", sub, b.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestPolicyCommandReloadUnderLoad sends HUP to the command again and
// again while 16 connections keep asking; every answer must be right and
// no connection may drop.
func TestPolicyCommandReloadUnderLoad(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "p.sock")
	p := startPolicy(t, "unix:"+sock, "--listen", "unix:"+sock, "--region", "us")
	stop := time.Now().Add(time.Second)
	errs := make(chan error, 16)
	counts := make(chan int, 16)
	for i := 0; i < 16; i++ {
		go func(i int) {
			n := 0
			defer func() { counts <- n }()
			c, err := net.Dial("unix", sock)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			br := bufio.NewReader(c)
			for time.Now().Before(stop) {
				addr, want := "170.10.129.5", "action=DUNNO\n"
				if (i+n)%2 == 1 {
					addr, want = "198.51.100.9", "action=REJECT 5.7.1 198.51.100.9 is not a Mimecast gateway for this domain\n"
				}
				c.SetDeadline(time.Now().Add(5 * time.Second))
				fmt.Fprintf(c, "request=smtpd_access_policy\nclient_address=%s\n\n", addr)
				line, err := br.ReadString('\n')
				if err == nil {
					_, err = br.ReadString('\n')
				}
				if err != nil || line != want {
					errs <- fmt.Errorf("connection %d request %d: %q %v", i, n, line, err)
					return
				}
				n++
			}
		}(i)
	}
	hups := 0
	for time.Now().Before(stop) {
		p.sigs <- "HUP"
		hups++
		time.Sleep(50 * time.Millisecond)
	}
	total := 0
	for i := 0; i < 16; i++ {
		total += <-counts
	}
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	waitLog(t, p.stderr, "msg=reloaded")
	t.Logf("%d requests on 16 connections, %d HUPs", total, hups)
	if total < 100 {
		t.Errorf("only %d requests", total)
	}
}
