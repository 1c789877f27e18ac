// Package policy is a Postfix policy delegation server (check_policy_service,
// Postfix's SMTPD_POLICY_README) that answers per client_address whether
// the SMTP client is a Mimecast gateway of the configured regions.
//
// Protocol: a request is name=value lines ended by an empty line; one
// connection carries many requests; unknown attributes are ignored; each
// request gets exactly one "action=...\n\n" reply. The decision is an
// Engine's (see Engine for the tiers): a Mimecast gateway or non-SPF relay
// of the configured regions gets the pass action (DUNNO), a Mimecast mail
// address of another region or of a retired range a temporary failure
// (DEFER_IF_PERMIT 4.7.1), any other client the reject action, and in
// tag-only mode every client gets "PREPEND X-Mimecastip-Class: <class>;
// tier=...". A request whose client address is missing or unusable gets
// DEFER_IF_PERMIT 4.7.1 (never a pass), and a request whose handling
// panics gets DEFER_IF_PERMIT 4.3.0.
//
// Only peers in Config.AllowFrom (loopback by default) may ask over TCP;
// others are closed without an answer. At Config.MaxConns the longest-idle
// connection is closed to make room for a new one.
//
// Input that breaks a limit (line length, attribute count, request size,
// per-request read timeout) or is not name=value lines closes that
// connection without an answer; Postfix then retries on a new connection
// and finally applies its smtpd_policy_service_default_action.
package policy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/seed-b311f21d/go-mimecastip/mimecastip"
)

// Default limits and timeouts.
const (
	// DefaultMaxLineBytes bounds one name=value line, newline included.
	// Postfix's longest attributes (sender, recipient, ccert_subject,
	// sasl_username) stay far below it.
	DefaultMaxLineBytes = 16 << 10
	// DefaultMaxAttributes bounds the lines of one request; Postfix 3.7
	// sends 29.
	DefaultMaxAttributes = 256
	// DefaultMaxRequestBytes bounds one request.
	DefaultMaxRequestBytes = 64 << 10
	// DefaultReadTimeout bounds the time from the first byte of a request
	// to its empty line. Postfix writes a request at once.
	DefaultReadTimeout = 10 * time.Second
	// DefaultIdleTimeout bounds the wait for the next request on an open
	// connection. It is longer than Postfix's smtpd_policy_service_max_idle
	// (300s), so Postfix, not the server, closes idle connections.
	DefaultIdleTimeout = 330 * time.Second
	// DefaultWriteTimeout bounds writing one reply.
	DefaultWriteTimeout = 10 * time.Second
	// DefaultMaxConns bounds the open connections. At the limit a new
	// connection makes the server close the longest-idle one (Postfix
	// reconnects when it needs to). Postfix opens one per smtpd process
	// (default_process_limit is 100).
	DefaultMaxConns = 2000
)

// ErrServerClosed is returned by Serve after Shutdown or Close.
var ErrServerClosed = errors.New("policy: server closed")

// Config configures a Server. Engine is required; zero values of the
// other fields take the defaults.
type Config struct {
	// Engine decides (see Engine) and is reloaded by Reload. Build it
	// with NewLive(Loader(path, opts)).
	Engine *Live

	// AllowFrom lists the TCP peers that may ask; connections from others
	// are closed without an answer and logged. Nil means loopback only
	// (DefaultAllowFrom). Unix-socket peers are governed by the socket's
	// mode and always served.
	AllowFrom []netip.Prefix

	MaxLineBytes    int
	MaxAttributes   int
	MaxRequestBytes int
	MaxConns        int
	ReadTimeout     time.Duration
	IdleTimeout     time.Duration
	WriteTimeout    time.Duration
	// StatsInterval, when positive, logs the counters at info level this
	// often. Shutdown logs them once more.
	StatsInterval time.Duration

	// Logger receives structured logs; nil discards them. Decisions are
	// logged at debug level, problems at warn, lifecycle at info.
	Logger *slog.Logger
}

