package policy

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed-b311f21d/go-mimecastip/mimecastip"
	"github.com/seed-b311f21d/go-mimecastip/regions"
)

// Fixture addresses of the embedded dataset.
const (
	usGateway  = "170.10.129.5"   // 170.10.129.0/24 us gateway
	usNonSPF   = "205.139.111.42" // 205.139.111.40/29 us non-spf
	foreignV4  = "198.51.100.9"
	foreignV6  = "2001:db8::5"
	mappedUS   = "::ffff:170.10.129.5"
	rejectText = "REJECT 5.7.1 198.51.100.9 is not a Mimecast gateway for this domain"
	// retiredEU is in 213.167.75.0/24, an EU gateway range retired in 2017
	// (narrowed to 213.167.75.0/25), and in no active range.
	retiredEU = "213.167.75.200"
)

// postfixRequest is the request Postfix 3.7.11 sends (captured, see
// ecosystem.md section 1.2), with the client address replaced.
func postfixRequest(addr string) string {
	return "request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\n" +
		"client_address=" + addr + "\nclient_name=localhost\nclient_port=58252\n" +
		"reverse_client_name=localhost\nserver_address=127.0.0.1\nserver_port=2525\n" +
		"helo_name=vm\nsender=a@sender.test\nrecipient=u@example.test\nrecipient_count=0\n" +
		"queue_id=\ninstance=520a.6b028d5f.e0beb.0\nsize=0\netrn_domain=\nstress=\n" +
		"sasl_method=\nsasl_username=\nsasl_sender=\nccert_subject=\nccert_issuer=\n" +
		"ccert_fingerprint=\nccert_pubkey_fingerprint=\nencryption_protocol=\n" +
		"encryption_cipher=\nencryption_keysize=0\npolicy_context=\n\n"
}

// testLogger logs to t (debug level) so failures show the server's view.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// newTestServer starts a server on a loopback port. mod may change the
// config before New.
func newTestServer(t testing.TB, opt Options, mod func(*Config)) (*Server, string) {
	t.Helper()
	live, err := NewLive(Loader("", opt))
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Engine: live, Logger: testLogger(t)}
	if mod != nil {
		mod(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(l) }()
	t.Cleanup(func() {
		s.Close()
		if err := <-served; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve returned %v, want ErrServerClosed", err)
		}
	})
	return s, l.Addr().String()
}

// withoutPrefix returns rs without the row of prefix p (which must be there).
func withoutPrefix(t testing.TB, rs []regions.Range, p string) []regions.Range {
	t.Helper()
	var out []regions.Range
	for _, r := range rs {
		if r.Prefix.String() != p {
			out = append(out, r)
		}
	}
	if len(out) == len(rs) {
		t.Fatalf("%s not in the dataset", p)
	}
	return out
}

// mustLive returns a Live over the embedded dataset with opt.
func mustLive(t testing.TB, opt Options) *Live {
	t.Helper()
	l, err := NewLive(Loader("", opt))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

type client struct {
	t  testing.TB
	c  net.Conn
	br *bufio.Reader
}

func dial(t testing.TB, addr string) *client {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &client{t: t, c: c, br: bufio.NewReader(c)}
}

// ask sends a raw request and returns the action of the reply.
func (c *client) ask(raw string) string {
	c.t.Helper()
	c.c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c.c, raw); err != nil {
		c.t.Fatalf("write: %v", err)
	}
	a, err := readReply(c.br)
	if err != nil {
		c.t.Fatalf("reading reply: %v", err)
	}
	return a
}

// readReply reads "action=...\n\n" and returns what follows "action=".
func readReply(br *bufio.Reader) (string, error) {
	line, err := br.ReadString('\n')
	if err != nil {
		return "", err
	}
	blank, err := br.ReadString('\n')
	if err != nil {
		return "", err
	}
	if blank != "\n" || !strings.HasPrefix(line, "action=") {
		return "", errors.New("malformed reply " + `"` + line + blank + `"`)
	}
	return strings.TrimSuffix(line[len("action="):], "\n"), nil
}

