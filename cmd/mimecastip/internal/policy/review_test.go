package policy

import (
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b311f21d/go-mimecastip/regions"
)

// A mail row tagged "eu,global" passed for --region us (and every other
// region): "global" widened the scope of a mail row, although Mimecast
// publishes no mail range for every account. Like a mail row of global
// alone, the global tag of a mail row never passes: the row passes for
// its own regions only and is "other region" elsewhere.
func TestEngineGlobalTagOfMailRowDoesNotWiden(t *testing.T) {
	d := regions.Embedded()
	d.Ranges = append(d.Ranges,
		regions.Range{Prefix: netip.MustParsePrefix("45.9.1.0/24"), Regions: regions.SetOf(regions.EU, regions.Global),
			Service: regions.Gateway, FirstSeen: "2026", LastSeen: "2026", Sources: []string{"dc"}},
		regions.Range{Prefix: netip.MustParsePrefix("45.9.2.0/24"), Regions: regions.SetOf(regions.EU, regions.Global),
			Service: regions.NonSPF, FirstSeen: "2026", LastSeen: "2026", Sources: []string{"dc"}})
	for _, a := range []string{"45.9.1.9", "45.9.2.9"} {
		addr := netip.MustParseAddr(a)
		for _, scope := range []regions.Set{regions.SetOf(regions.US), regions.SetOf(regions.ZA), regions.SetOf(regions.US, regions.Global)} {
			e, err := NewEngine(d, "test", Options{Regions: scope})
			require.NoError(t, err)
			dec := e.DecideAddr(addr)
			assert.Equal(t, Defer, dec.Verdict, "%s for --region %s", a, scope)
			assert.Equal(t, "other region", dec.Reason)
			assert.Equal(t, refTier(d.Ranges, scope, false, addr), dec.Verdict, "the reference agrees")
		}
		for _, scope := range []regions.Set{regions.SetOf(regions.EU), 0} {
			e, err := NewEngine(d, "test", Options{Regions: scope})
			require.NoError(t, err)
			assert.Equal(t, Pass, e.DecideAddr(addr).Verdict, "%s for --region %q", a, scope)
			assert.Equal(t, Pass, refTier(d.Ranges, scope, false, addr))
		}
	}
	// Website and Web Security rows of global are still named in scope.
	us, err := NewEngine(d, "test", Options{Regions: regions.SetOf(regions.US)})
	require.NoError(t, err)
	dec := us.DecideAddr(netip.MustParseAddr("41.74.203.10"))
	assert.Equal(t, Reject, dec.Verdict)
	assert.Equal(t, "global", dec.Regions().String())
}

// A website or Web Security row inside a gateway range (a custom data
// file, or Mimecast listing one of its hosts in both) made the gateway's
// address a 5xx: the most specific row decided, and it is not a mail row.
// An address in a Mimecast mail range is never surely not Mimecast's: the
// mail range decides its tier.
func TestEngineWebsiteRowInsideGatewayRange(t *testing.T) {
	d := regions.Embedded()
	d.Ranges = append(d.Ranges, regions.Range{Prefix: netip.MustParsePrefix(usGateway + "/32"), Regions: regions.SetOf(regions.Global),
		Service: regions.Website, FirstSeen: "2026", LastSeen: "2026", Sources: []string{"dc"}})
	addr := netip.MustParseAddr(usGateway)
	for _, tc := range []struct {
		scope   regions.Set
		strict  bool
		verdict Verdict
	}{{regions.SetOf(regions.US), false, Pass}, {0, false, Pass}, {regions.SetOf(regions.EU), false, Defer}, {regions.SetOf(regions.EU), true, Reject}} {
		e, err := NewEngine(d, "test", Options{Regions: tc.scope, Strict: tc.strict})
		require.NoError(t, err)
		dec := e.DecideAddr(addr)
		assert.Equal(t, tc.verdict, dec.Verdict, "--region %q strict %v", tc.scope, tc.strict)
		assert.Equal(t, "us", dec.Regions().String(), "the gateway range decides")
		assert.Equal(t, tc.verdict, refTier(d.Ranges, tc.scope, tc.strict, addr), "the reference agrees")
	}
	// The website address alone (outside every mail range) is still refused.
	us, err := NewEngine(d, "test", Options{Regions: regions.SetOf(regions.US)})
	require.NoError(t, err)
	assert.Equal(t, Reject, us.DecideAddr(netip.MustParseAddr("146.101.202.134")).Verdict)
}

// fakeListener hands out the server ends of in-memory connections whose
// peers are the given addresses, then blocks until closed: the accept loop
// sees peers that loopback cannot provide (many IPv6 hosts of one /64,
// thousands of IPv4 hosts).
type fakeListener struct {
	peers  []netip.Addr
	next   int
	closed chan struct{}
	once   sync.Once
}

