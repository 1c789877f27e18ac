// Package spftest runs a real DNS server on loopback for tests of SPF
// expansion: github.com/miekg/dns on 127.0.0.1, UDP and TCP on the same
// port, serving TXT records from a zone the test controls. Answers larger
// than the client's UDP size are truncated, so the Go resolver retries over
// TCP, as it does against a real server.
//
// Only tests import this package.
package spftest

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/seed-b311f21d/go-mimecastip/regions"
)

// Server is a DNS server on 127.0.0.1 serving TXT records.
type Server struct {
	Addr string // "127.0.0.1:PORT", UDP and TCP

	mu      sync.Mutex
	txt     map[string][]string // lower-case name without final dot -> records
	rcode   map[string]int      // name -> forced response code
	silent  map[string]bool     // name -> never answer
	queries atomic.Int64
	tcp     atomic.Int64
	log     []string
}

// Start starts a Server serving zone (name -> TXT records) and stops it
// when the test ends. A name not in zone gets NXDOMAIN.
func Start(t testing.TB, zone map[string][]string) *Server {
	t.Helper()
	s := &Server{txt: map[string][]string{}, rcode: map[string]int{}, silent: map[string]bool{}}
	for n, recs := range zone {
		s.Set(n, recs...)
	}
	pc, ln := listenPair(t)
	s.Addr = pc.LocalAddr().String()
	h := dns.HandlerFunc(s.serve)
	udp := &dns.Server{PacketConn: pc, Handler: h}
	tcp := &dns.Server{Listener: ln, Handler: h, ReadTimeout: 2 * time.Second, IdleTimeout: func() time.Duration { return 2 * time.Second }}
	var wg sync.WaitGroup
	for _, srv := range []*dns.Server{udp, tcp} {
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		wg.Go(func() { srv.ActivateAndServe() })
		<-started
	}
	t.Cleanup(func() {
		udp.Shutdown()
		tcp.Shutdown()
		wg.Wait()
	})
	return s
}

func key(name string) string { return strings.ToLower(strings.TrimSuffix(name, ".")) }

// Set replaces name's TXT records (none: the name exists with no TXT
// records, a NODATA answer).
func (s *Server) Set(name string, records ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.txt[key(name)] = append([]string{}, records...)
	delete(s.rcode, key(name))
	delete(s.silent, key(name))
}

// Delete removes name: it gets NXDOMAIN.
func (s *Server) Delete(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.txt, key(name))
	delete(s.rcode, key(name))
	delete(s.silent, key(name))
}

// Rcode makes every answer for name carry rcode, e.g. dns.RcodeServerFailure.
func (s *Server) Rcode(name string, rcode int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rcode[key(name)] = rcode
}

// Silence makes the server never answer queries for name.
func (s *Server) Silence(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.silent[key(name)] = true
}

// Queries returns how many queries the server has received, and how many
// of them over TCP.
func (s *Server) Queries() (all, tcp int64) { return s.queries.Load(), s.tcp.Load() }

// Log returns the names queried, in order.
func (s *Server) Log() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string{}, s.log...)
}

func (s *Server) serve(w dns.ResponseWriter, r *dns.Msg) {
	s.queries.Add(1)
	isUDP := w.LocalAddr().Network() == "udp"
	if !isUDP {
		s.tcp.Add(1)
	}
	if len(r.Question) != 1 {
		m := new(dns.Msg)
		m.SetRcode(r, dns.RcodeFormatError)
		w.WriteMsg(m)
		return
	}
	q := r.Question[0]
	k := key(q.Name)
	s.mu.Lock()
	s.log = append(s.log, k)
	silent := s.silent[k]
	rcode, forced := s.rcode[k]
	recs, exists := s.txt[k]
	recs = append([]string{}, recs...)
	s.mu.Unlock()
	if silent {
		return // no answer at all
	}
	m := new(dns.Msg)
	m.SetReply(r)
	m.Authoritative = true
	switch {
	case forced:
		m.Rcode = rcode
	case !exists:
		m.Rcode = dns.RcodeNameError
	case q.Qtype == dns.TypeTXT:
		for _, rec := range recs {
			m.Answer = append(m.Answer, &dns.TXT{
				Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 60},
				Txt: chunks(rec),
			})
		}
	}
	if isUDP {
		size := dns.MinMsgSize
		if opt := r.IsEdns0(); opt != nil {
			size = int(opt.UDPSize())
		}
		m.Truncate(size)
	}
	w.WriteMsg(m)
}

