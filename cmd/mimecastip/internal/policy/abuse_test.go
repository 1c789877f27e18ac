package policy

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/seed-b311f21d/go-mimecastip/regions"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestIdleFlood: --max-conns idle connections (opened before, never asking)
// do not keep a good client out: it gets its answer at once, and the
// longest-idle connection is the one closed.
func TestIdleFlood(t *testing.T) {
	const max = 20
	s, addr := newTestServer(t, Options{Regions: regions.SetOf(regions.US)}, func(c *Config) {
		c.MaxConns = max
		c.Logger = nil
	})
	idle := make([]net.Conn, max)
	for i := range idle {
		c, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		t.Cleanup(func() { c.Close() })
		idle[i] = c
	}
	deadline := time.Now().Add(5 * time.Second)
	for s.Stats().ConnsOpen < max && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	require.EqualValues(t, max, s.Stats().ConnsOpen)
	for round := range 3 {
		start := time.Now()
		good := dial(t, addr)
		assert.Equal(t, "DUNNO", good.ask(postfixRequest(usGateway)), "round %d", round)
		assert.Less(t, time.Since(start), 5*time.Second)
		good.c.Close()
	}
	// The oldest idle connection was closed first.
	idle[0].SetReadDeadline(time.Now().Add(3 * time.Second))
	n, err := idle[0].Read(make([]byte, 1))
	assert.Equal(t, 0, n)
	assert.Error(t, err)
	assert.False(t, isTimeoutErr(err), "the oldest idle connection is still open: %v", err)
	assert.GreaterOrEqual(t, s.Stats().ConnsEvicted, uint64(1))
	assert.Zero(t, s.Stats().ConnsRefused)
}