type fakeConn struct {
	net.Conn
	remote net.Addr
}

func (c fakeConn) RemoteAddr() net.Addr { return c.remote }

func (l *fakeListener) Accept() (net.Conn, error) {
	if l.next < len(l.peers) {
		a := l.peers[l.next]
		l.next++
		srv, cli := net.Pipe()
		cli.Close()
		return fakeConn{srv, &net.TCPAddr{IP: a.AsSlice(), Port: 40000}}, nil
	}
	<-l.closed
	return nil, net.ErrClosed
}

func (l *fakeListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *fakeListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 10040} }

// Denied peers were rate-limited per address only: one host with an IPv6
// /64 (or a botnet with many IPv4 addresses) logged a line for every
// connection, without bound in total. Now an IPv6 /64 is one peer, and all
// peers together share a budget.
func TestLogRateLimitManyPeers(t *testing.T) {
	for _, tc := range []struct {
		name  string
		peers func(i int) netip.Addr
		n     int
		burst int
	}{
		{"one IPv6 /64", func(i int) netip.Addr {
			return netip.AddrFrom16([16]byte{0x2a, 0x00, 0x14, 0x50, 0, 0, 0, 1, 0, 0, 0, 0, byte(i >> 16), byte(i >> 8), byte(i), 1})
		}, 300, logBurst},
		{"many IPv4 hosts", func(i int) netip.Addr {
			return netip.AddrFrom4([4]byte{45, 9, byte(i >> 8), byte(i)})
		}, 3000, logTotalBurst},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			lines := 0
			h := slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
				mu.Lock()
				defer mu.Unlock()
				lines++
				return len(p), nil
			}), nil)
			live, err := NewLive(Loader("", Options{}))
			require.NoError(t, err)
			s, err := New(Config{Engine: live, Logger: slog.New(h)})
			require.NoError(t, err)
			l := &fakeListener{closed: make(chan struct{})}
			for i := range tc.n {
				l.peers = append(l.peers, tc.peers(i))
			}
			start := time.Now()
			done := make(chan error, 1)
			go func() { done <- s.Serve(l) }()
			require.Eventually(t, func() bool { return s.Stats().ConnsDenied == uint64(tc.n) }, 20*time.Second, 10*time.Millisecond)
			elapsed := time.Since(start)
			s.Close()
			<-done
			mu.Lock()
			got := lines
			mu.Unlock()
			refill := int(elapsed / logEvery)
			if tc.burst == logTotalBurst {
				refill = int(elapsed / logTotalEvery)
			}
			assert.LessOrEqual(t, got, tc.burst+refill+3, "log lines for %d denied connections", tc.n)
		})
	}
}

// "unix:@name" is a Linux abstract socket: no file, no permission bits,
// so --socket-mode cannot govern who asks (with --socket-mode 0 it was
// served to every local user). Refused.
func TestListenRefusesAbstractSocket(t *testing.T) {
	for _, mode := range []os.FileMode{0, 0o660} {
		l, err := Listen("unix:@mimecastip-review-test", mode)
		if err == nil {
			l.Close()
		}
		require.Error(t, err, "mode %o", mode)
		assert.Contains(t, err.Error(), "abstract unix sockets have no permissions")
	}
	_, _, err := ParseListen("unix:@x")
	assert.Error(t, err)
}

// --reject DUNNO (or OK, PREPEND, WARN, permit, a conditional restriction)
// was accepted: the lockdown then passed every network, a false OK by
// configuration. --other and --reject must keep the mail out; --pass may
// be anything.
func TestRefusalActions(t *testing.T) {
	for _, a := range []string{"DUNNO", "OK", "ok", "PREPEND X-Foo: bar", "WARN hm", "INFO x", "DEFER_IF_REJECT 4.7.1 x",
		"permit", "permit_mynetworks", "reject_unauth_destination", "BCC a@b", "FILTER smtp:x", "REDIRECT a@b"} {
		for _, o := range []Options{{RejectAction: a}, {OtherAction: a}} {
			_, err := LoadEngine("", o)
			assert.Error(t, err, "%+v", o)
		}
		assert.Error(t, ValidateRefusal(a), a)
	}
	for _, a := range []string{"REJECT no", "reject", "defer", "DEFER later", "DEFER_IF_PERMIT 4.7.1 x", "450 4.7.1 x", "554 5.7.1 x", "HOLD", "DISCARD", "defer_if_permit"} {
		_, err := LoadEngine("", Options{RejectAction: a, OtherAction: a})
		assert.NoError(t, err, a)
	}
	_, err := LoadEngine("", Options{PassAction: "OK"})
	assert.NoError(t, err)
}
