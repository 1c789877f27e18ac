package policy

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/seed-b311f21d/go-mimecastip/mimecastip"
	"github.com/seed-b311f21d/go-mimecastip/regions"
)

// FuzzRequest feeds arbitrary input to the request reader and the
// decision: no panic, limits hold, and nothing passes unless its
// client_address is an IP address of a Mimecast mail range.
func FuzzRequest(f *testing.F) {
	f.Add(postfixRequest(usGateway))
	f.Add(postfixRequest(foreignV6))
	f.Add("client_address=::ffff:170.10.129.5\n\n")
	f.Add("client_address=[IPv6:2001:db8::1]\r\n\r\n")
	f.Add("client_address=170.10.129.5\nclient_address=170.10.129.5\n\n")
	f.Add("request=x\nclient_address=170.10.129.5\n\n")
	f.Add("\n\n\n")
	f.Add("=\n\n")
	f.Add("a=b=c\nclient_address=170.10.129.05\n\n")
	s, err := New(Config{Engine: mustLive(f, Options{})})
	if err != nil {
		f.Fatal(err)
	}
	const maxLine, maxAttrs, maxBytes = 128, 16, 512
	f.Fuzz(func(t *testing.T, in string) {
		br := bufio.NewReaderSize(strings.NewReader(in), maxLine)
		for {
			req, err := readRequest(br, maxAttrs, maxBytes)
			if err != nil {
				var le *limitError
				if !errors.As(err, &le) && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if req.Attributes > maxAttrs {
				t.Fatalf("%d attributes over the limit", req.Attributes)
			}
			d := s.Decide(&req)
			if strings.ContainsAny(d.Action, "\r\n") {
				t.Fatalf("action %q has a line break", d.Action)
			}
			if d.Verdict == Pass {
				a, err := netip.ParseAddr(strings.Trim(strings.TrimPrefix(strings.Trim(req.ClientAddress, "[]"), "IPv6:"), "[]"))
				if err != nil || req.ClientAddressCount != 1 || mimecastip.Lookup(a).Class == mimecastip.Foreign {
					t.Fatalf("pass for client_address %q (count %d)", req.ClientAddress, req.ClientAddressCount)
				}
			}
			if d.Verdict == 0 || d.Action == "" {
				t.Fatalf("no decision for %+v", req)
			}
		}
	})
}

func BenchmarkDecide(b *testing.B) {
	s, err := New(Config{Engine: mustLive(b, Options{Regions: regions.SetOf(regions.US)})})
	if err != nil {
		b.Fatal(err)
	}
	reqs := []Request{
		{ClientAddress: usGateway, ClientAddressCount: 1},
		{ClientAddress: foreignV4, ClientAddressCount: 1},
		{ClientAddress: foreignV6, ClientAddressCount: 1},
	}
	i := 0
	for b.Loop() {
		s.Decide(&reqs[i%len(reqs)])
		i++
	}
}

// BenchmarkRoundTrip measures one Postfix request and its answer over a
// loopback TCP connection.
func BenchmarkRoundTrip(b *testing.B) {
	s, err := New(Config{Engine: mustLive(b, Options{Regions: regions.SetOf(regions.US)})})
	if err != nil {
		b.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go s.Serve(l)
	defer s.Close()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	req := []byte(postfixRequest(usGateway))
	b.SetBytes(int64(len(req)))
	for b.Loop() {
		if _, err := c.Write(req); err != nil {
			b.Fatal(err)
		}
		line, err := br.ReadSlice('\n')
		if err != nil || !bytes.Equal(line, []byte("action=DUNNO\n")) {
			b.Fatalf("%q %v", line, err)
		}
		if _, err := br.ReadSlice('\n'); err != nil {
			b.Fatal(err)
		}
	}
}
