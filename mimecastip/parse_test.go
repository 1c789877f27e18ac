package mimecastip

import (
	"math/rand/v2"
	"net"
	"net/netip"
	"strings"
	"testing"
)

// generalLookupString is LookupString without the dotted-quad fast path:
// the general parser, netip.ParseAddr underneath, then Lookup.
func generalLookupString(c *Classifier, s string) (Result, bool) {
	a, ok := parseAddr(s)
	if !ok {
		return Result{}, false
	}
	return c.Lookup(a), true
}

// checkFast compares the fast path with the general parser for one input.
func checkFast(t *testing.T, s string) {
	t.Helper()
	fa, fok := parseFast4(s)
	ga, gok := parseAddr(s)
	if fok && (!gok || fa != ga) {
		t.Fatalf("parseFast4(%q) = %v,true; parseAddr = %v,%v", s, fa, ga, gok)
	}
	// Completeness: every dotted quad netip.ParseAddr accepts takes the
	// fast path, bare, with a port, in brackets and both.
	host := s
	if strings.HasPrefix(host, "[") {
		if end := strings.IndexByte(host, ']'); end > 0 && (end == len(host)-1 || host[end+1] == ':' && validPort(host[end+2:])) {
			host = host[1:end]
		}
	} else if i := strings.LastIndexByte(host, ':'); i > 0 && validPort(host[i+1:]) {
		host = host[:i]
	}
	if na, err := netip.ParseAddr(host); err == nil && na.Is4() && !fok && (host == s || gok) {
		t.Fatalf("parseFast4(%q) = false; netip.ParseAddr(%q) = %v", s, host, na)
	}
	// LookupString against ParseAddr-then-Lookup.
	c := Default()
	r, err := c.LookupString(s)
	gr, gok2 := generalLookupString(c, s)
	if (err == nil) != gok2 || r != gr {
		t.Fatalf("LookupString(%q) = %v,%v; general parser then Lookup = %v,%v", s, r, err, gr, gok2)
	}
	if na, err2 := netip.ParseAddr(s); err2 == nil {
		if err != nil || r != c.Lookup(na) {
			t.Fatalf("LookupString(%q) = %v,%v; netip.ParseAddr then Lookup = %v", s, r, err, c.Lookup(na))
		}
	}
}

var parseSeeds = []string{
	"170.10.128.5", "207.211.30.45", "8.8.8.8", "0.0.0.0", "255.255.255.255", "1.2.3.4",
	"170.10.128.5:25", "170.10.128.5:65535", "170.10.128.5:65536", "170.10.128.5:", "170.10.128.5:0", "170.10.128.5:00025", "170.10.128.5:123456",
	"[170.10.128.5]", "[170.10.128.5]:25", "[170.10.128.5]:", "[170.10.128.5", "[170.10.128.5]x", "[IPv6:170.10.128.5]", "[ipv6:207.211.30.45]:587",
	"01.2.3.4", "1.02.3.4", "1.2.3.04", "1.2.3.0", "0.0.0.00", "256.1.1.1", "1.1.1.256", "999.1.1.1", "1000.1.1.1", "1.2.3", "1.2.3.4.5", "1.2.3.", ".1.2.3",
	"1..2.3", "1.2.3.4 ", " 1.2.3.4", "1.2.3.4\n", "1.2.3.4%eth0", "+1.2.3.4", "1.2.3.-4", "1.2.3.4:+25", "1.2.3.4::25", "1.2.3.4:25:25",
	"::ffff:170.10.128.5", "::170.10.128.5", "IPv6:::ffff:207.211.30.45", "[::ffff:207.211.30.45]:25", "2001:db8::1", "[2001:db8::1]:25", "fe80::1%eth0",
	"", "[", "]", "[]", ":", ":25", "[]:25", "1", "1.", "a.b.c.d", "١.٢.٣.٤", "1.2.3.4\x00", "0x1.2.3.4", "4294967295",
}

