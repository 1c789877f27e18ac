package compare

import (
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"

	"github.com/seed-b311f21d/go-mimecastip/mimecastip"
)

// StreamLen is the number of addresses in every stream: enough that the
// branch predictor cannot learn the stream (one repeated address flatters
// tries) and a power of two, so benchmarks cycle through it by masking.
const StreamLen = 1 << 20

// Streams are the address streams every implementation is measured on.
var Streams = []string{"mixed", "hits", "nearmiss", "ipv6", "mapped"}

// IPv4Streams are the streams of plain IPv4 addresses.
var IPv4Streams = []string{"mixed", "hits", "nearmiss"}

var (
	addrsOnce sync.Once
	addrs     map[string][]netip.Addr
)

// Addrs returns the named stream of StreamLen addresses, built on first
// use (all streams at once, deterministically):
//
//	mixed     90% random IPv4 outside every published range, 10% hits
//	hits      random addresses of random published ranges
//	nearmiss  random addresses in the /16s of published ranges but outside them
//	ipv6      random global-unicast IPv6 addresses
//	mapped    the mixed stream in IPv4-mapped IPv6 form (::ffff:a.b.c.d)
func Addrs(name string) []netip.Addr {
	addrsOnce.Do(buildAddrs)
	s, ok := addrs[name]
	if !ok {
		panic("compare: no stream " + name)
	}
	return s
}

func from4(v uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

func buildAddrs() {
	rng := rand.New(rand.NewPCG(2026, 11))
	c := mimecastip.Default()
	var v4 []Entry
	for _, e := range Entries() {
		if e.Prefix.Addr().Is4() {
			v4 = append(v4, e)
		}
	}
	hit := func() netip.Addr {
		p := v4[rng.IntN(len(v4))].Prefix
		size := uint64(1) << (32 - p.Bits())
		return from4(u32(p.Addr()) + uint32(rng.Uint64N(size)))
	}
	miss := func() netip.Addr {
		for {
			a := from4(rng.Uint32())
			if !c.Lookup(a).Prefix().IsValid() {
				return a
			}
		}
	}
	var his []uint32
	seen := map[uint32]bool{}
	for _, e := range v4 {
		if hi := u32(e.Prefix.Addr()) >> 16; !seen[hi] {
			seen[hi] = true
			his = append(his, hi)
		}
	}
	near := func() netip.Addr {
		for {
			a := from4(his[rng.IntN(len(his))]<<16 | rng.Uint32()&0xffff)
			if !c.Lookup(a).Prefix().IsValid() {
				return a
			}
		}
	}
	m := map[string][]netip.Addr{}
	for _, name := range Streams {
		m[name] = make([]netip.Addr, StreamLen)
	}
	for i := range StreamLen {
		if rng.IntN(10) == 0 {
			m["mixed"][i] = hit()
		} else {
			m["mixed"][i] = miss()
		}
		m["hits"][i] = hit()
		m["nearmiss"][i] = near()
		var b [16]byte
		binary64(b[:8], 0x2000000000000000|rng.Uint64()>>3)
		binary64(b[8:], rng.Uint64())
		m["ipv6"][i] = netip.AddrFrom16(b)
		m["mapped"][i] = netip.AddrFrom16(m["mixed"][i].As16())
	}
	addrs = m
}

func binary64(b []byte, v uint64) {
	for i := range 8 {
		b[i] = byte(v >> (56 - 8*i))
	}
}

// One stream of strings and one of net.Addr are kept at a time: the
// benchmarks walk one stream at a time, and keeping all of them would hold
// a few hundred MB of pointers for the garbage collector to scan.
var (
	cacheMu  sync.Mutex
	strName  string
	strCache []string
	netName  string
	netTCP   []net.TCPAddr // their IPs share one backing array
)

// Strings returns the named stream formatted with netip.Addr.String.
func Strings(name string) []string {
	cacheMu.Lock()
	defer cacheMu.Unlock()
	if strName != name {
		strCache = nil
		as := Addrs(name)
		ss := make([]string, len(as))
		for i, a := range as {
			ss[i] = a.String()
		}
		strName, strCache = name, ss
	}
	return strCache
}

// NetAddrs returns the named stream as net.TCPAddr values, as
// conn.RemoteAddr() gives them (the benchmarks pass &addrs[i] as a
// net.Addr): 4-byte IPs for the plain IPv4 streams (a "tcp4" listener),
// 16-byte IPs for ipv6 and mapped (a dual-stack listener reports IPv4
// clients as ::ffff:a.b.c.d). The TCPAddrs and their IPs are allocated
// contiguously, like recently accepted connections in cache.
func NetAddrs(name string) []net.TCPAddr {
	cacheMu.Lock()
	defer cacheMu.Unlock()
	if netName != name {
		netTCP = nil
		as := Addrs(name)
		tcp := make([]net.TCPAddr, len(as))
		data := make([]byte, 0, 16*len(as))
		for i, a := range as {
			n := len(data)
			if a.Is4() {
				b := a.As4()
				data = append(data, b[:]...)
			} else {
				b := a.As16()
				data = append(data, b[:]...)
			}
			tcp[i] = net.TCPAddr{IP: net.IP(data[n:len(data):len(data)]), Port: 25}
		}
		netName, netTCP = name, tcp
	}
	return netTCP
}
