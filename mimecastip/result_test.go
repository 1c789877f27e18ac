package mimecastip

import (
	"net"
	"net/netip"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b311f21d/go-mimecastip/regions"
)

// TestResultPrefix checks that the compact prefix gives back every kind of
// prefix exactly, and the zero Prefix for none.
func TestResultPrefix(t *testing.T) {
	for _, s := range []string{
		"170.10.128.0/24", "207.211.30.40/29", "146.101.202.134/32", "0.0.0.0/0", "255.255.255.255/32",
		"2001:db8::/32", "2001:db8::1/128", "::/0", "::ffff:0.0.0.0/96", "::ffff:170.10.128.0/120",
	} {
		p := netip.MustParsePrefix(s)
		r := Result{Class: Mimecast, prefix: compact(p)}
		assert.Equal(t, p, r.Prefix(), s)
		assert.True(t, r.Published(), s)
		assert.Equal(t, p.Addr().Is4(), r.Prefix().Addr().Is4(), s)
	}
	var zero Result
	assert.Equal(t, netip.Prefix{}, zero.Prefix())
	assert.False(t, zero.Published())
	assert.Equal(t, "foreign", zero.String())
	assert.Equal(t, zero, Result{prefix: compact(netip.Prefix{})})
}

// TestResultSize guards the size of Result: up to 32 bytes (and 4 fields)
// the compiler keeps a Result in registers, and Lookup(a).Class loads one
// byte; beyond, every lookup copies the Result through memory.
func TestResultSize(t *testing.T) {
	assert.LessOrEqual(t, unsafe.Sizeof(Result{}), uintptr(32))
}

// TestWideTable checks the lookups of a Classifier whose IPv4 table is not
// the compact one (more than 255 ranges), so that they take matcher.Slot4
// and matcher.Slot rather than the inline Table8 walk.
func TestWideTable(t *testing.T) {
	var rs []regions.Range
	for i := range 300 {
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 0}), 24)
		rs = append(rs, regions.Range{Prefix: p, Regions: regions.SetOf(regions.EU), Service: regions.Gateway, Line: i + 1})
	}
	c, err := New(rs)
	require.NoError(t, err)
	require.Nil(t, c.t8, "300 ranges should not fit the compact table")
	for i := range 300 {
		ip := [4]byte{10, byte(i >> 8), byte(i), 7}
		a := netip.AddrFrom4(ip)
		want := MakeResult(Mimecast, regions.SetOf(regions.EU), regions.Gateway, rs[i].Prefix)
		assert.Equal(t, want, c.Lookup(a), "Lookup(%v)", a)
		assert.Equal(t, want, c.LookupIP(ip[:]), "LookupIP(%v)", a)
		assert.Equal(t, want, c.LookupNetAddr(&net.TCPAddr{IP: ip[:]}), "LookupNetAddr(%v)", a)
		got, err := c.LookupString(a.String())
		require.NoError(t, err)
		assert.Equal(t, want, got, "LookupString(%v)", a)
	}
	assert.Equal(t, Result{}, c.Lookup(netip.MustParseAddr("10.2.0.1")))
	assert.Equal(t, Result{}, c.LookupIP(net.IP{11, 0, 0, 1}))
}

// TestIPv6NetAddr checks LookupNetAddr and LookupIP on IPv6 addresses with
// and without IPv6 ranges in the data (without, they skip the lookup).
func TestIPv6NetAddr(t *testing.T) {
	p6 := netip.MustParsePrefix("2001:db8::/32")
	c, err := New([]regions.Range{
		{Prefix: p6, Regions: regions.SetOf(regions.EU), Service: regions.Gateway, Line: 1},
		{Prefix: netip.MustParsePrefix("192.0.2.0/24"), Regions: regions.SetOf(regions.EU), Service: regions.Gateway, Line: 2},
	})
	require.NoError(t, err)
	v4only, err := New([]regions.Range{{Prefix: netip.MustParsePrefix("192.0.2.0/24"), Regions: regions.SetOf(regions.EU), Service: regions.Gateway, Line: 1}})
	require.NoError(t, err)
	in, out := net.ParseIP("2001:db8::25"), net.ParseIP("2001:db9::25")
	want := MakeResult(Mimecast, regions.SetOf(regions.EU), regions.Gateway, p6)
	assert.Equal(t, want, c.LookupNetAddr(&net.TCPAddr{IP: in}))
	assert.Equal(t, want, c.LookupIP(in))
	assert.Equal(t, Result{}, c.LookupNetAddr(&net.TCPAddr{IP: out}))
	assert.Equal(t, Result{}, v4only.LookupNetAddr(&net.TCPAddr{IP: in}))
	assert.Equal(t, Result{}, v4only.LookupIP(in))
	var zero Classifier
	assert.Equal(t, Result{}, zero.LookupNetAddr(&net.TCPAddr{IP: in}))
}