// Server is a policy delegation server. Create it with New, feed it
// listeners with Serve, stop it with Shutdown. Safe for concurrent use.
type Server struct {
	cfg Config
	log *slog.Logger

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	conns     map[*conn]struct{}
	closing   bool
	wg        sync.WaitGroup // connections
	done      chan struct{}  // closed by Shutdown/Close
	statsOnce sync.Once

	stats counters
	logs  *peerLimiter // rate limit of the warnings per peer

	allow []netip.Prefix

	spareMu sync.Mutex
	spare   *os.File // a reserved descriptor, given up to refuse a client at EMFILE

	testHookDecide func(*Request) // tests: make a request panic
}

type counters struct {
	requests, mimecast, nonSPF, foreign, otherRegion, retired, deferred, tempFail, internalErr atomic.Uint64
	protocolErr, timeouts, connsTotal, connsRefused, connsEvicted, connsDenied, reloads        atomic.Uint64
	reloadErr, logsSuppressed                                                                  atomic.Uint64
	connsOpen                                                                                  atomic.Int64
}

// Stats is a snapshot of a server's counters.
type Stats struct {
	Requests       uint64 // requests answered
	Mimecast       uint64 // classified Mimecast (gateway) in scope
	NonSPF         uint64 // classified non-SPF relay in scope
	Foreign        uint64 // classified foreign in scope (includes OtherRegion and Retired)
	OtherRegion    uint64 // foreign here, but a Mimecast mail address of another region
	Retired        uint64 // in a retired Mimecast mail range (and no active one)
	Deferred       uint64 // answered with the other-region/retired action (Defer verdict)
	TempFail       uint64 // no usable client address or unsupported request
	InternalErrors uint64 // requests whose handling panicked
	ProtocolErrors uint64 // connections closed for breaking a limit or the protocol
	Timeouts       uint64 // connections closed for a read timeout
	ConnsTotal     uint64 // connections accepted
	ConnsRefused   uint64 // connections closed at once: MaxConns with no idle one to close, or no file descriptor left
	ConnsEvicted   uint64 // idle (or stalled) connections closed to make room for a new one
	ConnsDenied    uint64 // connections from peers outside AllowFrom, closed without an answer
	ConnsOpen      int64  // connections open now
	Reloads        uint64 // successful reloads
	ReloadErrors   uint64 // failed reloads
	LogsSuppressed uint64 // warnings not logged by the per-peer rate limit
}

// Stats returns the counters.
func (s *Server) Stats() Stats {
	c := &s.stats
	return Stats{
		Requests: c.requests.Load(), Mimecast: c.mimecast.Load(), NonSPF: c.nonSPF.Load(),
		Foreign: c.foreign.Load(), OtherRegion: c.otherRegion.Load(), Retired: c.retired.Load(),
		Deferred: c.deferred.Load(), TempFail: c.tempFail.Load(),
		InternalErrors: c.internalErr.Load(), ProtocolErrors: c.protocolErr.Load(),
		Timeouts: c.timeouts.Load(), ConnsTotal: c.connsTotal.Load(), ConnsRefused: c.connsRefused.Load(),
		ConnsEvicted: c.connsEvicted.Load(), ConnsDenied: c.connsDenied.Load(),
		ConnsOpen: c.connsOpen.Load(), Reloads: c.reloads.Load(), ReloadErrors: c.reloadErr.Load(),
		LogsSuppressed: c.logsSuppressed.Load(),
	}
}

