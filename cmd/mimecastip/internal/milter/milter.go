// Package milter is the mimecastip milter: a mail filter (the Sendmail
// milter protocol, version 6, spoken by Postfix's smtpd_milters, Sendmail's
// INPUT_MAIL_FILTER and maddy's check.milter) that applies the lockdown
// tiers at connect and, in tag mode, adds the trace verdict as a header.
//
// At connect, in enforce mode:
//
//	a Mimecast gateway or non-SPF relay of the configured regions  accept (no more milter work for the connection)
//	a Mimecast gateway of another region, or a retired range       451 4.7.1 (temporary: never lose mail over data)
//	any other address                                              550 5.7.1
//	no usable address, an internal error or a panic                451 4.3.0 / 4.7.1 (fail closed)
//
// In tag mode nobody is refused for the address (internal errors still
// fail temporarily); at the end of each message the header DefaultTagHeader
// is inserted first, with the trace verdict of [trace.Tracer.TraceAddr]
// for the client and the message's headers, and copies of it the sender
// wrote are deleted.
//
// Decisions come from a [Snapshot]: a [Decider] and a [trace.Tracer]
// built from one read of the data, swapped as one value on [Server.Reload].
// The Decider is this package's own small interface; [Loader] is the
// adapter that builds it (see adapter.go).
package milter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	gomilter "github.com/d--j/go-milter"

	"github.com/seed-b311f21d/go-mimecastip/mimecastip"
	"github.com/seed-b311f21d/go-mimecastip/mimecastip/trace"
	"github.com/seed-b311f21d/go-mimecastip/regions"
)

// DefaultTagHeader is the header tag mode inserts. It is this project's
// own name: X-Mimecast-* fields are Mimecast's, and trace reads them as
// part of the trail.
const DefaultTagHeader = "X-Mimecastip-Trace"

// DefaultMaxHeaderBytes bounds the headers a connection keeps for the
// trace in tag mode; beyond it the trail is read from the first part.
const DefaultMaxHeaderBytes = trace.DefaultMaxHeaderBytes

// Verdict is what the milter does with a connection.
type Verdict uint8

// The verdicts.
const (
	// TempFail is a temporary failure (4xx): another region's gateway, a
	// retired range, no usable address, an internal error. It is the
	// zero Verdict, so a Decision left unset fails closed.
	TempFail Verdict = iota
	// Pass lets the client through.
	Pass
	// Reject is a permanent failure (5xx): an address surely not
	// Mimecast's.
	Reject
)

// String returns "pass", "reject" or "tempfail".
func (v Verdict) String() string {
	switch v {
	case Pass:
		return "pass"
	case Reject:
		return "reject"
	case TempFail:
		return "tempfail"
	}
	return fmt.Sprintf("verdict(%d)", uint8(v))
}

// Decision is the answer for one client address.
type Decision struct {
	Verdict Verdict
	// Tier names the rule that decided: "region" (own region),
	// "other-region", "retired", "foreign" or "error".
	Tier    string
	Addr    netip.Addr
	Class   mimecastip.Class // within the configured regions
	Regions regions.Set      // of the range that decided; empty when none
	Prefix  netip.Prefix     // the range that decided; zero when none
	Reason  string           // for an error: what went wrong
}

// Decider decides a client address. It must be safe for concurrent use.
type Decider interface {
	DecideAddr(netip.Addr) Decision
}

// Snapshot is what one read of the data gives the milter.
type Snapshot struct {
	Decider Decider
	Tracer  *trace.Tracer // for tag mode
	Source  string        // names the data, for logs
	Ranges  int           // the number of ranges in scope, for logs
}

// Config configures a [Server].
type Config struct {
	// Load reads the data and builds a Snapshot; New calls it once and
	// Reload again.
	Load func() (*Snapshot, error)
	// Tag selects tag mode: add the trace header, refuse nobody.
	Tag bool
	// TagHeader is the header of tag mode; "" means DefaultTagHeader.
	TagHeader string
	// MaxHeaderBytes bounds the headers kept per message in tag mode;
	// 0 means DefaultMaxHeaderBytes.
	MaxHeaderBytes int
	// ReadTimeout closes a milter connection idle this long (0: never;
	// the MTA keeps connections open between its SMTP commands).
	ReadTimeout time.Duration
	// Logger receives the decisions (debug) and errors; nil discards.
	Logger *slog.Logger
}