// expectClosed asserts the server closes the connection without a reply.
func (c *client) expectClosed(within time.Duration) {
	c.t.Helper()
	c.c.SetReadDeadline(time.Now().Add(within))
	b, err := io.ReadAll(c.br)
	if err != nil && !isReset(err) {
		c.t.Fatalf("want the server to close the connection, got %v after %q", err, b)
	}
	if len(b) != 0 {
		c.t.Fatalf("want no reply, got %q", b)
	}
}

func isReset(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "connection reset") || strings.Contains(err.Error(), "broken pipe"))
}

func TestPostfixRequest(t *testing.T) {
	_, addr := newTestServer(t, Options{}, nil)
	c := dial(t, addr)
	cases := []struct{ addr, want string }{
		{usGateway, "DUNNO"},
		{usNonSPF, "DUNNO"},
		{foreignV4, rejectText},
		{foreignV6, "REJECT 5.7.1 2001:db8::5 is not a Mimecast gateway for this domain"},
		{mappedUS, "DUNNO"},
		{"::ffff:198.51.100.9", rejectText}, // unmapped in the text too
		{"170.10.156.20", "DUNNO"},          // us,usb
		{"185.58.84.93", "DUNNO"},           // us /32 inside EU space
		{"fe80::1%eth0", "REJECT 5.7.1 fe80::1 is not a Mimecast gateway for this domain"},
		{"[" + usGateway + "]", "DUNNO"},
		{"IPv6:" + foreignV6, "REJECT 5.7.1 2001:db8::5 is not a Mimecast gateway for this domain"},
	}
	// Many requests on one connection, in both orders.
	for round := 0; round < 3; round++ {
		for _, tc := range cases {
			if got := c.ask(postfixRequest(tc.addr)); got != tc.want {
				t.Errorf("client_address=%s: got %q, want %q", tc.addr, got, tc.want)
			}
		}
	}
}