// LogStats logs the counters at info level with msg.
func (s *Server) LogStats(msg string) {
	st := s.Stats()
	s.log.Info(msg,
		"requests", st.Requests, "mimecast", st.Mimecast, "non_spf", st.NonSPF,
		"foreign", st.Foreign, "other_region", st.OtherRegion, "retired", st.Retired,
		"deferred", st.Deferred, "tempfail", st.TempFail,
		"internal_errors", st.InternalErrors, "protocol_errors", st.ProtocolErrors,
		"timeouts", st.Timeouts, "conns_total", st.ConnsTotal, "conns_open", st.ConnsOpen,
		"conns_refused", st.ConnsRefused, "conns_evicted", st.ConnsEvicted, "conns_denied", st.ConnsDenied,
		"reloads", st.Reloads, "reload_errors", st.ReloadErrors, "logs_suppressed", st.LogsSuppressed)
}

type discardHandler struct{}

func (discardHandler) Enabled(context.Context, slog.Level) bool  { return false }
func (discardHandler) Handle(context.Context, slog.Record) error { return nil }
func (h discardHandler) WithAttrs([]slog.Attr) slog.Handler      { return h }
func (h discardHandler) WithGroup(string) slog.Handler           { return h }

// New checks cfg, fills in defaults and returns a Server.
func New(cfg Config) (*Server, error) {
	if cfg.Engine == nil || cfg.Engine.Engine() == nil {
		return nil, errors.New("policy: Config.Engine is required")
	}
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defDur := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	allow := cfg.AllowFrom
	if allow == nil {
		allow = DefaultAllowFrom()
	}
	for _, p := range allow {
		if !p.IsValid() {
			return nil, errors.New("policy: Config.AllowFrom has an invalid prefix")
		}
	}
	def(&cfg.MaxLineBytes, DefaultMaxLineBytes)
	if cfg.MaxLineBytes < 64 {
		cfg.MaxLineBytes = 64
	}
	def(&cfg.MaxAttributes, DefaultMaxAttributes)
	def(&cfg.MaxRequestBytes, DefaultMaxRequestBytes)
	def(&cfg.MaxConns, DefaultMaxConns)
	defDur(&cfg.ReadTimeout, DefaultReadTimeout)
	defDur(&cfg.IdleTimeout, DefaultIdleTimeout)
	defDur(&cfg.WriteTimeout, DefaultWriteTimeout)
	log := cfg.Logger
	if log == nil {
		log = slog.New(discardHandler{})
	}
	s := &Server{
		cfg:       cfg,
		log:       log,
		logs:      newPeerLimiter(logBurst, logEvery, logPeers).withTotal(logTotalBurst, logTotalEvery),
		allow:     allow,
		listeners: map[net.Listener]struct{}{},
		conns:     map[*conn]struct{}{},
		done:      make(chan struct{}),
	}
	s.spare = openSpare()
	return s, nil
}

// DefaultAllowFrom returns the TCP peers a server allows when
// Config.AllowFrom is nil: loopback, 127.0.0.0/8 and ::1/128.
func DefaultAllowFrom() []netip.Prefix {
	return []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
}

// allowed reports whether the peer of nc may ask: a unix-socket peer
// always, a TCP peer when its address is in AllowFrom, anything else never.
func (s *Server) allowed(nc net.Conn) (bool, string) {
	switch a := nc.RemoteAddr().(type) {
	case *net.UnixAddr:
		return true, "unix"
	case *net.TCPAddr:
		ip := a.AddrPort().Addr().Unmap().WithZone("")
		for _, p := range s.allow {
			if p.Contains(ip) {
				return true, ip.String()
			}
		}
		return false, ip.String()
	default:
		return false, fmt.Sprint(a)
	}
}

func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' || s[i] == ':' {
			return false
		}
	}
	return true
}

// Reload builds a new Engine with the Live's load function (one read of
// the data) and swaps it in as one value; open connections keep going and
// the next request sees the new data. On error the old Engine stays in
// use; the error is logged and returned.
func (s *Server) Reload() error {
	e, err := s.cfg.Engine.Reload()
	if err != nil {
		s.stats.reloadErr.Add(1)
		s.log.Error("reload failed; keeping the data in use", "err", err, "ranges", s.cfg.Engine.Engine().Len())
		return fmt.Errorf("policy: reload: %w", err)
	}
	s.stats.reloads.Add(1)
	s.log.Info("reloaded", "data", e.Source(), "version", e.Version(), "ranges", e.Len(), "mail_ranges", e.MailRanges())
	return nil
}