// Server is a running milter.
type Server struct {
	cfg  Config
	cur  atomic.Pointer[Snapshot]
	srv  *gomilter.Server
	mu   sync.Mutex // one reload at a time
	log  *slog.Logger
	test func(netip.Addr) // a test hook, called in Connect
}

// New loads the first snapshot and returns a Server.
func New(cfg Config) (*Server, error) {
	if cfg.Load == nil {
		return nil, errors.New("milter: no Load function")
	}
	if cfg.TagHeader == "" {
		cfg.TagHeader = DefaultTagHeader
	}
	if !validHeaderName(cfg.TagHeader) {
		return nil, fmt.Errorf("milter: %q is not a header field name", cfg.TagHeader)
	}
	if strings.HasPrefix(strings.ToLower(cfg.TagHeader), "x-mimecast-") || strings.EqualFold(cfg.TagHeader, "x-mc-unique") {
		return nil, fmt.Errorf("milter: %q is a Mimecast header name; tag with a name of your own", cfg.TagHeader)
	}
	if cfg.MaxHeaderBytes <= 0 {
		cfg.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	s := &Server{cfg: cfg, log: cfg.Logger}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	snap, err := cfg.Load()
	if err != nil {
		return nil, err
	}
	if snap == nil || snap.Decider == nil || snap.Tracer == nil {
		return nil, errors.New("milter: Load returned an incomplete snapshot")
	}
	s.cur.Store(snap)
	protocol := gomilter.OptNoHelo | gomilter.OptNoMailFrom | gomilter.OptNoRcptTo | gomilter.OptNoBody |
		gomilter.OptNoUnknown | gomilter.OptNoData
	if !cfg.Tag {
		protocol |= gomilter.OptNoHeaders | gomilter.OptNoEOH
	}
	actions := gomilter.OptAction(0) // enforce mode only accepts and refuses
	if cfg.Tag {
		actions = gomilter.OptAddHeader | gomilter.OptChangeHeader
	}
	opts := []gomilter.Option{
		gomilter.WithMilter(func() gomilter.Milter { return &session{s: s} }),
		gomilter.WithProtocol(protocol),
		gomilter.WithActions(actions),
		gomilter.WithNegotiationCallback(negotiate(cfg.Tag)),
	}
	if cfg.ReadTimeout > 0 {
		opts = append(opts, gomilter.WithReadTimeout(cfg.ReadTimeout))
	}
	s.srv = gomilter.NewServer(opts...)
	return s, nil
}

// negotiate accepts what the MTA offers instead of insisting on every
// wish: the protocol steps it will not skip are answered with "continue",
// and header deletion (which maddy does not offer) is optional. Tag mode
// needs header insertion; without it the negotiation fails, and the MTA
// applies its own failure action (Postfix milter_default_action,
// Sendmail F=T, maddy fail_open false: a temporary failure).
func negotiate(tag bool) gomilter.NegotiationCallbackFunc {
	return func(mtaVersion, milterVersion uint32, mtaActions, milterActions gomilter.OptAction, mtaProtocol, milterProtocol gomilter.OptProtocol, offered gomilter.DataSize) (uint32, gomilter.OptAction, gomilter.OptProtocol, gomilter.DataSize, error) {
		version := min(mtaVersion, milterVersion)
		if version < 2 {
			return 0, 0, 0, 0, fmt.Errorf("milter: MTA speaks milter protocol version %d; want 2 to 6", mtaVersion)
		}
		if tag && mtaActions&gomilter.OptAddHeader == 0 {
			return 0, 0, 0, 0, errors.New("milter: tag mode needs the add-header action, which the MTA does not offer")
		}
		return version, milterActions & mtaActions, milterProtocol & mtaProtocol, offered, nil
	}
}

// Current returns the snapshot in use.
func (s *Server) Current() *Snapshot { return s.cur.Load() }

// Reload builds a new snapshot with Config.Load and swaps it in. On error
// the old snapshot stays and the error is returned (and logged).
func (s *Server) Reload() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	snap, err := s.cfg.Load()
	if err == nil && (snap == nil || snap.Decider == nil || snap.Tracer == nil) {
		err = errors.New("milter: Load returned an incomplete snapshot")
	}
	if err != nil {
		s.log.Error("reload failed; keeping the old data", "err", err)
		return err
	}
	s.cur.Store(snap)
	s.log.Info("reloaded", "data", snap.Source, "ranges", snap.Ranges)
	return nil
}

