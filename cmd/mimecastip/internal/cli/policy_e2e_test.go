package cli

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed-b311f21d/go-mimecastip/cmd/mimecastip/internal/postfixtest"
	"github.com/seed-b311f21d/go-mimecastip/mimecastip"
	"github.com/seed-b311f21d/go-mimecastip/regions"
)

// lockedBuffer is a bytes.Buffer safe for a server goroutine and a test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// runningService is a long-running subcommand ("mimecastip policy",
// "mimecastip milter") run in-process by cli.Main.
type runningService struct {
	sigs   chan string
	stderr *lockedBuffer
	status chan int
}

// runningPolicy is "mimecastip policy" run in-process by cli.Main.
type runningPolicy = runningService

// startPolicy runs Main("policy", args...) in a goroutine, waits until
// waitAddr ("tcp:HOST:PORT" or "unix:PATH") accepts connections, and stops
// it with TERM in t.Cleanup (asserting exit status 0).
func startPolicy(t *testing.T, waitAddr string, args ...string) *runningPolicy {
	t.Helper()
	network, addr, _ := strings.Cut(waitAddr, ":")
	return startService(t, append([]string{"policy"}, args...), network, addr)
}

// startService runs Main(args...) in a goroutine, waits until a server of
// this process listens on addr, and stops it with TERM in t.Cleanup
// (asserting exit status 0). A server that exits before it listens fails
// the test.
func startService(t *testing.T, args []string, network, addr string) *runningService {
	t.Helper()
	p := &runningService{sigs: make(chan string, 4), stderr: &lockedBuffer{}, status: make(chan int, 1)}
	env := &Env{Stdin: strings.NewReader(""), Stdout: &lockedBuffer{}, Stderr: p.stderr, Signals: p.sigs}
	go func() { p.status <- Main(args, env) }()
	// Generous for a loaded CI machine, but bounded.
	deadline := time.Now().Add(60 * time.Second)
	for {
		// A server that failed to start (e.g. its port was taken) stops
		// the test: its checks would run against somebody else.
		select {
		case st := <-p.status:
			t.Fatalf("%v exited with %d before listening:\n%s", args, st, p.stderr)
		default:
		}
		ready, err := listeningHere(network, addr)
		if ready {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%v not listening on %s:%s: %v\n%s", args, network, addr, err, p.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Cleanup(func() {
		p.sigs <- "TERM"
		select {
		case st := <-p.status:
			if st != ExitOK {
				t.Errorf("%v exited with %d:\n%s", args, st, p.stderr)
			}
		case <-time.After(40 * time.Second):
			t.Errorf("%v did not stop on TERM", args)
		}
		if t.Failed() {
			t.Logf("%v log:\n%s", args, p.stderr)
		}
	})
	return p
}

// freePort returns a free loopback port (for a server that binds it
// itself), reserved against the other test processes until t ends.
func freePort(t *testing.T) int { return postfixtest.FreePort(t) }

// listeningHere reports whether a server of this process listens on addr:
// for TCP, a socket of this process listening on the port (a connection
// that succeeds may reach another process's server on a reused port); for
// a unix socket, a connection that succeeds (policy.Listen refuses to take
// over a socket somebody answers on).
func listeningHere(network, addr string) (bool, error) {
	if network == "tcp" {
		_, port, err := net.SplitHostPort(addr)
		if err != nil {
			return false, err
		}
		n, err := strconv.Atoi(port)
		if err != nil {
			return false, err
		}
		ok, err := postfixtest.ListeningHere(n)
		if err == nil && !ok {
			err = fmt.Errorf("no socket of this process listens on %s", addr)
		}
		return ok, err
	}
	c, err := net.DialTimeout(network, addr, time.Second)
	if err != nil {
		return false, err
	}
	c.Close()
	return true, nil
}

// addrIn returns an address of a range published only for region r with
// service v, that the embedded dataset classifies by that very range.
func addrIn(t *testing.T, r regions.Region, v regions.Service) string {
	t.Helper()
	for _, rg := range regions.Embedded().Active() {
		if rg.Regions == regions.SetOf(r) && rg.Service == v && rg.Prefix.Addr().Is4() {
			a := rg.Prefix.Addr().Next()
			if mimecastip.Lookup(a).Prefix() == rg.Prefix {
				return a.String()
			}
		}
	}
	t.Fatalf("no %v range for %v", v, r)
	return ""
}