// Serve accepts connections on l and serves each in its own goroutine until
// Shutdown or Close; then it returns ErrServerClosed. It closes l on return.
func (s *Server) Serve(l net.Listener) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		l.Close()
		return ErrServerClosed
	}
	s.listeners[l] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, l)
		s.mu.Unlock()
		l.Close()
	}()
	s.statsOnce.Do(s.startStats)
	s.log.Info("listening", "addr", l.Addr().String(), "network", l.Addr().Network())
	var delay time.Duration
	for {
		nc, err := l.Accept()
		if err != nil {
			if s.isClosing() {
				return ErrServerClosed
			}
			if isNoFile(err) && s.refuseOne(l) {
				// A client waiting in the backlog got a prompt close
				// instead of hanging; an idle connection was closed so
				// the next one finds a descriptor.
				delay = 0
				continue
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || isTemporary(err) {
				// EMFILE without a spare descriptor, and friends: back
				// off like net/http.
				if delay == 0 {
					delay = 5 * time.Millisecond
				} else if delay *= 2; delay > time.Second {
					delay = time.Second
				}
				s.warn("accept", "accept failed; retrying", "err", err, "delay", delay)
				select {
				case <-time.After(delay):
				case <-s.done:
					return ErrServerClosed
				}
				continue
			}
			return err
		}
		delay = 0
		s.stats.connsTotal.Add(1)
		ok, peer := s.allowed(nc)
		if !ok {
			s.stats.connsDenied.Add(1)
			s.warn(peer, "peer not in --allow-from; connection closed without an answer", "remote", peer)
			nc.Close()
			continue
		}
		c := &conn{nc: nc, peer: peer}
		if !s.track(c) {
			continue
		}
		go s.serveConn(c)
	}
}

// isNoFile reports whether err is the process or system running out of
// file descriptors.
func isNoFile(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE)
}

// openSpare reserves a file descriptor for refuseOne; nil when none can
// be opened.
func openSpare() *os.File {
	f, err := os.Open(os.DevNull)
	if err != nil {
		return nil
	}
	return f
}

// refuseOne runs when accept fails for want of file descriptors: the
// client in the backlog would otherwise wait until some connection closes.
// It gives up the spare descriptor, accepts that client and closes it at
// once (Postfix retries), takes the spare back, and closes the
// longest-idle connection so a later client is served. False when there
// is no spare.
func (s *Server) refuseOne(l net.Listener) bool {
	s.spareMu.Lock()
	if s.spare == nil {
		if !s.doneClosed() {
			s.spare = openSpare()
		}
		s.spareMu.Unlock()
		return false
	}
	s.spare.Close()
	s.spare = nil
	// The client that made accept fail is in the backlog; should it be
	// gone, do not wait for (and refuse) the next one.
	dl, _ := l.(interface{ SetDeadline(time.Time) error })
	if dl != nil {
		dl.SetDeadline(time.Now().Add(100 * time.Millisecond))
	}
	nc, err := l.Accept()
	if dl != nil {
		dl.SetDeadline(time.Time{})
	}
	if err == nil {
		s.stats.connsTotal.Add(1)
		s.stats.connsRefused.Add(1)
		_, peer := s.allowed(nc)
		nc.Close()
		s.warn("nofile", "no file descriptor left; new connection closed at once", "remote", peer)
	}
	if !s.doneClosed() {
		s.spare = openSpare()
	}
	s.spareMu.Unlock()
	// Never s.mu inside spareMu: beginClose takes them the other way.
	s.mu.Lock()
	if v := s.victimLocked(); v != nil {
		s.evictLocked(v)
	}
	s.mu.Unlock()
	return true
}

// doneClosed reports, without a lock, whether the server is closing.
func (s *Server) doneClosed() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