// chunks splits a record into the 255-byte strings of a TXT record.
func chunks(s string) []string {
	if s == "" {
		return []string{""}
	}
	var out []string
	for len(s) > 255 {
		out = append(out, s[:255])
		s = s[255:]
	}
	return append(out, s)
}

// Resolver returns a pure-Go resolver that sends every query to s.
func (s *Server) Resolver() *net.Resolver { return ResolverFor(s.Addr) }

// ResolverFor returns a pure-Go resolver that sends every query to addr
// (the cgo resolver would ignore Dial).
func ResolverFor(addr string) *net.Resolver {
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
	}
}

// StartSilent starts a UDP and TCP listener on 127.0.0.1 that never
// answers: UDP queries are read and dropped, TCP connections are accepted
// and left waiting. It returns the address and stops when the test ends.
func StartSilent(t testing.TB) string {
	t.Helper()
	pc, ln := listenPair(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Go(func() {
		buf := make([]byte, 2048)
		for {
			if _, _, err := pc.ReadFrom(buf); err != nil {
				return
			}
		}
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	})
	t.Cleanup(func() {
		pc.Close()
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return pc.LocalAddr().String()
}

// Record returns a v=spf1 record listing ps (ip4: or ip6:), then the extra
// terms (such as include:NAME), then "-all" unless the last extra term
// already is an "all" (pass "~all" to end with that instead).
func Record(ps []netip.Prefix, extra ...string) string {
	terms := []string{"v=spf1"}
	for _, p := range ps {
		if p.Addr().Is4() {
			terms = append(terms, "ip4:"+p.String())
		} else {
			terms = append(terms, "ip6:"+p.String())
		}
	}
	terms = append(terms, extra...)
	last := terms[len(terms)-1]
	if !strings.HasSuffix(last, "all") {
		terms = append(terms, "-all")
	}
	return strings.Join(terms, " ")
}

// Checked are the regions a refresh checks by default, the global record
// last.
var Checked = []regions.Region{regions.US, regions.USB, regions.CA, regions.EU, regions.DE, regions.AU, regions.ZA, regions.Global}

// ZoneOf returns a zone equal to the SPF-published rows of d: for every
// regional include of [Checked], a record listing the prefixes of d's
// active rows of that region that cite an SPF source, and for the global
// _netblocks.mimecast.com a record including every regional one. A refresh
// of d against this zone finds no drift.
func ZoneOf(d *regions.Dataset) map[string][]string {
	zone := map[string][]string{}
	var incs []string
	for _, r := range Checked {
		if r == regions.Global {
			continue
		}
		in, _ := regions.InfoOf(r)
		var ps []netip.Prefix
		for _, rg := range d.Active() {
			if rg.Regions.Has(r) && rg.SPFPublished() {
				ps = append(ps, rg.Prefix)
			}
		}
		zone[in.SPFInclude] = []string{Record(ps)}
		incs = append(incs, "include:"+in.SPFInclude)
	}
	zone[regions.GlobalSPFRecord] = []string{Record(nil, append(incs, "~all")...)}
	return zone
}

// listenPair opens a UDP socket and a TCP listener on the same free
// loopback port, as a DNS server needs both.
func listenPair(t testing.TB) (net.PacketConn, net.Listener) {
	t.Helper()
	var err error
	for range 20 {
		var pc net.PacketConn
		pc, err = net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("spftest: %v", err)
		}
		var ln net.Listener
		ln, err = net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			return pc, ln
		}
		pc.Close()
	}
	t.Fatalf("spftest: no port free for both UDP and TCP: %v", err)
	return nil, nil
}