func isTimeoutErr(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// TestStalledRequests: connections that sent part of a request and stall
// are closed after the read timeout, and at the limit the longest stalled
// one makes room for a new client.
func TestStalledRequests(t *testing.T) {
	s, addr := newTestServer(t, Options{}, func(c *Config) {
		c.MaxConns = 3
		c.ReadTimeout = 2 * time.Second
	})
	var stalled []*client
	for range 3 {
		c := dial(t, addr)
		io.WriteString(c.c, "request=smtpd_access_policy\nclient_addr")
		stalled = append(stalled, c)
		time.Sleep(20 * time.Millisecond)
	}
	start := time.Now()
	assert.Equal(t, "DUNNO", dial(t, addr).ask(postfixRequest(usGateway)))
	assert.Less(t, time.Since(start), time.Second)
	stalled[0].expectClosed(time.Second)
	// The others are closed by the read timeout.
	for _, c := range stalled[1:] {
		c.expectClosed(5 * time.Second)
	}
	assert.Less(t, time.Since(start), 4*time.Second)
	st := s.Stats()
	assert.EqualValues(t, 1, st.ConnsEvicted)
	assert.EqualValues(t, 2, st.Timeouts)
}

// dialFrom connects to addr from the loopback address src.
func dialFrom(t *testing.T, src, addr string) *client {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	c, err := d.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return &client{t: t, c: c, br: bufio.NewReader(c)}
}

// TestAllowFrom: only peers in AllowFrom get an answer; the others are
// closed without one. The default is loopback.
func TestAllowFrom(t *testing.T) {
	s, addr := newTestServer(t, Options{}, func(c *Config) { c.AllowFrom = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")} })
	assert.Equal(t, "DUNNO", dialFrom(t, "127.0.0.1", addr).ask(postfixRequest(usGateway)))
	denied := dialFrom(t, "127.0.0.2", addr)
	io.WriteString(denied.c, postfixRequest(usGateway))
	denied.expectClosed(3 * time.Second)
	assert.EqualValues(t, 1, s.Stats().ConnsDenied)
	assert.EqualValues(t, 1, s.Stats().Requests)

	// Default: all of 127.0.0.0/8.
	_, addr = newTestServer(t, Options{}, nil)
	assert.Equal(t, "DUNNO", dialFrom(t, "127.0.0.2", addr).ask(postfixRequest(usGateway)))
	// IPv6 only: an IPv4 loopback peer is refused.
	_, addr = newTestServer(t, Options{}, func(c *Config) { c.AllowFrom = []netip.Prefix{netip.MustParsePrefix("::1/128")} })
	c := dialFrom(t, "127.0.0.1", addr)
	io.WriteString(c.c, postfixRequest(usGateway))
	c.expectClosed(3 * time.Second)
}

// TestLogRateLimit: a peer that keeps sending bad requests writes a
// bounded number of log lines.
func TestLogRateLimit(t *testing.T) {
	var mu sync.Mutex
	lines := 0
	h := slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		lines++
		return len(p), nil
	}), nil)
	s, addr := newTestServer(t, Options{}, func(c *Config) { c.Logger = slog.New(h) })
	const n = 200
	start := time.Now()
	for range n {
		c := dial(t, addr)
		io.WriteString(c.c, "garbage without equals\n\n")
		c.expectClosed(3 * time.Second)
		c.c.Close()
	}
	mu.Lock()
	got := lines
	mu.Unlock()
	st := s.Stats()
	assert.EqualValues(t, n, st.ProtocolErrors)
	// The burst, one more per second of the run, and the server's own
	// lines (listening).
	limit := logBurst + int(time.Since(start)/logEvery) + 3
	assert.LessOrEqual(t, got, limit, "log lines for %d bad requests from one peer", n)
	assert.GreaterOrEqual(t, st.LogsSuppressed, uint64(n-limit))
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// TestPeerLimiter: burst, refill, suppressed count, bounded peers.
func TestPeerLimiter(t *testing.T) {
	now := time.Unix(1000, 0)
	l := newPeerLimiter(3, time.Second, 4)
	l.now = func() time.Time { return now }
	for i := range 3 {
		ok, _ := l.allow("a")
		assert.True(t, ok, i)
	}
	ok, _ := l.allow("a")
	assert.False(t, ok)
	ok, _ = l.allow("a")
	assert.False(t, ok)
	// Another peer has its own budget.
	ok, _ = l.allow("b")
	assert.True(t, ok)
	now = now.Add(time.Second)
	ok, sup := l.allow("a")
	assert.True(t, ok)
	assert.EqualValues(t, 2, sup)
	// Peers beyond the bound share one budget.
	for i := range 100 {
		l.allow(fmt.Sprintf("x%d", i))
	}
	assert.LessOrEqual(t, len(l.m), 5)
	// After a quiet time the full buckets are pruned for new peers.
	now = now.Add(time.Hour)
	ok, _ = l.allow("new")
	assert.True(t, ok)
	_, inMap := l.m["new"]
	assert.True(t, inMap)
}

// TestLowFileLimit runs a server in a child process whose descriptor limit
// is far below --max-conns, fills it with idle connections, and checks
// that a new client is answered or closed promptly, never left hanging,
// and that a retry is answered.
func TestLowFileLimit(t *testing.T) {
	if os.Getenv("POLICY_LOWFD_CHILD") == "1" {
		lowFDChild()
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestLowFileLimit$")
	cmd.Env = append(os.Environ(), "POLICY_LOWFD_CHILD=1")
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	defer func() {
		stdin.Close()
		cmd.Wait()
		if t.Failed() {
			t.Logf("child stderr:\n%s", stderr.String())
		}
	}()
	br := bufio.NewReader(stdout)
	line, err := br.ReadString('\n')
	require.NoError(t, err, "child did not start serving")
	addr := strings.TrimSpace(strings.TrimPrefix(line, "addr="))

	// Fill the child's descriptors with idle connections.
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range 80 {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			break
		}
		conns = append(conns, c)
	}
	time.Sleep(300 * time.Millisecond)
	// Every new client gets an answer or a close within 2 s; within a few
	// tries one is answered.
	answered := false
	for try := 0; try < 5 && !answered; try++ {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		require.NoError(t, err)
		c.SetDeadline(time.Now().Add(2 * time.Second))
		io.WriteString(c, postfixRequest(usGateway))
		a, err := readReply(bufio.NewReader(c))
		c.Close()
		switch {
		case err == nil:
			assert.Equal(t, "DUNNO", a)
			answered = true
		case isTimeoutErr(err):
			t.Fatalf("try %d: new client left hanging at the descriptor limit", try)
		}
	}
	assert.True(t, answered, "no new client answered at the descriptor limit")
}

// lowFDChild serves with a descriptor limit of 40 until stdin closes.
func lowFDChild() {
	lim := syscall.Rlimit{Cur: 40, Max: 40}
	var cur syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &cur); err == nil && cur.Max < lim.Max {
		lim.Max = cur.Max
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		fmt.Fprintln(os.Stderr, "setrlimit:", err)
		os.Exit(1)
	}
	live, err := NewLive(Loader("", Options{}))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	s, err := New(Config{Engine: live, Logger: slog.New(slog.NewTextHandler(os.Stderr, nil))})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("addr=" + l.Addr().String())
	go s.Serve(l)
	io.Copy(io.Discard, os.Stdin)
	s.Close()
	os.Exit(0)
}
