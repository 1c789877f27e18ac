// Package policy is a Postfix policy delegation server (check_policy_service,
// Postfix's SMTPD_POLICY_README) that answers per client_address whether
// the SMTP client is a Mimecast gateway of the configured regions.
//
// Protocol: a request is name=value lines ended by an empty line; one
// connection carries many requests; unknown attributes are ignored; each
// request gets exactly one "action=...\n\n" reply. A Mimecast or non-SPF
// relay client of the configured regions gets the pass action (DUNNO), any
// other client the reject action, and in tag-only mode every client gets
// "PREPEND X-Mimecast-Class: <class>...". A request whose client address is
// missing or unusable gets DEFER_IF_PERMIT 4.7.1 (never a pass), and a
// request whose handling panics gets DEFER_IF_PERMIT 4.3.0.
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
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/seed-b311f21d/go-mimecastip/mimecastip"
	"github.com/seed-b311f21d/go-mimecastip/regions"
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
	// DefaultMaxConns bounds the open connections; more are closed at
	// once. Postfix opens one per smtpd process (default_process_limit
	// is 100).
	DefaultMaxConns = 2000
)

// ErrServerClosed is returned by Serve after Shutdown or Close.
var ErrServerClosed = errors.New("policy: server closed")

// Config configures a Server. Classifier is required; zero values of the
// other fields take the defaults.
type Config struct {
	// Classifier decides: a Mimecast or NonSPF result passes, a Foreign
	// one is rejected. Scope it to the account's regions
	// (mimecastip.Load with the scope) so a gateway of another region is Foreign.
	Classifier *mimecastip.Reloadable
	// Wide, optional, classifies against every region. It only names, in
	// logs and tags, the region of a Mimecast gateway outside the scope.
	Wide *mimecastip.Reloadable
	// Regions is the configured scope, for logs (empty: every region).
	Regions regions.Set
	// Load builds new classifiers for Reload (wide may be nil). See
	// [Loader]. Without it, Reload fails.
	Load func() (scoped, wide *mimecastip.Classifier, err error)

	PassAction   string // default DefaultPassAction
	RejectAction string // default DefaultRejectAction
	// Tag selects the tag-only mode: every classifiable client gets
	// "PREPEND <TagHeader>: <class>; regions=...", nobody is rejected.
	Tag       bool
	TagHeader string // default DefaultTagHeader

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

	passTmpl, rejectTmpl template

	testHookDecide func(*Request) // tests: make a request panic
}

type counters struct {
	requests, mimecast, nonSPF, foreign, otherRegion, tempFail, internalErr atomic.Uint64
	protocolErr, timeouts, connsTotal, connsRefused, reloads, reloadErr     atomic.Uint64
	connsOpen                                                               atomic.Int64
}

// Stats is a snapshot of a server's counters.
type Stats struct {
	Requests       uint64 // requests answered
	Mimecast       uint64 // classified Mimecast (gateway) in scope
	NonSPF         uint64 // classified non-SPF relay in scope
	Foreign        uint64 // classified foreign (includes OtherRegion)
	OtherRegion    uint64 // foreign here, but a Mimecast address of another region
	TempFail       uint64 // no usable client address or unsupported request
	InternalErrors uint64 // requests whose handling panicked
	ProtocolErrors uint64 // connections closed for breaking a limit or the protocol
	Timeouts       uint64 // connections closed for a read timeout
	ConnsTotal     uint64 // connections accepted
	ConnsRefused   uint64 // connections closed at once, over MaxConns
	ConnsOpen      int64  // connections open now
	Reloads        uint64 // successful reloads
	ReloadErrors   uint64 // failed reloads
}

// Stats returns the counters.
func (s *Server) Stats() Stats {
	c := &s.stats
	return Stats{
		Requests: c.requests.Load(), Mimecast: c.mimecast.Load(), NonSPF: c.nonSPF.Load(),
		Foreign: c.foreign.Load(), OtherRegion: c.otherRegion.Load(), TempFail: c.tempFail.Load(),
		InternalErrors: c.internalErr.Load(), ProtocolErrors: c.protocolErr.Load(),
		Timeouts: c.timeouts.Load(), ConnsTotal: c.connsTotal.Load(), ConnsRefused: c.connsRefused.Load(),
		ConnsOpen: c.connsOpen.Load(), Reloads: c.reloads.Load(), ReloadErrors: c.reloadErr.Load(),
	}
}

