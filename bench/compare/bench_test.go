package compare

import (
	"net"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gaissmai/bart"

	"github.com/seed-b311f21d/go-mimecastip/mimecastip"
	"github.com/seed-b311f21d/go-mimecastip/regions"
)

// Every benchmark has the same shape: walk a pre-built stream by index,
// accumulate the answer so nothing is optimised away, store it in a sink.
// Names are Benchmark<Entry>/stream=<stream>/impl=<impl> so benchstat
// groups them; run.sh prints the ratios to bart.Table.

var sink uint64

const mask = StreamLen - 1

// lookupImpls are the implementations of BenchmarkLookup, reference first.
var lookupImpls = []string{
	"bart.Table", "mimecastip", "mimecastip.Lookup", "lpm.Slot",
	"bart.Fast", "bart.Lite", "netipx.IPSet", "linear", "sorted", "flat", "loop",
}

// BenchmarkLookup measures a lookup of a netip.Addr. Every peer unmaps
// IPv4-mapped addresses first, as mimecastip does (bart, netip.Prefix and
// netipx do not match them otherwise); membership-only peers (bart.Lite,
// netipx.IPSet) answer a simpler question. "flat" is the floor: a
// branchless DIR-16-8-8 of codes; "loop" reads the stream only.
func BenchmarkLookup(b *testing.B) {
	p := getPeers()
	for _, stream := range Streams {
		as := Addrs(stream)
		for _, impl := range lookupImpls {
			loop := lookupLoops[impl]
			b.Run("stream="+stream+"/impl="+impl, func(b *testing.B) {
				sink += loop(b, p, as)
			})
		}
	}
}

// lookupLoops are the loops of BenchmarkLookup, one function per
// implementation, so that each keeps its index and accumulator in
// registers. They count b.N rather than call b.Loop, whose per-iteration
// store to the benchmark's counter, and the spills it causes, add a
// store-to-load round trip to every lookup of every implementation.
var lookupLoops = map[string]func(*testing.B, *peers, []netip.Addr) uint64{
	"bart.Table": func(b *testing.B, p *peers, as []netip.Addr) (acc uint64) {
		t := p.table
		for i := range b.N {
			c, _ := t.Lookup(as[i&mask].Unmap())
			acc += uint64(c)
		}
		return acc
	},
	"mimecastip": func(b *testing.B, p *peers, as []netip.Addr) (acc uint64) {
		c := p.c
		for i := range b.N {
			acc += uint64(c.Lookup(as[i&mask]).Class)
		}
		return acc
	},
	"mimecastip.Lookup": func(b *testing.B, _ *peers, as []netip.Addr) (acc uint64) {
		for i := range b.N {
			acc += uint64(mimecastip.Lookup(as[i&mask]).Class)
		}
		return acc
	},
	"lpm.Slot": func(b *testing.B, p *peers, as []netip.Addr) (acc uint64) {
		m := p.m
		for i := range b.N {
			acc += uint64(m.Slot(as[i&mask]))
		}
		return acc
	},
	"bart.Fast": func(b *testing.B, p *peers, as []netip.Addr) (acc uint64) {
		t := p.fast
		for i := range b.N {
			c, _ := t.Lookup(as[i&mask].Unmap())
			acc += uint64(c)
		}
		return acc
	},
	"bart.Lite": func(b *testing.B, p *peers, as []netip.Addr) (acc uint64) {
		t := p.lite
		for i := range b.N {
			if t.Contains(as[i&mask].Unmap()) {
				acc++
			}
		}
		return acc
	},
	"netipx.IPSet": func(b *testing.B, p *peers, as []netip.Addr) (acc uint64) {
		t := p.ipset
		for i := range b.N {
			if t.Contains(as[i&mask].Unmap()) {
				acc++
			}
		}
		return acc
	},
	"linear": func(b *testing.B, p *peers, as []netip.Addr) (acc uint64) {
		t := p.linear
		for i := range b.N {
			acc += uint64(t.Lookup(as[i&mask]))
		}
		return acc
	},
	"sorted": func(b *testing.B, p *peers, as []netip.Addr) (acc uint64) {
		t := p.sorted
		for i := range b.N {
			acc += uint64(t.Lookup(as[i&mask]))
		}
		return acc
	},
	"flat": func(b *testing.B, p *peers, as []netip.Addr) (acc uint64) {
		t := p.flat
		for i := range b.N {
			acc += uint64(t.Lookup(as[i&mask]))
		}
		return acc
	},
	"loop": func(b *testing.B, _ *peers, as []netip.Addr) (acc uint64) {
		for i := range b.N {
			acc += uint64(as[i&mask].BitLen())
		}
		return acc
	},
}

// BenchmarkLookupString measures classifying an address given as a
// string, against netip.ParseAddr + bart.Table.Lookup; "loop" reads the
// stream and sums the bytes of each string.
func BenchmarkLookupString(b *testing.B) {
	p := getPeers()
	for _, stream := range Streams {
		for _, impl := range []string{"parseaddr+bart.Table", "mimecastip", "parseaddr", "loop"} {
			loop := stringLoops[impl]
			b.Run("stream="+stream+"/impl="+impl, func(b *testing.B) {
				ss := Strings(stream) // built on the first use of a stream
				b.ResetTimer()
				sink += loop(b, p, ss)
			})
		}
	}
}

