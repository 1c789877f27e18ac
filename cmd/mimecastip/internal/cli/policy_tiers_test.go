package cli

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/seed-b311f21d/go-mimecastip/regions"
)

// policyAt starts "mimecastip policy" on a free loopback port with args.
func policyAt(t *testing.T, args ...string) (*runningPolicy, string) {
	t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	return startPolicy(t, "tcp:"+addr, append([]string{"--listen", addr}, args...)...), addr
}

func askAt(t *testing.T, addr, client string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return ask(t, c, bufio.NewReader(c), client)
}

// TestPolicyRegionTiers: with --region us, a US gateway passes, a ZA
// gateway gets a 4xx temporary failure logged as a warning with its
// address, regions and prefix, and 8.8.8.8 gets a 5xx.
func TestPolicyRegionTiers(t *testing.T) {
	p, addr := policyAt(t, "--region", "us")
	if got := askAt(t, addr, "170.10.129.5"); got != "DUNNO" {
		t.Errorf("US gateway: %q", got)
	}
	if got := askAt(t, addr, "41.74.201.132"); !strings.HasPrefix(got, "DEFER_IF_PERMIT 4.7.1 41.74.201.132 ") {
		t.Errorf("ZA gateway: %q, want DEFER_IF_PERMIT 4.7.1", got)
	}
	if got := askAt(t, addr, "8.8.8.8"); !strings.HasPrefix(got, "REJECT 5.7.1 8.8.8.8 ") {
		t.Errorf("8.8.8.8: %q, want REJECT 5.7.1", got)
	}
	waitLog(t, p.stderr, `level=WARN msg="Mimecast address not passed: other region" client_address=41.74.201.132 regions=za prefix=41.74.200.0/23`)
	if strings.Contains(p.stderr.String(), "warning: no --region") {
		t.Error("warning about no --region although --region was given")
	}

	// --strict and --other.
	_, addr = policyAt(t, "--region", "us", "--strict")
	if got := askAt(t, addr, "41.74.201.132"); !strings.HasPrefix(got, "REJECT 5.7.1 41.74.201.132 ") {
		t.Errorf("--strict ZA gateway: %q, want REJECT", got)
	}
	_, addr = policyAt(t, "--region", "us", "--other", "450 4.7.1 wait: {address} {regions} {prefix} {reason}")
	if got, want := askAt(t, addr, "41.74.201.132"), "450 4.7.1 wait: 41.74.201.132 za 41.74.200.0/23 other region"; got != want {
		t.Errorf("--other: %q, want %q", got, want)
	}
}

// TestPolicyNoRegionWarns: without --region every region passes, with a
// warning on stderr at start.
func TestPolicyNoRegionWarns(t *testing.T) {
	p, addr := policyAt(t)
	if got := askAt(t, addr, "41.74.201.132"); got != "DUNNO" {
		t.Errorf("ZA gateway without --region: %q", got)
	}
	if !strings.Contains(p.stderr.String(), "warning: no --region: Mimecast gateways of every region pass") {
		t.Errorf("no warning:\n%s", p.stderr)
	}
}

// TestPolicyDataRegionEU: --data F --region eu does not pass a US gateway
// (a temporary failure; a reject with --strict) and passes an EU one.
func TestPolicyDataRegionEU(t *testing.T) {
	data := filepath.Join(t.TempDir(), "ranges.txt")
	var buf bytes.Buffer
	if err := regions.Embedded().Format(&buf); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(data, buf.Bytes(), 0o644)
	_, addr := policyAt(t, "--data", data, "--region", "eu")
	if got := askAt(t, addr, "170.10.129.5"); !strings.HasPrefix(got, "DEFER_IF_PERMIT 4.7.1 170.10.129.5 is in Mimecast range 170.10.129.0/24 (us, other region)") {
		t.Errorf("US gateway with --data F --region eu: %q", got)
	}
	if got := askAt(t, addr, addrIn(t, regions.EU, regions.Gateway)); got != "DUNNO" {
		t.Errorf("EU gateway: %q", got)
	}
	_, addr = policyAt(t, "--data", data, "--region", "eu", "--strict")
	if got := askAt(t, addr, "170.10.129.5"); !strings.HasPrefix(got, "REJECT 5.7.1 170.10.129.5 ") {
		t.Errorf("US gateway with --data F --region eu --strict: %q", got)
	}
}