// postfixCIDR returns the Postfix cidr table of "mimecastip export
// --format postfix" for scope (every region when empty) and the command
// line that made it.
func postfixCIDR(t *testing.T, scope regions.Set) (string, string) {
	t.Helper()
	var out, errb lockedBuffer
	args := []string{"export", "--format", "postfix"}
	if !scope.IsEmpty() {
		args = append(args, "--region", scope.String())
	}
	st := Main(args, &Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb})
	if st != ExitOK || !strings.Contains(out.String(), " OK\n") {
		t.Fatalf("%s: exit %d, no OK rules:\n%s\n%s", strings.Join(args, " "), st, out.String(), errb.String())
	}
	return out.String(), strings.Join(args, " ")
}

// TestPolicyWithRealPostfix runs a sandboxed Postfix 3.x whose smtpd
// listeners consult "mimecastip policy" (TCP and unix socket, all regions,
// --region eu, --tag), a dead policy service, and a cidr table, and drives
// them with swaks and XCLIENT to act as Mimecast and foreign clients.
func TestPolicyWithRealPostfix(t *testing.T) {
	postfixtest.Require(t)

	// Policy servers.
	pAll, pEU, pTag, pUS, pStrict := freePort(t), freePort(t), freePort(t), freePort(t), freePort(t)
	sockDir, err := os.MkdirTemp("", "mimecastip-policy-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sockDir) })
	os.Chmod(sockDir, 0o755) // smtpd runs as user postfix
	sock := filepath.Join(sockDir, "policy.sock")
	all := startPolicy(t, fmt.Sprintf("tcp:127.0.0.1:%d", pAll),
		"--listen", fmt.Sprintf("127.0.0.1:%d", pAll), "--listen", "unix:"+sock, "--log-level", "debug")
	waitDial(t, "unix", sock)
	startPolicy(t, fmt.Sprintf("tcp:127.0.0.1:%d", pEU), "--listen", fmt.Sprintf("inet:127.0.0.1:%d", pEU), "--region", "eu")
	startPolicy(t, fmt.Sprintf("tcp:127.0.0.1:%d", pTag), "--listen", fmt.Sprintf("127.0.0.1:%d", pTag), "--tag", "--region", "us")
	us := startPolicy(t, fmt.Sprintf("tcp:127.0.0.1:%d", pUS), "--listen", fmt.Sprintf("127.0.0.1:%d", pUS), "--region", "us")
	startPolicy(t, fmt.Sprintf("tcp:127.0.0.1:%d", pStrict), "--listen", fmt.Sprintf("127.0.0.1:%d", pStrict), "--region", "eu", "--strict")
	dead := freePort(t) // nothing listens here

	cidr, cidrFrom := postfixCIDR(t, 0)
	t.Logf("cidr table: %s, %d lines", cidrFrom, strings.Count(cidr, "\n"))
	cidrEU, cidrEUFrom := postfixCIDR(t, regions.SetOf(regions.EU))
	t.Logf("EU cidr table: %s, %d lines", cidrEUFrom, strings.Count(cidrEU, "\n"))

	rcpt := func(policy string) []postfixtest.Option {
		return []postfixtest.Option{{Name: "smtpd_recipient_restrictions", Value: "reject_unauth_destination, " + policy}}
	}
	pf := postfixtest.Start(t, postfixtest.Config{
		Files: map[string]string{
			"mimecast.cidr":    cidr,
			"mimecast-eu.cidr": cidrEU,
			"hold.cidr":        "0.0.0.0/0 HOLD\n::/0 HOLD\n",
		},
		Main: "smtpd_policy_service_timeout = 20s\n",
		Listeners: []postfixtest.Listener{
			{Name: "policy", Options: rcpt(fmt.Sprintf("check_policy_service inet:127.0.0.1:%d", pAll))},
			{Name: "unix", Options: rcpt("check_policy_service unix:" + sock)},
			{Name: "eu", Options: rcpt(fmt.Sprintf("check_policy_service inet:127.0.0.1:%d", pEU))},
			{Name: "us", Options: rcpt(fmt.Sprintf("check_policy_service inet:127.0.0.1:%d", pUS))},
			{Name: "eu-strict", Options: rcpt(fmt.Sprintf("check_policy_service inet:127.0.0.1:%d", pStrict))},
			{Name: "dead", Options: rcpt(fmt.Sprintf("check_policy_service inet:127.0.0.1:%d", dead))},
			// The README's form: per-service timeout and default_action (Postfix
			// >= 3.0); a value with spaces needs its own braces.
			{Name: "dead2", Options: rcpt(fmt.Sprintf("check_policy_service { inet:127.0.0.1:%d, timeout=10s, { default_action = 451 4.3.5 Mimecast policy service unavailable } }", dead))},
			{Name: "cidr", Options: rcpt("check_client_access cidr:${config_directory}/mimecast.cidr, reject")},
			// Behind a load balancer: the client address comes from a PROXY header.
			{Name: "proxy", Options: append(rcpt(fmt.Sprintf("check_policy_service inet:127.0.0.1:%d", pAll)),
				postfixtest.Option{Name: "smtpd_upstream_proxy_protocol", Value: "haproxy"})},
			{Name: "cidr-eu", Options: rcpt("check_client_access cidr:${config_directory}/mimecast-eu.cidr, reject")},
			{Name: "tag", Options: append(rcpt("check_client_access cidr:${config_directory}/hold.cidr"),
				postfixtest.Option{Name: "smtpd_data_restrictions", Value: fmt.Sprintf("check_policy_service inet:127.0.0.1:%d", pTag)})},
		},
	})
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("maillog:\n%s", pf.Maillog())
		}
	})
	// Postfix must not have dropped a cidr rule (non-canonical prefix, bad pattern).
	defer func() {
		if log := pf.Maillog(); strings.Contains(log, "skipping this rule") {
			t.Errorf("Postfix skipped cidr rules of the table (%s):\n%s", cidrFrom, grepLines(log, "skipping"))
		}
	}()

	euGateway := addrIn(t, regions.EU, regions.Gateway)
	const (
		mimecastUS = "170.10.129.5"   // us gateway
		nonSPF     = "205.139.111.42" // us non-SPF relay
		foreign    = "198.51.100.9"
		foreign6   = "IPV6:2001:db8::5"
		mapped     = "IPV6:::ffff:170.10.129.5"
		zaGateway  = "41.74.201.132"  // za gateway 41.74.200.0/23
		retiredEU  = "213.167.75.200" // retired eu 213.167.75.0/24, in no active range
	)
	cases := []rcptCase{
		{"policy", mimecastUS, 2, ""},
		{"policy", nonSPF, 2, ""},
		{"policy", euGateway, 2, ""},
		{"policy", mapped, 2, ""},
		{"policy", foreign, 5, "554 5.7.1 <u@example.test>: Recipient address rejected: 198.51.100.9 is not a Mimecast gateway for this domain"},
		{"policy", foreign6, 5, "2001:db8::5 is not a Mimecast gateway for this domain"},
		{"policy", "IPV6:2001:db8:1::7", 5, "2001:db8:1::7 is not a Mimecast gateway"},
		{"unix", mimecastUS, 2, ""},
		{"unix", foreign, 5, "198.51.100.9 is not a Mimecast gateway"},
		{"unix", foreign6, 5, "2001:db8::5 is not a Mimecast gateway"},
		{"eu", euGateway, 2, ""},
		// A Mimecast gateway of another region: a temporary failure.
		{"eu", mimecastUS, 4, "450 4.7.1 <u@example.test>: Recipient address rejected: 170.10.129.5 is in Mimecast range 170.10.129.0/24 (us, other region)"},
		{"eu", foreign, 5, "198.51.100.9 is not a Mimecast gateway"},
		{"eu-strict", mimecastUS, 5, "554 5.7.1 <u@example.test>: Recipient address rejected: 170.10.129.5 is not a Mimecast gateway"},
		{"eu-strict", euGateway, 2, ""},
		// --region us: the US gateway passes, a ZA gateway waits, 8.8.8.8
		// (only an XCLIENT attribute here) is refused, a retired EU range waits.
		{"us", mimecastUS, 2, ""},
		{"us", zaGateway, 4, "450 4.7.1 <u@example.test>: Recipient address rejected: 41.74.201.132 is in Mimecast range 41.74.200.0/23 (za, other region)"},
		{"us", "8.8.8.8", 5, "554 5.7.1 <u@example.test>: Recipient address rejected: 8.8.8.8 is not a Mimecast gateway"},
		{"us", retiredEU, 4, "450 4.7.1 <u@example.test>: Recipient address rejected: 213.167.75.200 is in Mimecast range 213.167.75.0/24 (eu, retired)"},
		{"dead", mimecastUS, 4, "4.3.5"},
		{"dead", foreign, 4, "4.3.5"},
		{"dead2", mimecastUS, 4, "451 4.3.5 <u@example.test>: Recipient address rejected: Mimecast policy service unavailable"},
		{"cidr", mimecastUS, 2, ""},
		{"cidr", nonSPF, 2, ""},
		{"cidr", euGateway, 2, ""},
		{"cidr", mapped, 2, ""},
		{"cidr", foreign, 5, "5.7.1 <u@example.test>: Recipient address rejected: Access denied"},
		{"cidr-eu", euGateway, 2, ""},
		{"cidr-eu", mimecastUS, 5, "Access denied"},
		{"cidr-eu", foreign, 5, "Access denied"},
		{"cidr", foreign6, 5, "5.7.1 <u@example.test>: Recipient address rejected: Access denied"},
	}
	t.Run("rcpt", func(t *testing.T) {
		t.Run("cases", func(t *testing.T) { rcptCases(t, pf, cases) })
		// The policy service logged its decisions with the client address
		// Postfix saw through XCLIENT.
		for _, want := range []string{"client_address=170.10.129.5 class=mimecast verdict=pass", "client_address=2001:db8::5 class=foreign verdict=reject"} {
			if !strings.Contains(all.stderr.String(), want) {
				t.Errorf("policy log lacks %q", want)
			}
		}
		// The deferred ZA gateway is a warning with its address, regions and prefix.
		if want := `level=WARN msg="Mimecast address not passed: other region" client_address=41.74.201.132 regions=za prefix=41.74.200.0/23`; !strings.Contains(us.stderr.String(), want) {
			t.Errorf("--region us log lacks %q:\n%s", want, us.stderr)
		}
	})

	// PROXY protocol v1 and v2 (Postfix >= 3.5) in front of smtpd: the
	// policy service sees the proxied client.
	t.Run("proxy", func(t *testing.T) {
		for _, c := range []struct {
			version, family, src, dst string
			want                      int
		}{
			{"1", "TCP4", mimecastUS, "127.0.0.1", 250},
			{"2", "AF_INET", mimecastUS, "127.0.0.1", 250},
			{"1", "TCP4", foreign, "127.0.0.1", 554},
			{"2", "AF_INET6", "2001:db8::5", "::1", 554},
			{"1", "TCP6", "::ffff:170.10.129.5", "::1", 250},
		} {
			s := pf.Swaks("proxy", postfixtest.SwaksOptions{Extra: []string{"--proxy-version", c.version,
				"--proxy-family", c.family, "--proxy-source", c.src, "--proxy-source-port", "40000",
				"--proxy-dest", c.dst, "--proxy-dest-port", "25"}})
			if s.Rcpt.Code != c.want {
				t.Errorf("PROXY v%s %s %s: RCPT %d %q, want %d\n%s", c.version, c.family, c.src, s.Rcpt.Code, s.Rcpt.Text, c.want, s.Transcript)
			}
		}
	})

	// Tag-only mode: the policy runs in smtpd_data_restrictions (once per
	// message) and PREPENDs the class; the message is held to read it.
	t.Run("tag", func(t *testing.T) {
		want := map[string]string{
			mimecastUS: "X-Mimecastip-Class: mimecast; tier=pass; regions=us; prefix=170.10.129.0/24",
			foreign:    "X-Mimecastip-Class: foreign; tier=reject",
			foreign6:   "X-Mimecastip-Class: foreign; tier=reject",
			zaGateway:  "X-Mimecastip-Class: mimecast; tier=defer; reason=other-region; regions=za; prefix=41.74.200.0/23",
		}
		for _, client := range []string{mimecastUS, foreign, foreign6, zaGateway} {
			before := map[string]bool{}
			for _, id := range pf.Held() {
				before[id] = true
			}
			// The sender forges the header; ours must come first.
			s := pf.Swaks("tag", postfixtest.SwaksOptions{XClientAddr: client, FullMessage: true,
				Extra: []string{"--add-header", "X-Mimecastip-Class: mimecast; tier=pass; forged"}})
			if s.Rcpt.Code != 250 || s.Data.Code != 250 {
				t.Fatalf("client %s: RCPT %d, end of DATA %d %q, want 250\n%s", client, s.Rcpt.Code, s.Data.Code, s.Data.Text, s.Transcript)
			}
			var id string
			for end := time.Now().Add(10 * time.Second); id == "" && time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
				for _, h := range pf.Held() {
					if !before[h] {
						id = h
					}
				}
			}
			if id == "" {
				t.Fatalf("client %s: no held message", client)
			}
			hdrs := pf.Headers(id)
			var first string
			for _, l := range strings.Split(hdrs, "\n") {
				if strings.HasPrefix(l, "X-Mimecastip-Class:") {
					first = l
					break
				}
			}
			if first != want[client] {
				t.Errorf("client %s: first X-Mimecastip-Class header %q, want %q:\n%s", client, first, want[client], hdrs)
			}
			if !strings.Contains(hdrs, "X-Mimecastip-Class: mimecast; tier=pass; forged") {
				t.Errorf("client %s: forged header not kept below ours (test premise):\n%s", client, hdrs)
			}
			if testing.Verbose() {
				t.Logf("held message %s headers:\n%s", id, hdrs)
			}
		}
	})

	// SIGHUP reloads the data; Postfix's open policy connections keep
	// working (smtpd keeps them up to smtpd_policy_service_max_idle).
	t.Run("reload", func(t *testing.T) {
		before := strings.Count(all.stderr.String(), "msg=reloaded")
		all.sigs <- "HUP"
		deadline := time.Now().Add(5 * time.Second)
		for strings.Count(all.stderr.String(), "msg=reloaded") == before {
			if time.Now().After(deadline) {
				t.Fatal("no reload logged")
			}
			time.Sleep(10 * time.Millisecond)
		}
		for client, want := range map[string]int{mimecastUS: 250, foreign: 554} {
			if s := pf.Swaks("policy", postfixtest.SwaksOptions{XClientAddr: client}); s.Rcpt.Code != want {
				t.Errorf("after reload, client %s: RCPT %d %q, want %d", client, s.Rcpt.Code, s.Rcpt.Text, want)
			}
		}
	})
}