// FuzzParseAddrFast compares LookupString's dotted-quad fast path with the
// general parser (netip.ParseAddr, then Lookup) for every input: the fast
// path must accept only what the general one accepts, with the same
// answer, and must accept every dotted quad, with or without port and
// brackets. The seed corpus is in testdata/fuzz/FuzzParseAddrFast.
func FuzzParseAddrFast(f *testing.F) {
	for _, s := range parseSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkFast(t, s)
		if !strings.ContainsAny(s, "[]") {
			checkFast(t, "["+s+"]")
			checkFast(t, "["+s+"]:25")
			checkFast(t, s+":25")
		}
	})
}

// TestParseFast4Exhaustive checks every octet spelling, with and without
// leading zeros, in every position.
func TestParseFast4Exhaustive(t *testing.T) {
	var octets []string
	for v := 0; v < 1000; v++ {
		octets = append(octets, itoa(v))
		if v < 100 {
			octets = append(octets, "0"+itoa(v))
		}
		if v < 10 {
			octets = append(octets, "00"+itoa(v))
		}
	}
	octets = append(octets, "", "0000", "1000", "2555", "-1", "a")
	for pos := range 4 {
		for _, o := range octets {
			f := []string{"10", "20", "30", "40"}
			f[pos] = o
			s := strings.Join(f, ".")
			for _, in := range []string{s, s + ":25", "[" + s + "]", "[" + s + "]:25"} {
				checkFast(t, in)
			}
		}
	}
}

func itoa(v int) string {
	if v < 10 {
		return string(rune('0' + v))
	}
	return itoa(v/10) + string(rune('0'+v%10))
}

// TestParseFast4Allocs guards the fast path and the IP adapters: no
// allocation for any accepted form.
func TestParseFast4Allocs(t *testing.T) {
	c := Default()
	for _, s := range []string{"170.10.128.5", "8.8.8.8:25", "[207.211.30.45]", "[207.211.30.45]:587", "::ffff:207.211.30.45", "2001:db8::1"} {
		if n := testing.AllocsPerRun(100, func() {
			if _, err := c.LookupString(s); err != nil {
				t.Fatal(err)
			}
		}); n != 0 {
			t.Errorf("LookupString(%q) allocates %.1f times", s, n)
		}
	}
	for _, ip := range []net.IP{net.ParseIP("207.211.30.45"), net.ParseIP("207.211.30.45").To4(), net.ParseIP("2001:db8::1"), nil} {
		tcp := &net.TCPAddr{IP: ip, Port: 25}
		var na net.Addr = tcp
		if n := testing.AllocsPerRun(100, func() {
			c.LookupIP(ip)
			c.LookupNetAddr(na)
		}); n != 0 {
			t.Errorf("LookupIP/LookupNetAddr(%v) allocate %.1f times", ip, n)
		}
	}
}

// TestLookupIPForms checks the cheap unmapping of LookupIP against
// netip.AddrFromSlice then Lookup.
func TestLookupIPForms(t *testing.T) {
	c := Default()
	for _, s := range []string{"207.211.30.45", "170.10.128.5", "8.8.8.8", "0.0.0.0", "::ffff:207.211.30.45", "::207.211.30.45", "2001:db8::1", "::", "::1"} {
		a := netip.MustParseAddr(s)
		for _, ip := range []net.IP{net.IP(a.AsSlice()), net.ParseIP(s), net.ParseIP(s).To4(), net.ParseIP(s).To16()} {
			if ip == nil {
				continue
			}
			na, _ := netip.AddrFromSlice(ip)
			if got, want := c.LookupIP(ip), c.Lookup(na); got != want {
				t.Errorf("LookupIP(%v) = %v; want %v", ip, got, want)
			}
		}
	}
	for _, ip := range []net.IP{nil, {}, {1, 2, 3}, make(net.IP, 5), make(net.IP, 17)} {
		if got := c.LookupIP(ip); got != (Result{}) {
			t.Errorf("LookupIP(%v) = %v; want the zero Result", ip, got)
		}
	}
}