// Serve accepts milter connections on l until Shutdown or Close; it
// returns [ErrServerClosed] then.
func (s *Server) Serve(l net.Listener) error {
	err := s.srv.Serve(l)
	// go-milter returns nil after Shutdown or Close.
	if err == nil || errors.Is(err, gomilter.ErrServerClosed) {
		return ErrServerClosed
	}
	return err
}

// ErrServerClosed is returned by Serve after Shutdown or Close.
var ErrServerClosed = errors.New("milter: server closed")

// Shutdown stops accepting and waits for open milter connections to end
// until ctx is done.
func (s *Server) Shutdown(ctx context.Context) error { return s.srv.Shutdown(ctx) }

// Close closes the listeners and every connection.
func (s *Server) Close() error { return s.srv.Close() }

// The SMTP replies.
const (
	rejectText   = "5.7.1 %s is not a Mimecast gateway for this domain"
	otherText    = "4.7.1 %s is in Mimecast range %s (%s), not of this domain's region; try again later"
	retiredText  = "4.7.1 %s is in retired Mimecast range %s; try again later"
	noAddrText   = "4.7.1 cannot classify the client address"
	internalText = "4.3.0 milter internal error; try again later"
)

func reply(code uint16, text string) *gomilter.Response {
	r, err := gomilter.RejectWithCodeAndReason(code, text)
	if err != nil {
		return gomilter.RespTempFail
	}
	return r
}

// response is the connect-time reply to d in enforce mode.
func response(d Decision) *gomilter.Response {
	switch d.Verdict {
	case Pass:
		return gomilter.RespAccept
	case Reject:
		return reply(550, fmt.Sprintf(rejectText, d.Addr))
	}
	switch d.Tier {
	case "other-region":
		return reply(451, fmt.Sprintf(otherText, d.Addr, d.Prefix, d.Regions))
	case "retired":
		return reply(451, fmt.Sprintf(retiredText, d.Addr, d.Prefix))
	case "error":
		return reply(451, internalText)
	}
	return reply(451, noAddrText)
}

// session is the state of one milter connection (one SMTP connection).
type session struct {
	gomilter.NoOpMilter
	s     *Server
	snap  *Snapshot // the data decided with at connect
	addr  netip.Addr
	dec   Decision
	ok    bool // Connect decided
	hdrs  []trace.Field
	size  int
	trunc bool
	// copies counts the sender's fields named like the tag header,
	// beyond the MaxHeaderBytes limit too: every one is deleted.
	copies int
}