// TestPolicyIdleFlood: with --max-conns 20 and 20 idle connections open,
// a new client gets its answer within 5 s.
func TestPolicyIdleFlood(t *testing.T) {
	_, addr := policyAt(t, "--region", "us", "--max-conns", "20")
	for range 20 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	time.Sleep(200 * time.Millisecond)
	start := time.Now()
	if got := askAt(t, addr, "170.10.129.5"); got != "DUNNO" {
		t.Errorf("got %q", got)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("answer after %v", d)
	}
}

// TestPolicyAllowFrom: with --allow-from 127.0.0.1/32, a client from
// 127.0.0.2 gets no verdict; the refusal is logged.
func TestPolicyAllowFrom(t *testing.T) {
	p, addr := policyAt(t, "--region", "us", "--allow-from", "127.0.0.1/32")
	if got := askAt(t, addr, "170.10.129.5"); got != "DUNNO" {
		t.Errorf("from 127.0.0.1: %q", got)
	}
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}, Timeout: 2 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	io.WriteString(c, "request=smtpd_access_policy\nclient_address=170.10.129.5\n\n")
	b, err := io.ReadAll(c)
	if len(b) != 0 {
		t.Errorf("client from 127.0.0.2 got %q", b)
	}
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Errorf("connection from 127.0.0.2 left open: %v", err)
	}
	waitLog(t, p.stderr, `peer not in --allow-from; connection closed without an answer" remote=127.0.0.2`)
}

// TestPolicyStartErrors: a --region without a mail range, a FIFO, a
// directory or a device at --data, and bad --allow-from/--other values
// are usage errors, reported at once.
func TestPolicyStartErrors(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--region", "uspcom"}, "--region uspcom selects no Mimecast gateway or non-SPF relay range"},
		{[]string{"--region", "global"}, "--region global selects no Mimecast gateway"},
		{[]string{"--data", fifo, "--region", "us"}, "a FIFO (named pipe), not a regular file"},
		{[]string{"--data", dir, "--region", "us"}, "a directory, not a regular file"},
		{[]string{"--data", os.DevNull, "--region", "us"}, "a device, not a regular file"},
		{[]string{"--allow-from", "127.0.0.1/8"}, "host bits set"},
		{[]string{"--allow-from", "loopback"}, "not a CIDR prefix"},
		{[]string{"--allow-from", ""}, "no prefix given"},
		{[]string{"--allow-from", "::ffff:127.0.0.0/104"}, "IPv4 written in IPv6 form"},
		{[]string{"--other", "LATER please"}, "--other"},
	}
	for _, c := range cases {
		var stderr lockedBuffer
		env := &Env{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: &stderr, Signals: make(chan string)}
		done := make(chan int, 1)
		go func() { done <- Main(append([]string{"policy", "--listen", "127.0.0.1:0"}, c.args...), env) }()
		select {
		case st := <-done:
			if st != ExitUsage || !strings.Contains(stderr.String(), c.want) {
				t.Errorf("%v: exit %d, stderr %q; want %d and %q", c.args, st, stderr.String(), ExitUsage, c.want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%v: blocked", c.args)
		}
	}
}

// TestPolicyReloadFIFO: the data file replaced by a FIFO makes SIGHUP fail
// without blocking (the data in use stays) and TERM still stops the
// service.
func TestPolicyReloadFIFO(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "ranges.txt")
	var buf bytes.Buffer
	regions.Embedded().Format(&buf)
	os.WriteFile(data, buf.Bytes(), 0o644)
	p, addr := policyAt(t, "--data", data, "--region", "us")
	os.Remove(data)
	if err := syscall.Mkfifo(data, 0o644); err != nil {
		t.Fatal(err)
	}
	p.sigs <- "HUP"
	waitLog(t, p.stderr, "reload failed")
	if !strings.Contains(p.stderr.String(), "not a regular file") {
		t.Errorf("reload error does not say why:\n%s", p.stderr)
	}
	if got := askAt(t, addr, "170.10.129.5"); got != "DUNNO" {
		t.Errorf("after the failed reload: %q", got)
	}
	p.sigs <- "HUP"
	p.sigs <- "TERM"
	select {
	case st := <-p.status:
		if st != ExitOK {
			t.Errorf("exit %d", st)
		}
		p.status <- st
	case <-time.After(10 * time.Second):
		t.Fatal("TERM not served after a reload of a FIFO")
	}
}
