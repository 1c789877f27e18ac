package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/seed-b311f21d/go-mimecastip/regions"
)

func startGate(t *testing.T, set regions.Set) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	s, err := Start(ln, Config{Trusted: []string{"127.0.0.0/8"}, Regions: set, Hostname: "mx.example.test",
		HeaderTimeout: 500 * time.Millisecond, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.SMTP.Close() })
	return ln.Addr().String()
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

type smtpClient struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func dialProxy(t *testing.T, addr string, header []byte) *smtpClient {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if header != nil {
		if _, err := c.Write(header); err != nil {
			t.Fatal(err)
		}
	}
	return &smtpClient{t: t, c: c, br: bufio.NewReader(c)}
}

// reply reads one (possibly multi-line) SMTP reply.
func (s *smtpClient) reply() string {
	s.t.Helper()
	var all []string
	for {
		line, err := s.br.ReadString('\n')
		if err != nil {
			s.t.Fatalf("reading reply (so far %q): %v", all, err)
		}
		all = append(all, strings.TrimRight(line, "\r\n"))
		if len(line) < 4 || line[3] != '-' {
			return strings.Join(all, "\n")
		}
	}
}

func (s *smtpClient) cmd(line string) string {
	s.t.Helper()
	io.WriteString(s.c, line+"\r\n")
	return s.reply()
}

func v1(src string) []byte {
	a := netip.MustParseAddr(src)
	if a.Is4() {
		return []byte("PROXY TCP4 " + src + " 127.0.0.1 40000 25\r\n")
	}
	return []byte("PROXY TCP6 " + src + " ::1 40000 25\r\n")
}

// v2 builds a binary PROXY v2 header for an IPv4 source.
func v2(src string) []byte {
	var b bytes.Buffer
	b.WriteString("\r\n\r\n\x00\r\nQUIT\n")
	b.WriteByte(0x21) // version 2, PROXY
	b.WriteByte(0x11) // TCP over IPv4
	binary.Write(&b, binary.BigEndian, uint16(12))
	s := netip.MustParseAddr(src).As4()
	b.Write(s[:])
	b.Write([]byte{127, 0, 0, 1})
	binary.Write(&b, binary.BigEndian, uint16(40000))
	binary.Write(&b, binary.BigEndian, uint16(25))
	return b.Bytes()
}

func TestMimecastClientGetsThrough(t *testing.T) {
	addr := startGate(t, 0)
	for name, header := range map[string][]byte{
		"v1 gateway":       v1("170.10.129.5"),
		"v1 non-spf relay": v1("205.139.111.42"),
		"v1 4-in-6":        v1("::ffff:170.10.129.5"),
		"v2 gateway":       v2("170.10.129.6"),
	} {
		t.Run(name, func(t *testing.T) {
			c := dialProxy(t, addr, header)
			if g := c.reply(); !strings.HasPrefix(g, "220 ") {
				t.Fatalf("greeting %q, want 220", g)
			}
			for _, step := range []struct{ cmd, want string }{
				{"EHLO relay.mimecast.test", "250"},
				{"MAIL FROM:<a@sender.test>", "250"},
				{"RCPT TO:<u@example.test>", "250"},
				{"DATA", "354"},
				{"Subject: t\r\n\r\nhello\r\n.", "250"},
				{"QUIT", "221"},
			} {
				if got := c.cmd(step.cmd); !strings.HasPrefix(got, step.want) {
					t.Fatalf("%s: got %q, want %s", step.cmd, got, step.want)
				}
			}
		})
	}
}

func TestForeignClientRefusedAtConnect(t *testing.T) {
	addr := startGate(t, 0)
	for name, header := range map[string][]byte{
		"v1 foreign":      v1("198.51.100.9"),
		"v1 foreign IPv6": v1("2001:db8::5"),
		"v2 foreign":      v2("198.51.100.10"),
		"v1 website":      v1("146.101.202.134"), // Mimecast publishes it, but sends no mail from it
	} {
		t.Run(name, func(t *testing.T) {
			c := dialProxy(t, addr, header)
			g := c.reply()
			if !strings.HasPrefix(g, "554 5.7.1 ") || !strings.Contains(g, "is not a Mimecast gateway") {
				t.Fatalf("greeting %q, want 554 5.7.1", g)
			}
			if got := c.cmd("EHLO spammer.test"); !strings.HasPrefix(got, "503") {
				t.Errorf("EHLO after 554: %q, want 503", got)
			}
			if got := c.cmd("QUIT"); !strings.HasPrefix(got, "221") {
				t.Errorf("QUIT: %q, want 221", got)
			}
		})
	}
}

func TestOtherRegionRefused(t *testing.T) {
	addr := startGate(t, regions.SetOf(regions.EU))
	c := dialProxy(t, addr, v1("170.10.129.5")) // a US gateway
	if g := c.reply(); !strings.HasPrefix(g, "554 ") {
		t.Fatalf("US gateway at an EU-only gate: %q, want 554", g)
	}
}

func TestMissingProxyHeaderFailsClosed(t *testing.T) {
	addr := startGate(t, 0)
	// A trusted proxy that sends no header: no greeting, connection closed
	// after the header timeout. Meanwhile others are served at once.
	silent := dialProxy(t, addr, nil)
	start := time.Now()
	ok := dialProxy(t, addr, v1("170.10.129.5"))
	if g := ok.reply(); !strings.HasPrefix(g, "220 ") {
		t.Fatalf("greeting %q", g)
	}
	if time.Since(start) > 400*time.Millisecond {
		t.Errorf("a silent connection delayed another by %v", time.Since(start))
	}
	b, err := io.ReadAll(silent.br)
	if len(b) != 0 {
		t.Errorf("silent connection got %q (%v), want no greeting", b, err)
	}
	// SMTP without a header (a direct client) is not mistaken for the proxy's address.
	direct := dialProxy(t, addr, []byte("EHLO x\r\n"))
	if b, _ := io.ReadAll(direct.br); len(b) != 0 {
		t.Errorf("direct SMTP without PROXY header got %q", b)
	}
}