// safe runs f, turning a panic into a temporary failure.
func (m *session) safe(stage string, f func() *gomilter.Response) (resp *gomilter.Response) {
	defer func() {
		if r := recover(); r != nil {
			m.s.log.Error("panic in milter callback; answering tempfail", "stage", stage, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			resp = reply(451, internalText)
		}
	}()
	return f()
}

// Connect decides the client (the milter protocol's connect event).
func (m *session) Connect(host, family string, port uint16, addr string, _ gomilter.Modifier) (*gomilter.Response, error) {
	return m.safe("connect", func() *gomilter.Response {
		m.ok, m.hdrs, m.size, m.trunc, m.copies = false, nil, 0, false, 0
		m.snap = m.s.cur.Load()
		var a netip.Addr
		if family == "tcp4" || family == "tcp6" {
			// Not mimecastip.ParseAddr: the MTA passes a bare address
			// (Sendmail tags IPv6 with "IPv6:"); brackets or a port here
			// are a malformed connect, answered with a tempfail.
			if p, err := netip.ParseAddr(strings.TrimPrefix(addr, "IPv6:")); err == nil {
				a = p.Unmap().WithZone("")
			}
		}
		if !a.IsValid() {
			m.dec = Decision{Verdict: TempFail, Tier: "error", Reason: fmt.Sprintf("no IP client address (family %s, address %q)", family, addr)}
			m.s.log.Warn("cannot classify client; tempfail", "family", family, "addr", addr, "host", host)
			return reply(451, noAddrText)
		}
		if m.s.test != nil {
			m.s.test(a)
		}
		m.addr = a
		m.dec = m.snap.Decider.DecideAddr(a)
		m.ok = true
		m.s.log.Debug("decision", "client_address", a, "host", host, "verdict", m.dec.Verdict, "tier", m.dec.Tier,
			"class", m.dec.Class, "regions", m.dec.Regions.String(), "prefix", prefixText(m.dec.Prefix), "mode", m.mode())
		if m.dec.Verdict == TempFail && m.dec.Tier == "error" {
			return reply(451, internalText)
		}
		if m.s.cfg.Tag {
			return gomilter.RespContinue
		}
		return response(m.dec)
	}), nil
}

func (m *session) mode() string {
	if m.s.cfg.Tag {
		return "tag"
	}
	return "enforce"
}

func prefixText(p netip.Prefix) string {
	if !p.IsValid() {
		return "-"
	}
	return p.String()
}

// Header keeps a header field for the trace, within MaxHeaderBytes.
func (m *session) Header(name, value string, _ gomilter.Modifier) (*gomilter.Response, error) {
	return m.safe("header", func() *gomilter.Response {
		if strings.EqualFold(strings.TrimSpace(name), m.s.cfg.TagHeader) {
			m.copies++
		}
		if m.trunc {
			return gomilter.RespContinue
		}
		m.size += len(name) + len(value) + 3
		if m.size > m.s.cfg.MaxHeaderBytes {
			m.trunc = true
			return gomilter.RespContinue
		}
		v := strings.TrimSpace(strings.NewReplacer("\r\n", "", "\n", "").Replace(value))
		m.hdrs = append(m.hdrs, trace.Field{Name: name, Value: v})
		return gomilter.RespContinue
	}), nil
}

// EndOfMessage adds the tag header (tag mode only gets here).
func (m *session) EndOfMessage(mod gomilter.Modifier) (*gomilter.Response, error) {
	return m.safe("eom", func() *gomilter.Response {
		defer func() { m.hdrs, m.size, m.trunc, m.copies = nil, 0, false, 0 }()
		if !m.ok {
			return reply(451, internalText)
		}
		r := m.snap.Tracer.TraceAddr(m.addr, &trace.Message{Fields: m.hdrs})
		value := TagValue(&r, m.dec, m.trunc)
		name := m.s.cfg.TagHeader
		// Delete the sender's copies of our header, last first, so the
		// indexes of the others stay valid.
		n := m.copies
		if n > 0 && mod.Actions()&gomilter.OptChangeHeader == 0 {
			// maddy cannot delete header fields: ours still goes first.
			m.s.log.Warn("the MTA cannot delete header fields; the sender's copies of the tag header stay below ours", "client_address", m.addr, "copies", n)
			n = 0
		}
		for i := n; i >= 1; i-- {
			if err := mod.ChangeHeader(i, name, ""); err != nil {
				m.s.log.Error("deleting a forged tag header failed; tempfail", "err", err)
				return reply(451, internalText)
			}
		}
		if err := mod.InsertHeader(0, name, value); err != nil {
			m.s.log.Error("adding the tag header failed; tempfail", "err", err)
			return reply(451, internalText)
		}
		m.s.log.Debug("tagged", "client_address", m.addr, "verdict", r.Verdict, "header", name+": "+value)
		return gomilter.RespContinue
	}), nil
}

// Abort forgets the message's headers.
func (m *session) Abort(gomilter.Modifier) error {
	m.hdrs, m.size, m.trunc, m.copies = nil, 0, false, 0
	return nil
}

// TagValue is the tag header's value:
//
//	mimecast; address=170.10.129.124; class=mimecast; regions=us; prefix=170.10.129.0/24; decision=pass
//	forged; address=198.51.100.7; class=foreign; regions=; prefix=; decision=reject
//
// verdict first (the trace token), then the facts; "; truncated" when the
// headers were too large to read whole.
func TagValue(r *trace.Result, d Decision, truncated bool) string {
	var b strings.Builder
	b.WriteString(r.Verdict.String())
	b.WriteString("; address=")
	if r.Address.IsValid() {
		b.WriteString(r.Address.String())
	}
	b.WriteString("; class=")
	b.WriteString(r.Class.String())
	b.WriteString("; regions=")
	b.WriteString(r.Regions().String())
	b.WriteString("; prefix=")
	if p := r.Prefix(); p.IsValid() {
		b.WriteString(p.String())
	}
	if r.Grid != 0 {
		b.WriteString("; grid=")
		b.WriteString(r.Grid.String())
	}
	b.WriteString("; decision=")
	b.WriteString(d.Verdict.String())
	if truncated {
		b.WriteString("; truncated")
	}
	return b.String()
}

func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 33 || c > 126 || c == ':' {
			return false
		}
	}
	return true
}
