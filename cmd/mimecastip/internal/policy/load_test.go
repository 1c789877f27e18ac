package policy

import (
	"bufio"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed-b311f21d/go-mimecastip/regions"
)

// oracle classifies by a linear scan of the embedded dataset, independent
// of the matcher: the most specific active range containing the address
// decides; a mail service passes.
type oracle struct{ rs []regions.Range }

func (o oracle) pass(a netip.Addr) bool {
	a = a.Unmap()
	best := -1
	for i, r := range o.rs {
		if r.Prefix.Contains(a) && (best < 0 || r.Prefix.Bits() > o.rs[best].Prefix.Bits()) {
			best = i
		}
	}
	return best >= 0 && o.rs[best].Service.Mail()
}

// sample returns an address for a request and the client_address text:
// inside a published range, a documentation address, IPv6, 4-in-6.
func (o oracle) sample(r *mrand.Rand) (netip.Addr, string) {
	var a netip.Addr
	switch r.IntN(5) {
	case 0, 1: // inside a published range
		p := o.rs[r.IntN(len(o.rs))].Prefix
		b := p.Addr().AsSlice()
		host := len(b)*8 - p.Bits()
		for i := len(b) - 1; i >= 0 && host > 0; i-- {
			n := min(host, 8)
			b[i] |= byte(r.IntN(1 << n))
			host -= n
		}
		a, _ = netip.AddrFromSlice(b)
	case 2: // documentation space, foreign
		a = netip.AddrFrom4([4]byte{198, 51, 100, byte(r.IntN(256))})
	case 3: // random IPv4
		a = netip.AddrFrom4([4]byte{byte(r.IntN(224)), byte(r.IntN(256)), byte(r.IntN(256)), byte(r.IntN(256))})
	default: // IPv6
		a = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: byte(r.IntN(256))})
	}
	s := a.String()
	if a.Is4() && r.IntN(4) == 0 {
		s = "::ffff:" + s
	}
	return a, s
}