func isTemporary(err error) bool {
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}

func (s *Server) isClosing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}

// track registers c, or closes it when the server is closing. At
// MaxConns it closes the longest-idle connection (or, when none is idle,
// the one stalled longest in the middle of a request) to make room; only
// when every connection is deciding a request is c itself closed.
func (s *Server) track(c *conn) bool {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		c.nc.Close()
		return false
	}
	if len(s.conns) >= s.cfg.MaxConns {
		v := s.victimLocked()
		if v == nil {
			s.mu.Unlock()
			s.stats.connsRefused.Add(1)
			s.warn(c.peer, "too many connections, none idle; closing the new one", "remote", c.peer, "max_conns", s.cfg.MaxConns)
			c.nc.Close()
			return false
		}
		s.evictLocked(v)
	}
	c.mu.Lock()
	c.since = time.Now()
	c.mu.Unlock()
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	s.stats.connsOpen.Add(1)
	return true
}

// victimLocked picks the connection to close for a new one: the
// longest-idle, else the one reading a request for the longest time.
// s.mu is held.
func (s *Server) victimLocked() *conn {
	var idle, reading *conn
	var idleSince, readSince time.Time
	for c := range s.conns {
		c.mu.Lock()
		st, since := c.state, c.since
		c.mu.Unlock()
		switch st {
		case stateIdle:
			if idle == nil || since.Before(idleSince) {
				idle, idleSince = c, since
			}
		case stateReading:
			if reading == nil || since.Before(readSince) {
				reading, readSince = c, since
			}
		}
	}
	if idle != nil {
		return idle
	}
	return reading
}

// evictLocked closes v and forgets it, so its slot is free at once; its
// goroutine ends on the closed connection. s.mu is held.
func (s *Server) evictLocked(v *conn) {
	delete(s.conns, v)
	v.mu.Lock()
	st, since := v.state, v.since
	v.evicted = true
	v.mu.Unlock()
	v.nc.Close()
	s.stats.connsEvicted.Add(1)
	s.warn(v.peer, "connection limit: closed the longest-idle connection for a new one",
		"remote", v.peer, "state", st.String(), "for", time.Since(since).Round(time.Millisecond), "max_conns", s.cfg.MaxConns)
}

func (s *Server) untrack(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.stats.connsOpen.Add(-1)
	s.wg.Done()
}

func (s *Server) startStats() {
	if s.cfg.StatsInterval <= 0 {
		return
	}
	go func() {
		t := time.NewTicker(s.cfg.StatsInterval)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				s.LogStats("policy counts")
			case <-s.done:
				return
			}
		}
	}()
}

// beginClose marks the server closing, closes its listeners and returns
// the open connections.
func (s *Server) beginClose() []*conn {
	s.mu.Lock()
	if !s.closing {
		s.closing = true
		close(s.done)
	}
	for l := range s.listeners {
		l.Close()
	}
	cs := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		cs = append(cs, c)
	}
	s.mu.Unlock()
	// After the listeners are closed, so a refuseOne in Accept returns.
	s.spareMu.Lock()
	if s.spare != nil {
		s.spare.Close()
		s.spare = nil
	}
	s.spareMu.Unlock()
	return cs
}

// Shutdown stops the server gracefully: it closes the listeners, closes
// connections waiting for a request, lets requests being read or decided
// finish and get their answers (then closes those connections), and waits
// for all of that until ctx is done, when it closes what is left and
// returns ctx.Err(). It logs the counters.
func (s *Server) Shutdown(ctx context.Context) error {
	for _, c := range s.beginClose() {
		c.stop()
	}
	waited := make(chan struct{})
	go func() { s.wg.Wait(); close(waited) }()
	var err error
	select {
	case <-waited:
	case <-ctx.Done():
		err = ctx.Err()
		for _, c := range s.beginClose() {
			c.nc.Close()
		}
		<-waited
	}
	s.LogStats("policy counts at shutdown")
	return err
}