// LogStats logs the counters at info level with msg.
func (s *Server) LogStats(msg string) {
	st := s.Stats()
	s.log.Info(msg,
		"requests", st.Requests, "mimecast", st.Mimecast, "non_spf", st.NonSPF,
		"foreign", st.Foreign, "other_region", st.OtherRegion, "tempfail", st.TempFail,
		"internal_errors", st.InternalErrors, "protocol_errors", st.ProtocolErrors,
		"timeouts", st.Timeouts, "conns_total", st.ConnsTotal, "conns_open", st.ConnsOpen,
		"conns_refused", st.ConnsRefused, "reloads", st.Reloads, "reload_errors", st.ReloadErrors)
}

type discardHandler struct{}

func (discardHandler) Enabled(context.Context, slog.Level) bool  { return false }
func (discardHandler) Handle(context.Context, slog.Record) error { return nil }
func (h discardHandler) WithAttrs([]slog.Attr) slog.Handler      { return h }
func (h discardHandler) WithGroup(string) slog.Handler           { return h }

// New checks cfg, fills in defaults and returns a Server.
func New(cfg Config) (*Server, error) {
	if cfg.Classifier == nil || cfg.Classifier.Current() == nil {
		return nil, errors.New("policy: Config.Classifier is required")
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
	if cfg.PassAction == "" {
		cfg.PassAction = DefaultPassAction
	}
	if cfg.RejectAction == "" {
		cfg.RejectAction = DefaultRejectAction
	}
	if cfg.TagHeader == "" {
		cfg.TagHeader = DefaultTagHeader
	}
	if err := ValidateAction(cfg.PassAction); err != nil {
		return nil, fmt.Errorf("policy: pass action: %w", err)
	}
	if err := ValidateAction(cfg.RejectAction); err != nil {
		return nil, fmt.Errorf("policy: reject action: %w", err)
	}
	if !validHeaderName(cfg.TagHeader) {
		return nil, fmt.Errorf("policy: tag header %q is not a header field name", cfg.TagHeader)
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
	return &Server{
		cfg:        cfg,
		passTmpl:   parseTemplate(cfg.PassAction),
		rejectTmpl: parseTemplate(cfg.RejectAction),
		log:        log,
		listeners:  map[net.Listener]struct{}{},
		conns:      map[*conn]struct{}{},
		done:       make(chan struct{}),
	}, nil
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

// Reload builds new classifiers with Config.Load and swaps them in; open
// connections keep going and the next request sees the new data. On error
// the old data stays in use; the error is logged and returned.
func (s *Server) Reload() error {
	if s.cfg.Load == nil {
		s.stats.reloadErr.Add(1)
		return errors.New("policy: no Config.Load to reload with")
	}
	scoped, wide, err := s.cfg.Load()
	if err == nil && scoped == nil {
		err = errors.New("loader returned no classifier")
	}
	if err != nil {
		s.stats.reloadErr.Add(1)
		s.log.Error("reload failed; keeping the data in use", "err", err, "ranges", s.cfg.Classifier.Current().Len())
		return fmt.Errorf("policy: reload: %w", err)
	}
	s.cfg.Classifier.Swap(scoped)
	if s.cfg.Wide != nil && wide != nil {
		s.cfg.Wide.Swap(wide)
	}
	s.stats.reloads.Add(1)
	s.log.Info("reloaded", "ranges", scoped.Len())
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
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || isTemporary(err) {
				// EMFILE and friends: back off like net/http.
				if delay == 0 {
					delay = 5 * time.Millisecond
				} else if delay *= 2; delay > time.Second {
					delay = time.Second
				}
				s.log.Warn("accept failed; retrying", "err", err, "delay", delay)
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
		c := &conn{nc: nc}
		if !s.track(c) {
			continue
		}
		go s.serveConn(c)
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

// track registers c, or closes it when the server is closing or full.
func (s *Server) track(c *conn) bool {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		c.nc.Close()
		return false
	}
	if len(s.conns) >= s.cfg.MaxConns {
		s.mu.Unlock()
		s.stats.connsRefused.Add(1)
		s.log.Warn("too many connections; closing new one", "remote", remote(c.nc), "max_conns", s.cfg.MaxConns)
		c.nc.Close()
		return false
	}
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	s.stats.connsOpen.Add(1)
	return true
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
	defer s.mu.Unlock()
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
	nc net.Conn

	mu      sync.Mutex
	idle    bool // waiting for the first byte of a request
	closing bool // server shutting down: finish the request in hand, then close
}

// stop asks the connection to close after the request in hand; an idle
// connection's read is interrupted at once.
func (c *conn) stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closing = true
	if c.idle {
		c.nc.SetReadDeadline(time.Now())
	}
}

// waitRequest marks the connection idle with the idle deadline; false when
// the connection should close instead.
func (c *conn) waitRequest(idle time.Duration) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		return false
	}
	c.idle = true
	c.nc.SetReadDeadline(time.Now().Add(idle))
	return true
}

// beginRequest marks the connection busy with the per-request deadline.
// Bytes have arrived, so even a closing server serves this request.
func (c *conn) beginRequest(read time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.idle = false
	c.nc.SetReadDeadline(time.Now().Add(read))
}

func (c *conn) isClosing() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closing
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
				s.log.Warn("bad request; connection closed without an answer", "remote", peer, "reason", le.msg)
			case isTimeout(err):
				s.stats.timeouts.Add(1)
				s.log.Warn("request not complete within the read timeout; connection closed", "remote", peer, "read_timeout", s.cfg.ReadTimeout)
			case errors.Is(err, io.ErrUnexpectedEOF):
				s.log.Info("client closed the connection in the middle of a request", "remote", peer)
			default:
				s.log.Warn("connection read failed", "remote", peer, "err", err)
			}
			return
		}
		action := s.answer(&req, peer)
		c.nc.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
		if _, err := io.WriteString(c.nc, "action="+action+"\n\n"); err != nil {
			s.log.Warn("writing the answer failed; connection closed", "remote", peer, "err", err)
			return
		}
		if c.isClosing() {
			return
		}
	}
}

