package bench

import (
	"bytes"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"sync"
	"testing"

	"github.com/seed-b311f21d/go-mimecastip/mimecastip"
	"github.com/seed-b311f21d/go-mimecastip/regions"
)

const (
	streamLen = 1 << 20 // addresses a stream
	mask      = streamLen - 1
	strLen    = 1 << 16 // strings and net.Addrs a stream (they cost more memory)
	strMask   = strLen - 1
)

type stream struct {
	name  string
	addrs []netip.Addr
}

var (
	streamsOnce sync.Once
	streams     []stream        // mixed, hits, ipv6, mapped
	strStreams  []stringStream  // for LookupString
	netStreams  []netAddrStream // for LookupNetAddr
)

type stringStream struct {
	name string
	s    []string
}

type netAddrStream struct {
	name  string
	addrs []net.Addr
}

// randomIn returns a random address inside canonical prefix p.
func randomIn(rng *rand.Rand, p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		if rng.IntN(2) == 1 {
			b[i/8] |= 0x80 >> (i % 8)
		}
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

func random4(rng *rand.Rand) netip.Addr {
	v := rng.Uint32()
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

func random6(rng *rand.Rand) netip.Addr {
	var b [16]byte
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	b[0] = 0x20 | b[0]&0x1f // 2000::/3, where real clients are
	return netip.AddrFrom16(b)
}

// buildStreams builds every stream, deterministically, once.
func buildStreams() {
	rng := rand.New(rand.NewPCG(42, 42))
	var all, mail []netip.Prefix
	for _, r := range regions.Ranges() {
		if r.Retired {
			continue
		}
		all = append(all, r.Prefix)
		if r.Service.Mail() {
			mail = append(mail, r.Prefix)
		}
	}
	mixed := make([]netip.Addr, streamLen)
	hits := make([]netip.Addr, streamLen)
	v6 := make([]netip.Addr, streamLen)
	mapped := make([]netip.Addr, streamLen)
	for i := range streamLen {
		if i%2 == 0 {
			mixed[i] = randomIn(rng, all[rng.IntN(len(all))])
		} else {
			mixed[i] = random4(rng)
		}
		hits[i] = randomIn(rng, mail[rng.IntN(len(mail))])
		v6[i] = random6(rng)
		mapped[i] = netip.AddrFrom16(mixed[i].As16())
	}
	streams = []stream{{"mixed", mixed}, {"hits", hits}, {"ipv6", v6}, {"mapped", mapped}}

	v4s := make([]string, strLen)
	v4port := make([]string, strLen)
	v6s := make([]string, strLen)
	v6port := make([]string, strLen)
	for i := range strLen {
		v4s[i] = mixed[i].String()
		v4port[i] = v4s[i] + ":25"
		v6s[i] = v6[i].String()
		v6port[i] = "[" + v6s[i] + "]:25"
	}
	strStreams = []stringStream{{"v4", v4s}, {"v4port", v4port}, {"v6", v6s}, {"v6port", v6port}}

	tcp4 := make([]net.Addr, strLen)
	tcp16 := make([]net.Addr, strLen)
	udp := make([]net.Addr, strLen)
	for i := range strLen {
		tcp4[i] = &net.TCPAddr{IP: mixed[i].AsSlice(), Port: 25}
		tcp16[i] = &net.TCPAddr{IP: mapped[i].AsSlice(), Port: 25}
		udp[i] = &net.UDPAddr{IP: mixed[i].AsSlice(), Port: 53}
	}
	netStreams = []netAddrStream{{"tcp4", tcp4}, {"tcp16", tcp16}, {"udp", udp}}

	mimecastip.Default() // built outside every timed loop
}

func setup(b *testing.B) {
	b.Helper()
	streamsOnce.Do(buildStreams)
}

func BenchmarkLookup(b *testing.B) {
	setup(b)
	for _, st := range streams {
		b.Run(st.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				mimecastip.Lookup(st.addrs[i&mask])
			}
		})
	}
}

func BenchmarkLookupString(b *testing.B) {
	setup(b)
	for _, st := range strStreams {
		b.Run(st.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				_, _ = mimecastip.LookupString(st.s[i&strMask])
			}
		})
	}
}

func BenchmarkLookupIP(b *testing.B) {
	setup(b)
	ips := make([]net.IP, strLen)
	for i := range ips {
		ips[i] = net.IP(streams[0].addrs[i].AsSlice())
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		mimecastip.LookupIP(ips[i&strMask])
	}
}

func BenchmarkLookupNetAddr(b *testing.B) {
	setup(b)
	for _, st := range netStreams {
		b.Run(st.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				mimecastip.LookupNetAddr(st.addrs[i&strMask])
			}
		})
	}
}

func BenchmarkLookupParallel(b *testing.B) {
	setup(b)
	addrs := streams[0].addrs
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := rand.IntN(streamLen) // each goroutine starts elsewhere in the stream
		for pb.Next() {
			mimecastip.Lookup(addrs[i&mask])
			i++
		}
	})
}

func BenchmarkBuild(b *testing.B) {
	b.Run("New", func(b *testing.B) {
		rs := regions.Ranges()
		b.ReportAllocs()
		for b.Loop() {
			if _, err := mimecastip.New(rs); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Parse", func(b *testing.B) {
		data, err := os.ReadFile("../regions/ranges.txt")
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := regions.Parse(bytes.NewReader(data)); err != nil {
				b.Fatal(err)
			}
		}
	})
}