func grepLines(s, sub string) string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		if strings.Contains(sc.Text(), sub) {
			out = append(out, sc.Text())
		}
	}
	return strings.Join(out, "\n")
}

func waitDial(t *testing.T, network, addr string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout(network, addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing listening on %s %s: %v", network, addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type rcptCase struct {
	listener, client string
	want             int    // RCPT reply class: 2, 4 or 5
	text             string // in the RCPT reply
}

// rcptCases runs swaks for each case in parallel and checks the RCPT reply.
func rcptCases(t *testing.T, pf *postfixtest.Instance, cases []rcptCase) {
	for _, c := range cases {
		t.Run(c.listener+"/"+c.client, func(t *testing.T) {
			t.Parallel()
			s := pf.Swaks(c.listener, postfixtest.SwaksOptions{XClientAddr: c.client})
			if s.XClient.Code != 220 {
				t.Fatalf("XCLIENT ADDR=%s: %d %q, want 220\n%s", c.client, s.XClient.Code, s.XClient.Text, s.Transcript)
			}
			if s.Rcpt.Code/100 != c.want || !strings.Contains(s.Rcpt.Text, c.text) {
				t.Errorf("listener %s, client %s: RCPT got %d %q, want %dxx containing %q\n%s",
					c.listener, c.client, s.Rcpt.Code, s.Rcpt.Text, c.want, c.text, s.Transcript)
			}
		})
	}
}