// answer decides one request, recovering a panic into a temporary failure.
func (s *Server) answer(req *Request, peer string) (action string) {
	defer func() {
		if p := recover(); p != nil {
			s.stats.internalErr.Add(1)
			s.stats.requests.Add(1)
			s.log.Error("request handling panicked; answered with a temporary failure", "remote", peer,
				"client_address", req.ClientAddress, "panic", fmt.Sprint(p))
			action = internalErrorAction
		}
	}()
	d := s.Decide(req)
	s.stats.requests.Add(1)
	switch {
	case d.Verdict == TempFail:
		s.stats.tempFail.Add(1)
		s.log.Warn("cannot classify; answered with a temporary failure", "remote", peer,
			"reason", d.Reason, "client_address", truncate(req.ClientAddress, 100),
			"protocol_state", req.ProtocolState, "queue_id", req.QueueID, "action", d.Action)
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
	}
	if s.log.Enabled(context.Background(), slog.LevelDebug) {
		attrs := []any{
			"client_address", d.Addr.String(), "class", d.Result.Class.String(), "verdict", d.Verdict.String(),
			"action", d.Action, "client_name", req.ClientName, "protocol_state", req.ProtocolState,
			"queue_id", req.QueueID, "instance", req.Instance,
		}
		if d.Result.Prefix().IsValid() {
			attrs = append(attrs, "prefix", d.Result.Prefix().String(), "regions", d.Result.Regions.String(), "service", d.Result.Service.String())
		}
		if d.OtherRegion() {
			attrs = append(attrs, "other_regions", d.Other.Regions.String(), "other_prefix", d.Other.Prefix().String())
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