// stringLoops are the loops of BenchmarkLookupString, one function per
// implementation, counting b.N as lookupLoops do.
var stringLoops = map[string]func(*testing.B, *peers, []string) uint64{
	"parseaddr+bart.Table": func(b *testing.B, p *peers, ss []string) (acc uint64) {
		t := p.table
		for i := range b.N {
			a, err := netip.ParseAddr(ss[i&mask])
			if err != nil {
				b.Fatal(err)
			}
			c, _ := t.Lookup(a.Unmap())
			acc += uint64(c)
		}
		return acc
	},
	"mimecastip": func(b *testing.B, p *peers, ss []string) (acc uint64) {
		c := p.c
		for i := range b.N {
			r, err := c.LookupString(ss[i&mask])
			if err != nil {
				b.Fatal(err)
			}
			acc += uint64(r.Class)
		}
		return acc
	},
	"parseaddr": func(b *testing.B, _ *peers, ss []string) (acc uint64) {
		for i := range b.N {
			a, err := netip.ParseAddr(ss[i&mask])
			if err != nil {
				b.Fatal(err)
			}
			acc += uint64(a.BitLen())
		}
		return acc
	},
	"loop": func(b *testing.B, _ *peers, ss []string) (acc uint64) { // the stream read and every byte of the string touched
		for i := range b.N {
			s := ss[i&mask]
			for j := 0; j < len(s); j++ {
				acc += uint64(s[j])
			}
		}
		return acc
	},
}

// BenchmarkLookupNetAddr measures classifying conn.RemoteAddr() (a
// *net.TCPAddr in a net.Addr), against a type assertion,
// netip.AddrFromSlice, Unmap and bart.Table.Lookup.
func BenchmarkLookupNetAddr(b *testing.B) {
	p := getPeers()
	for _, stream := range Streams {
		for _, impl := range []string{"addrfromslice+bart.Table", "mimecastip"} {
			loop := netAddrLoops[impl]
			b.Run("stream="+stream+"/impl="+impl, func(b *testing.B) {
				ns := NetAddrs(stream) // built on the first use of a stream
				b.ResetTimer()
				sink += loop(b, p, ns)
			})
		}
	}
}

// netAddrLoops are the loops of BenchmarkLookupNetAddr, as lookupLoops.
var netAddrLoops = map[string]func(*testing.B, *peers, []net.TCPAddr) uint64{
	"addrfromslice+bart.Table": func(b *testing.B, p *peers, ns []net.TCPAddr) (acc uint64) {
		t := p.table
		for i := range b.N {
			var na net.Addr = &ns[i&mask]
			tcp, ok := na.(*net.TCPAddr)
			if !ok {
				b.Fatal("not a TCPAddr")
			}
			a, _ := netip.AddrFromSlice(tcp.IP)
			c, _ := t.Lookup(a.Unmap())
			acc += uint64(c)
		}
		return acc
	},
	"mimecastip": func(b *testing.B, p *peers, ns []net.TCPAddr) (acc uint64) {
		c := p.c
		for i := range b.N {
			acc += uint64(c.LookupNetAddr(&ns[i&mask]).Class)
		}
		return acc
	},
}

// BenchmarkParallel runs Lookup from GOMAXPROCS goroutines, with procs=1
// and with every CPU: ns/op is wall time per lookup, so it should divide
// by the number of CPUs (no shared writes on the hot path).
func BenchmarkParallel(b *testing.B) {
	p := getPeers()
	ncpu := runtime.NumCPU()
	procs := []int{1}
	if ncpu > 1 {
		procs = append(procs, ncpu)
	}
	for _, stream := range []string{"mixed", "hits"} {
		as := Addrs(stream)
		for _, impl := range []string{"bart.Table", "mimecastip"} {
			for _, np := range procs {
				b.Run("stream="+stream+"/impl="+impl+"/procs="+itoa(np), func(b *testing.B) {
					defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(np))
					var start atomic.Uint64
					b.RunParallel(func(pb *testing.PB) {
						var acc uint64
						i := int(start.Add(StreamLen/8+12345)) & mask
						switch impl {
						case "bart.Table":
							for pb.Next() {
								c, _ := p.table.Lookup(as[i&mask].Unmap())
								acc += uint64(c)
								i++
							}
						case "mimecastip":
							c := p.c
							for pb.Next() {
								acc += uint64(c.Lookup(as[i&mask]).Class)
								i++
							}
						}
						atomic.AddUint64(&sink, acc)
					})
				})
			}
		}
	}
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}

// BenchmarkBuild measures building from the embedded data. first-use is
// what the first package-level lookup pays: parsing the embedded file
// (regions.Parse) and building the Classifier, trie and IPv4 fast path.
func BenchmarkBuild(b *testing.B) {
	text, err := os.ReadFile("../../regions/ranges.txt")
	if err != nil {
		b.Fatal(err)
	}
	rs := regions.Ranges()
	es := Entries()
	b.Run("impl=first-use", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			d, err := regions.Parse(strings.NewReader(string(text)))
			if err != nil {
				b.Fatal(err)
			}
			if _, err := mimecastip.New(d.Ranges); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("impl=regions.Parse", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := regions.Parse(strings.NewReader(string(text))); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("impl=mimecastip.New", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := mimecastip.New(rs); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("impl=bart.Table", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			t := new(bart.Table[Code])
			for _, e := range es {
				t.Insert(e.Prefix, e.Code)
			}
		}
	})
}
