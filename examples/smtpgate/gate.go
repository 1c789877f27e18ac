package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/pires/go-proxyproto"

	"github.com/seed-b311f21d/go-mimecastip/mimecastip"
)

// Gate wraps a listener so that only Mimecast clients reach the SMTP
// server: every accepted connection is classified by its (PROXY) source
// address in its own goroutine, so a slow or silent client never holds up
// the others; a foreign client gets a "554" greeting instead of "220"
// (RFC 5321 section 3.1), its commands get 503 until QUIT, and it never
// reaches the SMTP server.
type Gate struct {
	Classifier *mimecastip.Reloadable
	// Hostname for the 554 greeting.
	Hostname string
	Log      *slog.Logger
	// RefusedTimeout bounds how long a refused client may stay for its
	// QUIT (default 10s).
	RefusedTimeout time.Duration
	// MaxPending bounds the connections being classified or refused at
	// once (default 1000); more are closed at once, so a flood of
	// foreign or silent clients cannot pile up goroutines.
	MaxPending int
}

// Wrap returns a listener whose Accept yields only connections from
// Mimecast (or non-SPF relay) addresses. inner is typically a
// *proxyproto.Listener, whose connections' RemoteAddr is the PROXY source.
func (g *Gate) Wrap(inner net.Listener) net.Listener {
	max := g.MaxPending
	if max <= 0 {
		max = 1000
	}
	gl := &gateListener{Listener: inner, g: g, ch: make(chan net.Conn), done: make(chan struct{}), pending: make(chan struct{}, max)}
	go gl.acceptLoop()
	return gl
}

type gateListener struct {
	net.Listener
	g         *Gate
	ch        chan net.Conn
	done      chan struct{}
	pending   chan struct{} // semaphore of connections in check
	closeOnce sync.Once
	errMu     sync.Mutex
	err       error
}

func (l *gateListener) acceptLoop() {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			l.errMu.Lock()
			l.err = err
			l.errMu.Unlock()
			l.Close()
			return
		}
		select {
		case l.pending <- struct{}{}:
			go func() {
				defer func() { <-l.pending }()
				l.check(c)
			}()
		default:
			l.g.Log.Warn("too many connections waiting for classification; closed", "peer", peer(c))
			c.Close()
		}
	}
}

// check classifies c and hands it to Accept or refuses it.
func (l *gateListener) check(c net.Conn) {
	src, err := sourceAddr(c)
	if err != nil {
		// A trusted proxy that sent no valid PROXY header: fail closed.
		l.g.Log.Warn("no usable PROXY header; connection closed", "peer", peer(c), "err", err)
		c.Close()
		return
	}
	res := l.g.Classifier.LookupNetAddr(src)
	if res.Class == mimecastip.Foreign {
		l.g.Log.Info("refused non-Mimecast client", "client", src.String(), "result", res.String())
		l.refuse(c, src)
		return
	}
	l.g.Log.Debug("accepted Mimecast client", "client", src.String(), "result", res.String())
	select {
	case l.ch <- c:
	case <-l.done:
		c.Close()
	}
}

// sourceAddr returns the client address of c: the PROXY header's source for
// a *proxyproto.Conn (an error when the header is missing, invalid or a
// LOCAL health check), else the socket's remote address.
func sourceAddr(c net.Conn) (net.Addr, error) {
	pc, ok := c.(*proxyproto.Conn)
	if !ok {
		return c.RemoteAddr(), nil
	}
	h := pc.ProxyHeader() // reads the header, within ReadHeaderTimeout
	if h == nil {
		return nil, errors.New("no PROXY header")
	}
	if h.Command.IsLocal() || h.SourceAddr == nil {
		return nil, errors.New("PROXY LOCAL or UNKNOWN: no client address")
	}
	return h.SourceAddr, nil
}

func peer(c net.Conn) string {
	if pc, ok := c.(*proxyproto.Conn); ok {
		return pc.Raw().RemoteAddr().String()
	}
	return c.RemoteAddr().String()
}

// refuse speaks just enough SMTP to refuse c: a 554 greeting, 503 to
// commands, 221 to QUIT.
func (l *gateListener) refuse(c net.Conn, src net.Addr) {
	defer c.Close()
	timeout := l.g.RefusedTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	c.SetDeadline(time.Now().Add(timeout))
	host := ip(src)
	fmt.Fprintf(c, "554 5.7.1 %s %s is not a Mimecast gateway; this server accepts mail only through Mimecast\r\n", l.g.Hostname, host)
	br := bufio.NewReaderSize(io.LimitReader(c, 64<<10), 1024)
	for i := 0; i < 20; i++ {
		line, err := br.ReadSlice('\n')
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return
		}
		if strings.EqualFold(strings.TrimSpace(string(line)), "QUIT") {
			fmt.Fprintf(c, "221 2.0.0 %s closing connection\r\n", l.g.Hostname)
			return
		}
		fmt.Fprintf(c, "503 5.5.1 Bad sequence of commands: this connection is refused, send QUIT\r\n")
	}
}

func ip(a net.Addr) string {
	if t, ok := a.(*net.TCPAddr); ok {
		if v4 := t.IP.To4(); v4 != nil {
			return v4.String()
		}
		return t.IP.String()
	}
	return a.String()
}

func (l *gateListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		l.errMu.Lock()
		defer l.errMu.Unlock()
		if l.err != nil {
			return nil, l.err
		}
		return nil, net.ErrClosed
	}
}

func (l *gateListener) Close() error {
	var err error
	l.closeOnce.Do(func() {
		close(l.done)
		err = l.Listener.Close()
	})
	return err
}

// ProxyListener wraps ln to read PROXY protocol (v1 and v2) headers from
// the trusted proxies (CIDR ranges or addresses): they MUST send one
// (REQUIRE); connections from anywhere else are dropped.
func ProxyListener(ln net.Listener, trusted []string, headerTimeout time.Duration) (*proxyproto.Listener, error) {
	policy, err := proxyproto.TrustProxyHeaderFromRanges(trusted)
	if err != nil {
		return nil, err
	}
	return &proxyproto.Listener{Listener: ln, ConnPolicy: policy, ReadHeaderTimeout: headerTimeout}, nil
}

// backend is a go-smtp backend that accepts and discards mail. Its
// NewSession checks the client again (defence in depth: a listener
// without the Gate still refuses foreign clients, at EHLO).
type backend struct {
	classifier *mimecastip.Reloadable
	log        *slog.Logger
}

func (b *backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	addr := c.Conn().RemoteAddr()
	if b.classifier.LookupNetAddr(addr).Class == mimecastip.Foreign {
		return nil, &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 7, 1},
			Message: ip(addr) + " is not a Mimecast gateway"}
	}
	return &session{log: b.log.With("client", addr.String())}, nil
}

type session struct {
	log  *slog.Logger
	from string
	rcpt []string
}

func (s *session) Reset()        { s.from, s.rcpt = "", nil }
func (s *session) Logout() error { return nil }
func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.rcpt = append(s.rcpt, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	n, err := io.Copy(io.Discard, r)
	if err != nil {
		return err
	}
	s.log.Info("message accepted (discarded by this example)", "from", s.from, "rcpt", s.rcpt, "bytes", n)
	return nil
}
