package logscan

import (
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func found(line string) []string {
	var out []string
	for _, m := range Find(nil, []byte(line)) {
		out = append(out, m.Addr.String())
		if got := line[m.Start:m.End]; !strings.EqualFold(got, m.Addr.String()) {
			if a, err := netip.ParseAddr(got); err != nil || a != m.Addr {
				out = append(out, "BAD-POSITION:"+got)
			}
		}
	}
	return out
}

func TestFind(t *testing.T) {
	for _, tc := range []struct {
		line string
		want []string
	}{
		{"", nil},
		{"no address here", nil},
		{"170.10.133.5", []string{"170.10.133.5"}},
		{"a 1170.10.133.5 b", nil},
		{"170.10.133.5.6", nil},
		{"1.170.10.133.5", nil},
		{"from 170.10.133.5.", []string{"170.10.133.5"}},
		{"x170.10.133.5 y", []string{"170.10.133.5"}},
		{"170.10.133.5abc", nil},
		{"170.10.133.05", nil},
		{"256.1.1.1 1.2.3", nil},
		{"connect from mail.example.com[170.10.133.5]", []string{"170.10.133.5"}},
		{"client=unknown[205.139.110.7]:41234", []string{"205.139.110.7"}},
		{"170.10.133.5:25 and 1.2.3.4/24", []string{"170.10.133.5", "1.2.3.4"}},
		{"1.2.3.4:5.6.7.8", []string{"1.2.3.4", "5.6.7.8"}},
		{"connect from h[IPv6:2001:db8::1]", []string{"2001:db8::1"}},
		{"[ipv6:2001:db8::1]", []string{"2001:db8::1"}},
		{"v=spf1 ip4:1.2.3.0/24 ip6:2001:db8::/32 ~all", []string{"1.2.3.0", "2001:db8::"}},
		{"xip6:2001:db8::1 xipv6:2001:db8::1", nil},
		{"client 2001:db8::1: lost", []string{"2001:db8::1"}},
		{"at ::ffff:170.10.133.5 now", []string{"::ffff:170.10.133.5"}},
		{"[2001:db8::1]:25", []string{"2001:db8::1"}},
		{"fe80::1%eth0", []string{"fe80::1"}},
		{"2001:db8:0:0:0:0:0:1", []string{"2001:db8::1"}},
		{"2001:db8:0:0:0:0:0:1:2", nil},
		{"1:2:3:4:5:6:7::", []string{"1:2:3:4:5:6:7:0"}},
		{"::", []string{"::"}},
		{"Foo::Bar", nil},
		{"std::vector", nil},
		{"Nov 22 07:14:45 host postfix/smtpd[123]: 4F9D21E0B3A: client=x[1.2.3.4]", []string{"1.2.3.4"}},
		{"mac 00:1a:2b:3c:4d:5e", nil},
		{"2001:db8::1g", nil},
		{"2001:db8::12345", nil},
		{"1::2::3", nil},
		{"::ffff:1.2.3", nil},
		{"1.2.3.4 2.3.4.5\t3.4.5.6\n", []string{"1.2.3.4", "2.3.4.5", "3.4.5.6"}},
		{"0.0.0.0/0 255.255.255.255", []string{"0.0.0.0", "255.255.255.255"}},
	} {
		assert.Equal(t, tc.want, found(tc.line), "Find(%q)", tc.line)
	}
}

// TestParse6 compares the byte parser with netip.ParseAddr.
func TestParse6(t *testing.T) {
	for _, s := range []string{
		"::", "::1", "1::", "2001:db8::1", "2001:db8:0:0:1:0:0:1", "::ffff:1.2.3.4", "1:2:3:4:5:6:1.2.3.4",
		"1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7::", "::1:2:3:4:5:6:7", "::1:2:3:4:5:6:7:8",
		"12345::", ":1::", "1:::", "1::2::", "::1.2.3.4", "1.2.3.4", "1:2:3:4:5:6:7:1.2.3.4", "fffff::", "ABCD::ef",
		"::ffff:01.2.3.4", "1::2:", "g::", ":", "",
	} {
		want, err := netip.ParseAddr(s)
		got, ok := parse6([]byte(s))
		if err != nil || !want.Is6() {
			assert.False(t, ok, "parse6(%q) = %v, want failure", s, got)
			continue
		}
		assert.True(t, ok, "parse6(%q) failed", s)
		assert.Equal(t, want, got, "parse6(%q)", s)
	}
}

func FuzzParse6(f *testing.F) {
	for _, s := range []string{"::", "2001:db8::1", "::ffff:1.2.3.4", "1:2:3:4:5:6:7:8", "1::2::3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := parse6([]byte(s))
		want, err := netip.ParseAddr(s)
		if strings.ContainsAny(s, "%") || err != nil || !want.Is6() {
			if ok && err == nil {
				t.Fatalf("parse6(%q) = %v, netip %v", s, got, want)
			}
			if ok && !strings.Contains(s, "%") {
				t.Fatalf("parse6(%q) = %v, netip fails: %v", s, got, err)
			}
			return
		}
		if !ok || got != want {
			t.Fatalf("parse6(%q) = %v %v, want %v", s, got, ok, want)
		}
	})
}

func FuzzFind(f *testing.F) {
	f.Add("connect from h[170.10.133.5]:25 and [IPv6:2001:db8::1]")
	f.Fuzz(func(t *testing.T, s string) {
		for _, m := range Find(nil, []byte(s)) {
			if m.Start < 0 || m.End > len(s) || m.Start >= m.End || !m.Addr.IsValid() {
				t.Fatalf("Find(%q): bad match %+v", s, m)
			}
		}
	})
}

func TestFindNoAllocs(t *testing.T) {
	line := []byte("Nov 22 07:14:45 mx postfix/smtpd[1234]: 4F9D21E0B3A: client=us-smtp-1.mimecast.com[170.10.133.5]:41234, [IPv6:2001:db8::1]\n")
	buf := make([]Match, 0, 8)
	assert.Zero(t, testing.AllocsPerRun(1000, func() { buf = Find(buf[:0], line) }))
}

// TestParse4 checks parse4 against net/netip on dotted strings of digits
// (leading zeros, octets over 255, four-digit octets, missing octets).
func TestParse4(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for range 200000 {
		var sb strings.Builder
		parts := 3 + r.IntN(3)
		for i := range parts {
			if i > 0 {
				sb.WriteByte('.')
			}
			for range r.IntN(5) {
				sb.WriteByte("0012345679"[r.IntN(10)])
			}
		}
		s := sb.String()
		want, err := netip.ParseAddr(s)
		got, e, ok := parse4([]byte(s), 0)
		if err == nil {
			require.True(t, ok && e == len(s) && got == want, "parse4(%q) = %v %d %v", s, got, e, ok)
		} else if ok && e == len(s) {
			t.Fatalf("parse4(%q) = %v, netip says %v", s, got, err)
		} else if ok {
			// a shorter prefix parsed: it must be an address, followed by a '.'
			a, err := netip.ParseAddr(s[:e])
			require.True(t, err == nil && a == got && s[e] == '.', "parse4(%q) = %v %d", s, got, e)
		}
	}
}
