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

	"github.com/seed-b311f21d/go-mimecastip/matcher"
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
	"bart.Table", "mimecastip", "mimecastip.Lookup", "matcher.Slot",
	"bart.Fast", "bart.Lite", "netipx.IPSet", "linear", "sorted", "flat", "loop",
}

// BenchmarkLookup measures a lookup of a netip.Addr. Every peer unmaps
// IPv4-mapped addresses first, as mimecastip does (bart, netip.Prefix and
// netipx do not match them otherwise); membership-only peers (bart.Lite,
// netipx.IPSet) answer a simpler question. "flat" is the floor: a
// branchless DIR-16-8-8 of codes; "loop" reads the stream only.
func BenchmarkLookup(b *testing.B) {
	p := getPeers()
	m, err := matcher.New(regions.All())
	if err != nil {
		b.Fatal(err)
	}
	for _, stream := range Streams {
		as := Addrs(stream)
		for _, impl := range lookupImpls {
			b.Run("stream="+stream+"/impl="+impl, func(b *testing.B) {
				var acc uint64
				i := 0
				switch impl {
				case "bart.Table":
					for b.Loop() {
						c, _ := p.table.Lookup(as[i&mask].Unmap())
						acc += uint64(c)
						i++
					}
				case "mimecastip":
					c := p.c
					for b.Loop() {
						acc += uint64(c.Lookup(as[i&mask]).Class)
						i++
					}
				case "mimecastip.Lookup":
					for b.Loop() {
						acc += uint64(mimecastip.Lookup(as[i&mask]).Class)
						i++
					}
				case "matcher.Slot":
					for b.Loop() {
						acc += uint64(m.Slot(as[i&mask]))
						i++
					}
				case "bart.Fast":
					for b.Loop() {
						c, _ := p.fast.Lookup(as[i&mask].Unmap())
						acc += uint64(c)
						i++
					}
				case "bart.Lite":
					for b.Loop() {
						if p.lite.Contains(as[i&mask].Unmap()) {
							acc++
						}
						i++
					}
				case "netipx.IPSet":
					for b.Loop() {
						if p.ipset.Contains(as[i&mask].Unmap()) {
							acc++
						}
						i++
					}
				case "linear":
					for b.Loop() {
						acc += uint64(p.linear.Lookup(as[i&mask]))
						i++
					}
				case "sorted":
					for b.Loop() {
						acc += uint64(p.sorted.Lookup(as[i&mask]))
						i++
					}
				case "flat":
					for b.Loop() {
						acc += uint64(p.flat.Lookup(as[i&mask]))
						i++
					}
				case "loop":
					for b.Loop() {
						acc += uint64(as[i&mask].BitLen())
						i++
					}
				}
				sink += acc
			})
		}
	}
}

// BenchmarkLookupString measures classifying an address given as a
// string, against netip.ParseAddr + bart.Table.Lookup; "loop" reads the
// stream and sums the bytes of each string.
func BenchmarkLookupString(b *testing.B) {
	p := getPeers()
	for _, stream := range Streams {
		for _, impl := range []string{"parseaddr+bart.Table", "mimecastip", "parseaddr", "loop"} {
			b.Run("stream="+stream+"/impl="+impl, func(b *testing.B) {
				ss := Strings(stream)
				var acc uint64
				i := 0
				switch impl {
				case "parseaddr+bart.Table":
					for b.Loop() {
						a, err := netip.ParseAddr(ss[i&mask])
						if err != nil {
							b.Fatal(err)
						}
						c, _ := p.table.Lookup(a.Unmap())
						acc += uint64(c)
						i++
					}
				case "mimecastip":
					c := p.c
					for b.Loop() {
						r, err := c.LookupString(ss[i&mask])
						if err != nil {
							b.Fatal(err)
						}
						acc += uint64(r.Class)
						i++
					}
				case "parseaddr":
					for b.Loop() {
						a, err := netip.ParseAddr(ss[i&mask])
						if err != nil {
							b.Fatal(err)
						}
						acc += uint64(a.BitLen())
						i++
					}
				case "loop": // the stream read and every byte of the string touched
					for b.Loop() {
						s := ss[i&mask]
						for j := 0; j < len(s); j++ {
							acc += uint64(s[j])
						}
						i++
					}
				}
				sink += acc
			})
		}
	}
}

// BenchmarkLookupNetAddr measures classifying conn.RemoteAddr() (a
// *net.TCPAddr in a net.Addr), against a type assertion,
// netip.AddrFromSlice, Unmap and bart.Table.Lookup.
func BenchmarkLookupNetAddr(b *testing.B) {
	p := getPeers()
	for _, stream := range Streams {
		for _, impl := range []string{"addrfromslice+bart.Table", "mimecastip"} {
			b.Run("stream="+stream+"/impl="+impl, func(b *testing.B) {
				ns := NetAddrs(stream)
				var acc uint64
				i := 0
				switch impl {
				case "addrfromslice+bart.Table":
					for b.Loop() {
						var na net.Addr = &ns[i&mask]
						tcp, ok := na.(*net.TCPAddr)
						if !ok {
							b.Fatal("not a TCPAddr")
						}
						a, _ := netip.AddrFromSlice(tcp.IP)
						c, _ := p.table.Lookup(a.Unmap())
						acc += uint64(c)
						i++
					}
				case "mimecastip":
					c := p.c
					for b.Loop() {
						acc += uint64(c.LookupNetAddr(&ns[i&mask]).Class)
						i++
					}
				}
				sink += acc
			})
		}
	}
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
	rs := regions.All()
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