// TestLoadAndFaults: many well-behaved connections send thousands of
// requests and check every verdict against the oracle, while other
// clients send garbage, 1 MB lines, HTTP, too many attributes, close in
// the middle of a request, trickle bytes, or connect and idle, and the
// data is reloaded again and again. Bounded to a few seconds.
func TestLoadAndFaults(t *testing.T) {
	duration := 3 * time.Second
	if testing.Short() {
		duration = time.Second
	}
	s, addr := newTestServer(t, Options{}, func(c *Config) {
		c.Logger = nil // tens of thousands of lines otherwise
		c.ReadTimeout = 300 * time.Millisecond
		c.IdleTimeout = time.Second
	})
	o := oracle{rs: regions.Embedded().Active()}
	reject := func(a netip.Addr) string {
		return "REJECT 5.7.1 " + a.Unmap().String() + " is not a Mimecast gateway for this domain"
	}

	const goodConns = 48
	var (
		good, wrong, goodErrs, faultConns atomic.Int64
		wg                                sync.WaitGroup
		wrongMu                           sync.Mutex
		wrongEx                           []string
	)
	stop := time.Now().Add(duration)
	start := time.Now()
	for i := 0; i < goodConns; i++ {
		wg.Add(1)
		go func(seed uint64) {
			defer wg.Done()
			r := mrand.New(mrand.NewPCG(seed, 7))
			c, err := net.Dial("tcp", addr)
			if err != nil {
				goodErrs.Add(1)
				return
			}
			defer c.Close()
			br := bufio.NewReader(c)
			for time.Now().Before(stop) {
				// Sometimes two requests at once (pipelined).
				n := 1 + r.IntN(2)
				want := make([]string, n)
				var buf strings.Builder
				for k := range n {
					a, txt := o.sample(r)
					want[k] = reject(a)
					if o.pass(a) {
						want[k] = "DUNNO"
					}
					buf.WriteString(postfixRequest(txt))
				}
				c.SetDeadline(time.Now().Add(5 * time.Second))
				if _, err := io.WriteString(c, buf.String()); err != nil {
					goodErrs.Add(1)
					return
				}
				for k := range n {
					got, err := readReply(br)
					if err != nil {
						goodErrs.Add(1)
						return
					}
					good.Add(1)
					if got != want[k] {
						wrong.Add(1)
						wrongMu.Lock()
						if len(wrongEx) < 5 {
							wrongEx = append(wrongEx, fmt.Sprintf("got %q want %q", got, want[k]))
						}
						wrongMu.Unlock()
					}
				}
			}
		}(uint64(i))
	}

	// Faulty clients: each kind in a loop on fresh connections.
	faults := map[string]func(net.Conn){
		"garbage": func(c net.Conn) {
			b := make([]byte, 4096)
			rand.Read(b)
			c.Write(b)
			io.Copy(io.Discard, c)
		},
		"1MB line": func(c net.Conn) {
			go io.Copy(io.Discard, c)
			io.WriteString(c, "client_address=198.51.100.1\nsender="+strings.Repeat("x", 1<<20)+"\n\n")
		},
		"close mid-request": func(c net.Conn) {
			io.WriteString(c, postfixRequest(usGateway)[:200])
		},
		"trickle": func(c net.Conn) {
			for _, b := range []byte(postfixRequest(usGateway)) {
				if _, err := c.Write([]byte{b}); err != nil {
					return
				}
				time.Sleep(20 * time.Millisecond)
			}
		},
		"too many attributes": func(c net.Conn) {
			go io.Copy(io.Discard, c)
			io.WriteString(c, strings.Repeat("a=b\n", 10000)+"\n")
		},
		"http": func(c net.Conn) {
			io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
			io.Copy(io.Discard, c)
		},
		"idle": func(c net.Conn) {
			io.Copy(io.Discard, c)
		},
		"half request then read": func(c net.Conn) {
			io.WriteString(c, "client_address=170.10.129.5\n")
			io.Copy(io.Discard, c)
		},
	}
	for name, f := range faults {
		for k := 0; k < 2; k++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for time.Now().Before(stop) {
					c, err := net.Dial("tcp", addr)
					if err != nil {
						t.Errorf("fault client %s: %v", name, err)
						return
					}
					faultConns.Add(1)
					c.SetDeadline(stop.Add(2 * time.Second))
					f(c)
					c.Close()
					// Enough faults to matter without starving the
					// good clients of CPU (under -race on 2 cores).
					time.Sleep(10 * time.Millisecond)
				}
			}()
		}
	}

	// Reloads (SIGHUP in the command) during the load.
	wg.Add(1)
	var reloads int
	go func() {
		defer wg.Done()
		for time.Now().Before(stop) {
			if err := s.Reload(); err != nil {
				t.Errorf("reload: %v", err)
			}
			reloads++
			time.Sleep(100 * time.Millisecond)
		}
	}()
	wg.Wait()
	elapsed := time.Since(start)

	st := s.Stats()
	t.Logf("%d requests over %d good connections in %v (%.0f/s), %d wrong; %d fault connections; %d reloads; stats %+v",
		good.Load(), goodConns, elapsed.Round(time.Millisecond), float64(good.Load())/elapsed.Seconds(), wrong.Load(), faultConns.Load(), reloads, st)
	if wrong.Load() != 0 {
		t.Errorf("%d wrong verdicts, e.g. %q", wrong.Load(), wrongEx)
	}
	if goodErrs.Load() != 0 {
		t.Errorf("%d good connections failed", goodErrs.Load())
	}
	if good.Load() < 1000 {
		t.Errorf("only %d requests answered", good.Load())
	}
	if st.ProtocolErrors == 0 || st.Timeouts == 0 {
		t.Errorf("faults not seen: %+v", st)
	}
	if st.InternalErrors != 0 {
		t.Errorf("internal errors: %d", st.InternalErrors)
	}
	// Still healthy, then a graceful shutdown closes everything.
	if got := dial(t, addr).ask(postfixRequest(foreignV4)); got != rejectText {
		t.Errorf("after the load: %q", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if n := s.Stats().ConnsOpen; n != 0 {
		t.Errorf("%d connections open after shutdown", n)
	}
}
