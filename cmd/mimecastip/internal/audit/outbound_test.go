package audit

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b311f21d/go-mimecastip/regions"
)

func TestCheckOutbound(t *testing.T) {
	d := regions.Embedded()
	in := "# authorized outbounds\n" +
		"8.8.4.4\n" + // 2 ok
		"8.8.8.8/32  # a /32 is one address\n" + // 3 ok
		"10.1.2.3\n" + // 4 private
		"198.51.100.0/24\n" + // 5 network (and documentation)
		"1.2.3.0/24\n" + // 6 network
		"8.8.4.4\n" + // 7 duplicate of 2
		"2001:4860::8888\n" + // 8 ipv6
		"172.20.0.1, 192.168.1.1; 100.64.0.1\n" + // 9 three private
		"127.0.0.1 169.254.1.1 0.1.2.3 224.0.0.5 255.255.255.255 192.0.2.1 203.0.113.9 198.18.0.1\n" + // 10 special
		"1.2.3.4-1.2.3.9\n" + // 11 range
		"mail.example.com\n" + // 12 invalid
		"170.10.129.5\n" + // 13 Mimecast's own
		"::ffff:9.9.9.9\n" + // 14 mapped: invalid (the list takes plain IPv4; it also hid a duplicate)
		"\n" +
		"300.1.1.1\n" // 16 invalid
	rep, err := CheckOutbound(strings.NewReader(in), d)
	require.NoError(t, err)
	type v struct {
		line int
		text string
		kind string
	}
	var got []v
	for _, e := range rep.Entries {
		got = append(got, v{e.Line, e.Text, e.Kind})
		assert.NotEmpty(t, e.Message, e.Text)
	}
	assert.Equal(t, []v{
		{2, "8.8.4.4", "ok"}, {3, "8.8.8.8/32", "ok"}, {4, "10.1.2.3", "private"}, {5, "198.51.100.0/24", "network"},
		{6, "1.2.3.0/24", "network"}, {7, "8.8.4.4", "duplicate"}, {8, "2001:4860::8888", "ipv6"},
		{9, "172.20.0.1", "private"}, {9, "192.168.1.1", "private"}, {9, "100.64.0.1", "private"},
		{10, "127.0.0.1", "special"}, {10, "169.254.1.1", "special"}, {10, "0.1.2.3", "special"}, {10, "224.0.0.5", "special"},
		{10, "255.255.255.255", "special"}, {10, "192.0.2.1", "special"}, {10, "203.0.113.9", "special"}, {10, "198.18.0.1", "special"},
		{11, "1.2.3.4-1.2.3.9", "network"}, {12, "mail.example.com", "invalid"}, {13, "170.10.129.5", "mimecast"},
		{14, "::ffff:9.9.9.9", "invalid"}, {16, "300.1.1.1", "invalid"},
	}, got)
	assert.Equal(t, 20, rep.Errors)
	assert.Equal(t, 1, rep.Warnings)
	assert.False(t, rep.OK)
	assert.Contains(t, rep.Entries[5].Message, "line 2")
	assert.Contains(t, rep.Entries[3].Message, "networks cannot be added")

	var b bytes.Buffer
	require.NoError(t, rep.WriteText(&b, "list"))
	assert.Contains(t, b.String(), "line 4    10.1.2.3 ")
	assert.Contains(t, b.String(), "result: FAIL (20 errors, 1 warnings)")

	ok, err := CheckOutbound(strings.NewReader("8.8.4.4\n9.9.9.9\n"), d)
	require.NoError(t, err)
	assert.True(t, ok.OK)
	empty, err := CheckOutbound(strings.NewReader("# nothing\n"), d)
	require.NoError(t, err)
	assert.False(t, empty.OK, "an empty list is not OK")
}

// TestSpecialAgainstReference checks the special-purpose table against a
// list of addresses at the edges of each block.
func TestSpecialAgainstReference(t *testing.T) {
	for _, c := range []struct {
		addr    string
		special bool
	}{
		{"9.255.255.255", false}, {"10.0.0.0", true}, {"11.0.0.0", false}, {"100.63.255.255", false},
		{"100.64.0.0", true}, {"100.127.255.255", true}, {"100.128.0.0", false}, {"172.15.255.255", false},
		{"172.16.0.0", true}, {"172.31.255.255", true}, {"172.32.0.0", false}, {"192.167.255.255", false},
		{"192.168.0.0", true}, {"192.169.0.0", false}, {"198.17.255.255", false}, {"198.18.0.0", true},
		{"198.19.255.255", true}, {"198.20.0.0", false}, {"223.255.255.255", false}, {"224.0.0.0", true},
		{"1.1.1.1", false}, {"170.10.128.1", false},
	} {
		rep, err := CheckOutbound(strings.NewReader(c.addr+"\n"), nil)
		require.NoError(t, err)
		k := rep.Entries[0].Kind
		assert.Equal(t, c.special, k == "special" || k == "private", "%s: %s", c.addr, k)
	}
}

func TestCheckOutboundHostile(t *testing.T) {
	_, err := CheckOutbound(strings.NewReader(strings.Repeat("1", MaxOutboundLine+10)+"\n"), nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "line 1")
	_, err = CheckOutbound(strings.NewReader(strings.Repeat("1.1.1.1\n", MaxOutboundEntries+1)), nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "more than")
	for _, s := range []string{"/", "-", "1.2.3.4/", "1.2.3.4/99", "fe80::1%eth0", "::/0", "0.0.0.0/0", "\x00\xff", "1.2.3.4--5"} {
		rep, err := CheckOutbound(strings.NewReader(s+"\n"), nil)
		require.NoError(t, err, "%q", s)
		require.Len(t, rep.Entries, 1, "%q", s)
		assert.Equal(t, Error, rep.Entries[0].Level, "%q", s)
		assert.False(t, rep.OK, "%q", s)
	}
}

// TestCheckOutboundMapped: an IPv4-mapped IPv6 entry is no plain IPv4
// address (and, unmapped, it hid a duplicate of 9.9.9.9): an error.
func TestCheckOutboundMapped(t *testing.T) {
	for _, in := range []string{"::ffff:9.9.9.9\n", "9.9.9.9\n::ffff:9.9.9.9\n"} {
		rep, err := CheckOutbound(strings.NewReader(in), regions.Embedded())
		require.NoError(t, err)
		assert.False(t, rep.OK, "%q", in)
		last := rep.Entries[len(rep.Entries)-1]
		assert.Equal(t, Error, last.Level, "%q", in)
		assert.Contains(t, last.Message, "9.9.9.9", "%q", in)
	}
}