// BenchmarkParseFast4 compares the dotted-quad fast path with
// netip.ParseAddr on random IPv4 strings (bench/compare has the full
// comparison).
func BenchmarkParseFast4(b *testing.B) {
	ss := make([]string, 1<<12)
	x := uint32(2463534242)
	for i := range ss {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		ss[i] = netip.AddrFrom4([4]byte{byte(x >> 24), byte(x >> 16), byte(x >> 8), byte(x)}).String()
	}
	b.Run("impl=parseFast4", func(b *testing.B) {
		n, i := 0, 0
		for b.Loop() {
			a, _ := parseFast4(ss[i&(len(ss)-1)])
			n += a.BitLen()
			i++
		}
	})
	b.Run("impl=netip.ParseAddr", func(b *testing.B) {
		n, i := 0, 0
		for b.Loop() {
			a, _ := netip.ParseAddr(ss[i&(len(ss)-1)])
			n += a.BitLen()
			i++
		}
	})
	b.Run("impl=LookupString", func(b *testing.B) {
		c := Default()
		n, i := 0, 0
		for b.Loop() {
			r, _ := c.LookupString(ss[i&(len(ss)-1)])
			n += int(r.Class)
			i++
		}
	})
}

// TestParseQuadRandom compares parseQuad with netip.ParseAddr on strings
// of every length up to 17 built from digits, dots and the bytes at the
// edges of the SWAR tests ('/' and ':' beside the digits, '-' and '/'
// beside the dot, the same with the top bit set, 0x00 and 0xff), and on
// every shape of four fields of 0 to 4 digits.
func TestParseQuadRandom(t *testing.T) {
	check := func(s string) {
		t.Helper()
		got, ok := parseQuad(s)
		want, err := netip.ParseAddr(s)
		wok := err == nil && want.Is4()
		if ok != wok || ok && got != want {
			t.Fatalf("parseQuad(%q) = %v,%v; netip.ParseAddr: %v,%v", s, got, ok, want, err)
		}
	}
	rng := rand.New(rand.NewPCG(7, 11))
	const alpha = "0123456789012345678901234567890123456789....../:-\x00\xff\xae\xb0\xb9"
	b := make([]byte, 0, 17)
	for range 400000 {
		b = b[:0]
		for range rng.IntN(18) {
			b = append(b, alpha[rng.IntN(len(alpha))])
		}
		check(string(b))
	}
	for shape := range 625 {
		for range 40 {
			b = b[:0]
			for f, sh := 0, shape; f < 4; f, sh = f+1, sh/5 {
				if f > 0 {
					b = append(b, '.')
				}
				for range sh % 5 {
					b = append(b, byte('0'+rng.IntN(10)))
				}
			}
			check(string(b))
		}
	}
	for range 200000 {
		v := rng.Uint32()
		check(netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}).String())
	}
}

// TestSWARHelpers checks moveMask on every 8-bit mask and dotBytes on every
// byte value in every position.
func TestSWARHelpers(t *testing.T) {
	for m := range 256 {
		var z uint64
		for k := range 8 {
			if m>>k&1 == 1 {
				z |= 0x80 << (8 * k)
			}
		}
		if got := moveMask(z); got != uint32(m) {
			t.Fatalf("moveMask(%#x) = %#x; want %#x", z, got, m)
		}
	}
	for c := range 256 {
		for k := range 8 {
			x := 0x3131313131313131&^(0xff<<(8*k)) | uint64(c)<<(8*k)
			want := uint64(0)
			if c == '.' {
				want = 0x80 << (8 * k)
			}
			if got := dotBytes(x); got != want {
				t.Fatalf("dotBytes(%#x) = %#x; want %#x", x, got, want)
			}
		}
	}
}