func TestUnusableClientAddress(t *testing.T) {
	s, addr := newTestServer(t, Options{}, nil)
	c := dial(t, addr)
	const deferNoAddr = "DEFER_IF_PERMIT 4.7.1 Policy service cannot classify the client address"
	cases := []struct{ name, req, want string }{
		{"missing", "request=smtpd_access_policy\nprotocol_state=RCPT\n\n", deferNoAddr},
		{"empty", "request=smtpd_access_policy\nclient_address=\n\n", deferNoAddr},
		{"zero", "request=smtpd_access_policy\nclient_address=0\n\n", deferNoAddr},
		{"unknown", "request=smtpd_access_policy\nclient_address=unknown\n\n", deferNoAddr},
		{"hostname", "client_address=mx.example.test\n\n", deferNoAddr},
		{"leading zero", "client_address=170.010.129.5\n\n", deferNoAddr},
		{"with port", "client_address=170.10.129.5:25\n\n", deferNoAddr},
		{"twice", "client_address=170.10.129.5\nclient_address=198.51.100.9\n\n", deferNoAddr},
		{"twice same", "client_address=170.10.129.5\nclient_address=170.10.129.5\n\n", deferNoAddr},
		{"no attributes", "\n", deferNoAddr},
		{"other request type", "request=junk\nclient_address=170.10.129.5\n\n", "DEFER_IF_PERMIT 4.3.5 Policy service does not support this request type"},
		// No request attribute: hand-written requests are served.
		{"no request attribute", "client_address=170.10.129.5\n\n", "DUNNO"},
		{"unknown attributes", "x=1\nfoo_bar=\nclient_address=170.10.129.5\n=\n\n", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.want == "" {
				return
			}
			if got := c.ask(tc.req); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
	// The connection still serves.
	if got := c.ask(postfixRequest(usGateway)); got != "DUNNO" {
		t.Errorf("after unusable requests: got %q", got)
	}
	if st := s.Stats(); st.TempFail != 11 || st.Mimecast != 2 {
		t.Errorf("stats %+v: want 11 tempfail, 2 mimecast", st)
	}
}

func TestUnknownAttributesIgnored(t *testing.T) {
	_, addr := newTestServer(t, Options{}, nil)
	c := dial(t, addr)
	req := "future_attribute=something\nrequest=smtpd_access_policy\nclient_address=" + usGateway +
		"\nserver_hostname=x\ncompatibility_level=3.6\nmail_version=3.9.0\nweird=a=b=c\n\n"
	if got := c.ask(req); got != "DUNNO" {
		t.Errorf("got %q", got)
	}
	// CRLF line ends (nc, telnet).
	if got := c.ask("client_address=198.51.100.9\r\nfoo=bar\r\n\r\n"); got != rejectText {
		t.Errorf("CRLF: got %q", got)
	}
}

func TestScopeAndOtherRegion(t *testing.T) {
	eu := regions.SetOf(regions.EU)
	s, addr := newTestServer(t, Options{Regions: eu}, nil)
	c := dial(t, addr)
	// A US gateway is a Mimecast gateway of another region to an EU
	// account: a temporary failure that names it, not a pass.
	if got, want := c.ask(postfixRequest(usGateway)), "DEFER_IF_PERMIT 4.7.1 170.10.129.5 is in Mimecast range 170.10.129.0/24 (us, other region), not accepted for this domain; try again later"; got != want {
		t.Errorf("US gateway with --region eu: got %q, want %q", got, want)
	}
	euAddr := firstAddrOf(t, regions.EU, regions.Gateway)
	if got := c.ask(postfixRequest(euAddr)); got != "DUNNO" {
		t.Errorf("EU gateway %s with --region eu: got %q", euAddr, got)
	}
	if got := c.ask(postfixRequest(foreignV4)); got != rejectText {
		t.Errorf("foreign with --region eu: got %q", got)
	}
	if st := s.Stats(); st.OtherRegion != 1 || st.Deferred != 1 || st.Foreign != 2 || st.Mimecast != 1 {
		t.Errorf("stats %+v", st)
	}

	// --strict: other regions get the reject action.
	_, addr = newTestServer(t, Options{Regions: eu, Strict: true}, nil)
	if got, want := dial(t, addr).ask(postfixRequest(usGateway)), "REJECT 5.7.1 170.10.129.5 is not a Mimecast gateway for this domain"; got != want {
		t.Errorf("US gateway with --region eu --strict: got %q, want %q", got, want)
	}
}

// firstAddrOf returns an address inside a range published only for r with
// service v (not nested in another range).
func firstAddrOf(t testing.TB, r regions.Region, v regions.Service) string {
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

func TestTagMode(t *testing.T) {
	_, addr := newTestServer(t, Options{Regions: regions.SetOf(regions.US), Tag: true}, nil)
	c := dial(t, addr)
	euAddr := firstAddrOf(t, regions.EU, regions.Gateway)
	euPrefix := mimecastip.Lookup(netip.MustParseAddr(euAddr)).Prefix().String()
	cases := []struct{ addr, want string }{
		{usGateway, "PREPEND X-Mimecastip-Class: mimecast; tier=pass; regions=us; prefix=170.10.129.0/24"},
		{usNonSPF, "PREPEND X-Mimecastip-Class: non-spf; tier=pass; regions=us; prefix=205.139.111.40/29"},
		{foreignV4, "PREPEND X-Mimecastip-Class: foreign; tier=reject"},
		{foreignV6, "PREPEND X-Mimecastip-Class: foreign; tier=reject"},
		{euAddr, "PREPEND X-Mimecastip-Class: mimecast; tier=defer; reason=other-region; regions=eu; prefix=" + euPrefix},
		{retiredEU, "PREPEND X-Mimecastip-Class: mimecast; tier=defer; reason=retired; regions=eu; prefix=213.167.75.0/24"},
		{"", "DEFER_IF_PERMIT 4.7.1 Policy service cannot classify the client address"},
	}
	for _, tc := range cases {
		if got := c.ask(postfixRequest(tc.addr)); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.addr, got, tc.want)
		}
	}
	// The old header name stays available.
	_, addr = newTestServer(t, Options{Regions: regions.SetOf(regions.US), Tag: true, TagHeader: LegacyTagHeader}, nil)
	if got, want := dial(t, addr).ask(postfixRequest(usGateway)), "PREPEND X-Mimecast-Class: mimecast; tier=pass; regions=us; prefix=170.10.129.0/24"; got != want {
		t.Errorf("legacy header: got %q, want %q", got, want)
	}
	// --strict: the tag says reject for another region.
	_, addr = newTestServer(t, Options{Regions: regions.SetOf(regions.US), Tag: true, Strict: true}, nil)
	if got, want := dial(t, addr).ask(postfixRequest(euAddr)), "PREPEND X-Mimecastip-Class: mimecast; tier=reject; reason=other-region; regions=eu; prefix="+euPrefix; got != want {
		t.Errorf("strict tag: got %q, want %q", got, want)
	}
}

func TestCustomActions(t *testing.T) {
	_, addr := newTestServer(t, Options{
		PassAction:   "PREPEND X-Mimecast: {class} {regions}",
		RejectAction: "550 5.7.1 Use Mimecast, not {address} ({class}, {regions}) {address}{",
	}, nil)
	c := dial(t, addr)
	if got, want := c.ask(postfixRequest(usGateway)), "PREPEND X-Mimecast: mimecast us"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got, want := c.ask(postfixRequest(foreignV6)), "550 5.7.1 Use Mimecast, not 2001:db8::5 (foreign, none) 2001:db8::5{"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestValidateAction(t *testing.T) {
	good := []string{"DUNNO", "OK", "ok", "REJECT", "REJECT 5.7.1 no", "DEFER_IF_PERMIT 4.7.1 x", "450 4.7.1 later",
		"550 no", "HOLD", "PREPEND X-A: b", "reject", "permit_auth_destination", "WARN x"}
	bad := []string{"", "  ", "REJECT a\nb", "action=DUNNO", "Frobnicate", "600 x", "REJECT\tx\x00"}
	for _, a := range good {
		if err := ValidateAction(a); err != nil {
			t.Errorf("ValidateAction(%q) = %v", a, err)
		}
	}
	for _, a := range bad {
		if err := ValidateAction(a); err == nil {
			t.Errorf("ValidateAction(%q) = nil, want an error", a)
		}
	}
	if _, err := LoadEngine("", Options{RejectAction: "REJECT x\n\naction=OK"}); err == nil {
		t.Error("LoadEngine accepted an action with newlines")
	}
	if _, err := LoadEngine("", Options{OtherAction: "MAYBE later"}); err == nil {
		t.Error("LoadEngine accepted a bad other action")
	}
	if _, err := LoadEngine("", Options{TagHeader: "X Bad"}); err == nil {
		t.Error("LoadEngine accepted a bad header name")
	}
	if _, err := New(Config{}); err == nil {
		t.Error("New accepted a config without engine")
	}
}

func TestLimitsCloseOnlyThatConnection(t *testing.T) {
	s, addr := newTestServer(t, Options{}, func(c *Config) {
		c.MaxLineBytes = 1024
		c.MaxAttributes = 40
		c.MaxRequestBytes = 4096
	})
	good := dial(t, addr)
	if got := good.ask(postfixRequest(usGateway)); got != "DUNNO" {
		t.Fatalf("got %q", got)
	}
	cases := map[string]string{
		"long line":      "client_address=1.2.3.4\nsender=" + strings.Repeat("a", 2000) + "\n\n",
		"many attrs":     strings.Repeat("x=1\n", 41) + "client_address=1.2.3.4\n\n",
		"big request":    strings.Repeat("sender="+strings.Repeat("b", 900)+"\n", 6) + "\n",
		"not name=value": "client_address=1.2.3.4\nGARBAGE\n\n",
		"empty name":     "=x\n\n",
		"binary":         "\x00\x01\x02\xff\n\n",
		"http":           "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
	}
	for name, raw := range cases {
		t.Run(name, func(t *testing.T) {
			c := dial(t, addr)
			io.WriteString(c.c, raw)
			c.expectClosed(5 * time.Second)
		})
	}
	// The limits are inclusive: exactly 40 attributes and a 1024-byte line pass.
	c := dial(t, addr)
	line := "sender=" + strings.Repeat("s", 1024-len("sender=")-1) + "\n"
	if got := c.ask(line + strings.Repeat("x=1\n", 38) + "client_address=" + usGateway + "\n\n"); got != "DUNNO" {
		t.Errorf("at the limits: got %q", got)
	}
	if got := good.ask(postfixRequest(foreignV4)); got != rejectText {
		t.Errorf("good connection after the bad ones: got %q", got)
	}
	if st := s.Stats(); st.ProtocolErrors != uint64(len(cases)) {
		t.Errorf("ProtocolErrors = %d, want %d", st.ProtocolErrors, len(cases))
	}
}

func TestOneMegabyteLine(t *testing.T) {
	_, addr := newTestServer(t, Options{}, nil)
	c := dial(t, addr)
	go func() {
		// The server closes after the first 16 KiB; the write then fails.
		io.WriteString(c.c, "sender="+strings.Repeat("x", 1<<20)+"\n\n")
	}()
	c.expectClosed(5 * time.Second)
	if got := dial(t, addr).ask(postfixRequest(usGateway)); got != "DUNNO" {
		t.Errorf("got %q", got)
	}
}

func TestReadAndIdleTimeouts(t *testing.T) {
	s, addr := newTestServer(t, Options{}, func(c *Config) {
		c.ReadTimeout = 300 * time.Millisecond
		c.IdleTimeout = 600 * time.Millisecond
	})
	// A request that never completes: closed after the read timeout, even
	// though bytes keep trickling in.
	slow := dial(t, addr)
	start := time.Now()
	go func() {
		for i := 0; i < 20; i++ {
			if _, err := io.WriteString(slow.c, "x"); err != nil {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	slow.expectClosed(5 * time.Second)
	if d := time.Since(start); d < 250*time.Millisecond || d > 3*time.Second {
		t.Errorf("trickling connection closed after %v, want about 300ms", d)
	}
	// An idle connection: served, then closed after the idle timeout.
	idle := dial(t, addr)
	if got := idle.ask(postfixRequest(usGateway)); got != "DUNNO" {
		t.Fatalf("got %q", got)
	}
	start = time.Now()
	idle.expectClosed(5 * time.Second)
	if d := time.Since(start); d < 500*time.Millisecond || d > 3*time.Second {
		t.Errorf("idle connection closed after %v, want about 600ms", d)
	}
	if st := s.Stats(); st.Timeouts != 1 {
		t.Errorf("Timeouts = %d, want 1", st.Timeouts)
	}
}

func TestPanicIsTemporaryFailure(t *testing.T) {
	s, addr := newTestServer(t, Options{}, nil)
	s.testHookDecide = func(r *Request) {
		if r.ClientAddress == "192.0.2.66" {
			panic("boom")
		}
	}
	c := dial(t, addr)
	if got, want := c.ask(postfixRequest("192.0.2.66")), "DEFER_IF_PERMIT 4.3.0 Policy service internal error"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := c.ask(postfixRequest(usGateway)); got != "DUNNO" {
		t.Errorf("after a panic: got %q", got)
	}
	if st := s.Stats(); st.InternalErrors != 1 {
		t.Errorf("InternalErrors = %d", st.InternalErrors)
	}
}

func TestReload(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "ranges.txt")
	var buf bytes.Buffer
	d := regions.Embedded()
	if err := d.Format(&buf); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(data, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	live, err := NewLive(Loader(data, Options{}))
	if err != nil {
		t.Fatal(err)
	}
	s, addr := newTestServer(t, Options{}, func(c *Config) { c.Engine = live })
	c := dial(t, addr)
	if got := c.ask(postfixRequest(usGateway)); got != "DUNNO" {
		t.Fatalf("got %q", got)
	}
	// Drop 170.10.129.0/24 from the file and reload: the same connection
	// now gets a rejection.
	// (Through Dataset and Format, so the file stays valid whatever
	// integrity rule the format has.)
	writeData(t, data, func(d *regions.Dataset) { d.Ranges = withoutPrefix(t, d.Ranges, "170.10.129.0/24") })
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	if got := c.ask(postfixRequest(usGateway)); !strings.HasPrefix(got, "REJECT") {
		t.Errorf("after reload: got %q", got)
	}
	// A broken file: the reload fails and the data in use stays.
	os.WriteFile(data, []byte("garbage\n"), 0o644)
	if err := s.Reload(); err == nil {
		t.Error("Reload of a broken file succeeded")
	}
	if got := c.ask(postfixRequest("170.10.128.9")); got != "DUNNO" {
		t.Errorf("after failed reload: got %q", got)
	}
	if st := s.Stats(); st.Reloads != 1 || st.ReloadErrors != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestGracefulShutdown(t *testing.T) {
	s, addr := newTestServer(t, Options{}, nil)
	idle := dial(t, addr)
	if got := idle.ask(postfixRequest(usGateway)); got != "DUNNO" {
		t.Fatal(got)
	}
	busy := dial(t, addr)
	req := postfixRequest(foreignV4)
	io.WriteString(busy.c, req[:100]) // a request in flight
	time.Sleep(50 * time.Millisecond)

	done := make(chan error, 1)
	go func() { done <- s.Shutdown(context.Background()) }()
	// The idle connection is closed at once.
	idle.expectClosed(3 * time.Second)
	// No new connections.
	deadline := time.Now().Add(3 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("listener still accepting during shutdown")
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case err := <-done:
		t.Fatalf("Shutdown returned %v with a request in flight", err)
	case <-time.After(100 * time.Millisecond):
	}
	// The in-flight request completes and gets its answer; then the
	// connection closes and Shutdown returns.
	io.WriteString(busy.c, req[100:])
	a, err := readReply(busy.br)
	if err != nil || a != rejectText {
		t.Fatalf("in-flight request: %q, %v", a, err)
	}
	busy.expectClosed(3 * time.Second)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Shutdown did not return")
	}
}

func TestShutdownDeadline(t *testing.T) {
	s, addr := newTestServer(t, Options{}, nil)
	busy := dial(t, addr)
	io.WriteString(busy.c, "client_address=1.2.3.4\n") // never finished
	time.Sleep(50 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := s.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown = %v, want DeadlineExceeded", err)
	}
	busy.expectClosed(time.Second)
}

// TestMaxConns: at the limit, the longest-idle connection is closed for
// the new one; when no connection is idle or reading, the new one is
// closed.
func TestMaxConns(t *testing.T) {
	s, addr := newTestServer(t, Options{}, func(c *Config) { c.MaxConns = 2 })
	a := dial(t, addr)
	a.ask(postfixRequest(usGateway))
	time.Sleep(20 * time.Millisecond)
	b := dial(t, addr)
	b.ask(postfixRequest(usGateway))
	// a is the longest idle: the new connection is served and a closed.
	c := dial(t, addr)
	if got := c.ask(postfixRequest(usGateway)); got != "DUNNO" {
		t.Errorf("new connection at the limit: got %q", got)
	}
	a.expectClosed(3 * time.Second)
	if got := b.ask(postfixRequest(foreignV4)); got != rejectText {
		t.Errorf("b after the eviction: got %q", got)
	}
	if st := s.Stats(); st.ConnsEvicted != 1 || st.ConnsRefused != 0 {
		t.Errorf("stats %+v", st)
	}

	// Every connection busy deciding: the new one is closed.
	block := make(chan struct{})
	entered := make(chan struct{}, 2)
	s.testHookDecide = func(*Request) { entered <- struct{}{}; <-block }
	defer func() { s.testHookDecide = nil }()
	for _, x := range []*client{b, c} {
		io.WriteString(x.c, postfixRequest(usGateway))
	}
	<-entered
	<-entered
	dial(t, addr).expectClosed(3 * time.Second)
	if st := s.Stats(); st.ConnsRefused != 1 {
		t.Errorf("ConnsRefused = %d, want 1", st.ConnsRefused)
	}
	close(block)
	for _, x := range []*client{b, c} {
		if a, err := readReply(x.br); err != nil || a != "DUNNO" {
			t.Errorf("busy connection: %q, %v", a, err)
		}
	}
}

func TestParseListen(t *testing.T) {
	cases := []struct{ in, net, addr string }{
		{"127.0.0.1:10040", "tcp", "127.0.0.1:10040"},
		{"[::1]:10040", "tcp", "[::1]:10040"},
		{":10040", "tcp", ":10040"},
		{"inet:127.0.0.1:10040", "tcp", "127.0.0.1:10040"},
		{"tcp:localhost:1", "tcp", "localhost:1"},
		{"unix:/run/p.sock", "unix", "/run/p.sock"},
		{"unix:rel.sock", "unix", "rel.sock"},
		{"/var/spool/postfix/private/mimecastip", "unix", "/var/spool/postfix/private/mimecastip"},
		{"./p.sock", "unix", "./p.sock"},
	}
	for _, tc := range cases {
		n, a, err := ParseListen(tc.in)
		if err != nil || n != tc.net || a != tc.addr {
			t.Errorf("ParseListen(%q) = %q, %q, %v; want %q, %q", tc.in, n, a, err, tc.net, tc.addr)
		}
	}
	for _, bad := range []string{"", "unix:", "inet:", "10040", "localhost"} {
		if _, _, err := ParseListen(bad); err == nil {
			t.Errorf("ParseListen(%q) succeeded", bad)
		}
	}
}

func TestUnixSocket(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "policy.sock")
	// A stale socket (its server died without removing it).
	stale, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	stale.(*net.UnixListener).SetUnlinkOnClose(false)
	stale.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatal("stale socket not left behind:", err)
	}
	l, err := Listen("unix:"+path, 0o666)
	if err != nil {
		t.Fatalf("over a stale socket: %v", err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o666 {
		t.Errorf("socket mode: %v, %v", fi.Mode(), err)
	}
	// A live socket is not replaced.
	if _, err := Listen(path, 0); err == nil || !strings.Contains(err.Error(), "another server") {
		t.Errorf("over a live socket: %v", err)
	}
	// Nor a regular file.
	file := filepath.Join(dir, "file")
	os.WriteFile(file, nil, 0o644)
	if _, err := Listen("unix:"+file, 0); err == nil {
		t.Error("Listen replaced a regular file")
	}

	s, err := New(Config{Engine: mustLive(t, Options{}), Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(l) }()
	nc, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	c := &client{t: t, c: nc, br: bufio.NewReader(nc)}
	if got := c.ask(postfixRequest(foreignV4)); got != rejectText {
		t.Errorf("got %q", got)
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-served
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("socket left behind after shutdown: %v", err)
	}
}

func TestConcurrentClientsShareNothing(t *testing.T) {
	_, addr := newTestServer(t, Options{}, func(c *Config) { c.Logger = nil })
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			nc, err := net.Dial("tcp", addr)
			if err != nil {
				t.Error(err)
				return
			}
			defer nc.Close()
			br := bufio.NewReader(nc)
			for j := 0; j < 50; j++ {
				a, want := usGateway, "DUNNO"
				if (i+j)%2 == 1 {
					a, want = foreignV4, rejectText
				}
				io.WriteString(nc, postfixRequest(a))
				if got, err := readReply(br); got != want {
					t.Errorf("got %q (%v), want %q", got, err, want)
					return
				}
			}
		}(i)
	}
	wg.Wait()
}