// Close closes the listeners and every connection at once.
func (s *Server) Close() error {
	for _, c := range s.beginClose() {
		c.nc.Close()
	}
	s.wg.Wait()
	return nil
}

// conn is one client connection.
type conn struct {
	nc   net.Conn
	peer string // the peer's address without port, or "unix"

	mu      sync.Mutex
	state   connState
	since   time.Time // when state began
	closing bool      // server shutting down: finish the request in hand, then close
	evicted bool      // closed to make room for a new connection
}

type connState uint8

const (
	stateNew       connState = iota // accepted, not yet waiting
	stateIdle                       // waiting for the first byte of a request
	stateReading                    // reading a request
	stateAnswering                  // deciding and writing the answer
)

func (st connState) String() string {
	return [...]string{"new", "idle", "reading", "answering"}[st]
}

// stop asks the connection to close after the request in hand; an idle
// connection's read is interrupted at once.
func (c *conn) stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closing = true
	if c.state == stateIdle {
		c.nc.SetReadDeadline(time.Now())
	}
}

// waitRequest marks the connection idle with the idle deadline; false when
// the connection should close instead.
func (c *conn) waitRequest(idle time.Duration) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing || c.evicted {
		return false
	}
	now := time.Now()
	if c.state != stateNew {
		// A new connection is idle since it was accepted, so the
		// accept order ranks connections that never asked.
		c.since = now
	}
	c.state = stateIdle
	c.nc.SetReadDeadline(now.Add(idle))
	return true
}

// beginRequest marks the connection busy with the per-request deadline:
// the whole request must arrive within read of its first byte. Bytes have
// arrived, so even a closing server serves this request.
func (c *conn) beginRequest(read time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.state, c.since = stateReading, time.Now()
	c.nc.SetReadDeadline(c.since.Add(read))
}

// beginAnswer marks the connection deciding and answering: not a victim
// for a new connection.
func (c *conn) beginAnswer() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.state, c.since = stateAnswering, time.Now()
}

func (c *conn) isClosing() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closing
}

func (c *conn) isEvicted() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.evicted
}

func remote(nc net.Conn) string {
	if a := nc.RemoteAddr(); a != nil && a.Network() != "unix" && a.String() != "" {
		return a.String()
	}
	return "unix"
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded)
}

func (s *Server) serveConn(c *conn) {
	defer s.untrack(c)
	defer c.nc.Close()
	peer := remote(c.nc)
	defer func() {
		// Reading and writing do not panic; this is a last guard so one
		// connection can never take the server down.
		if p := recover(); p != nil {
			s.stats.internalErr.Add(1)
			s.log.Error("connection handler panicked; connection closed", "remote", peer, "panic", fmt.Sprint(p))
		}
	}()
	br := bufio.NewReaderSize(c.nc, s.cfg.MaxLineBytes)
	for n := 0; ; n++ {
		if !c.waitRequest(s.cfg.IdleTimeout) {
			return
		}
		if _, err := br.Peek(1); err != nil {
			switch {
			case c.isEvicted():
				s.log.Debug("idle connection closed for a new one", "remote", peer, "requests", n)
			case errors.Is(err, io.EOF):
				s.log.Debug("connection closed by client", "remote", peer, "requests", n)
			case isTimeout(err) && c.isClosing():
				s.log.Debug("idle connection closed for shutdown", "remote", peer, "requests", n)
			case isTimeout(err):
				s.log.Debug("idle connection timed out", "remote", peer, "requests", n, "idle_timeout", s.cfg.IdleTimeout)
			default:
				s.log.Debug("connection read failed", "remote", peer, "err", err)
			}
			return
		}
		c.beginRequest(s.cfg.ReadTimeout)
		req, err := readRequest(br, s.cfg.MaxAttributes, s.cfg.MaxRequestBytes)
		if err != nil {
			var le *limitError
			switch {
			case errors.As(err, &le):
				s.stats.protocolErr.Add(1)
				s.warn(c.peer, "bad request; connection closed without an answer", "remote", peer, "reason", le.msg)
			case c.isEvicted():
				s.log.Debug("stalled connection closed for a new one", "remote", peer)
			case isTimeout(err):
				s.stats.timeouts.Add(1)
				s.warn(c.peer, "request not complete within the read timeout; connection closed", "remote", peer, "read_timeout", s.cfg.ReadTimeout)
			case errors.Is(err, io.ErrUnexpectedEOF):
				s.info(c.peer, "client closed the connection in the middle of a request", "remote", peer)
			default:
				s.warn(c.peer, "connection read failed", "remote", peer, "err", err)
			}
			return
		}
		c.beginAnswer()
		action := s.answer(&req, c.peer, peer)
		c.nc.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
		if _, err := io.WriteString(c.nc, "action="+action+"\n\n"); err != nil {
			s.warn(c.peer, "writing the answer failed; connection closed", "remote", peer, "err", err)
			return
		}
		if c.isClosing() {
			return
		}
	}
}

// answer decides one request, recovering a panic into a temporary failure.
// key is the peer for the log rate limit, peer the remote address.
func (s *Server) answer(req *Request, key, peer string) (action string) {
	defer func() {
		if p := recover(); p != nil {
			s.stats.internalErr.Add(1)
			s.stats.requests.Add(1)
			s.log.Error("request handling panicked; answered with a temporary failure", "remote", peer,
				"client_address", truncate(req.ClientAddress, 100), "panic", fmt.Sprint(p))
			action = internalErrorAction
		}
	}()
	d := s.Decide(req)
	s.stats.requests.Add(1)
	switch {
	case d.Verdict == TempFail:
		s.stats.tempFail.Add(1)
		s.warn(key, "cannot classify; answered with a temporary failure", "remote", peer,
			"reason", d.Reason, "client_address", truncate(req.ClientAddress, 100),
			"protocol_state", req.ProtocolState, "queue_id", truncate(req.QueueID, 100), "action", d.Action)
		return d.Action
	case d.Result.Class == mimecastip.Mimecast:
		s.stats.mimecast.Add(1)
	case d.Result.Class == mimecastip.NonSPF:
		s.stats.nonSPF.Add(1)
	default:
		s.stats.foreign.Add(1)
		if d.OtherRegion() {
			s.stats.otherRegion.Add(1)
		}
		if d.IsRetired() {
			s.stats.retired.Add(1)
		}
	}
	if d.Verdict == Defer {
		s.stats.deferred.Add(1)
	}
	if d.Verdict == Defer || d.OtherRegion() {
		// A Mimecast mail address this lockdown does not pass: the data
		// may be wrong, so the admin should see it.
		m := d.Match()
		s.warn(key, "Mimecast address not passed: "+d.Reason, "client_address", d.Addr.String(),
			"regions", m.Regions.String(), "prefix", m.Prefix().String(), "service", m.Service.String(),
			"verdict", d.Verdict.String(), "action", d.Action, "remote", peer,
			"client_name", truncate(req.ClientName, 100), "queue_id", truncate(req.QueueID, 100))
	}
	if s.log.Enabled(context.Background(), slog.LevelDebug) {
		attrs := []any{
			"client_address", d.Addr.String(), "class", d.Result.Class.String(), "verdict", d.Verdict.String(),
			"action", d.Action, "client_name", req.ClientName, "protocol_state", req.ProtocolState,
			"queue_id", req.QueueID, "instance", req.Instance,
		}
		if m := d.Match(); m.Published() {
			attrs = append(attrs, "prefix", m.Prefix().String(), "regions", m.Regions.String(), "service", m.Service.String())
		}
		if d.Reason != "" {
			attrs = append(attrs, "reason", d.Reason)
		}
		s.log.Debug("decision", attrs...)
	}
	return d.Action
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "..."
}
