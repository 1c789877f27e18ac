package mimecastip_test

import (
	"encoding/json"
	"net"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b311f21d/go-mimecastip/mimecastip"
	"github.com/seed-b311f21d/go-mimecastip/regions"
)

func TestResultJSON(t *testing.T) {
	for _, s := range []string{"170.10.156.1", "207.211.30.45", "146.101.202.134", "8.8.8.8", "::ffff:170.10.128.5"} {
		r := mimecastip.Lookup(netip.MustParseAddr(s))
		b, err := json.Marshal(r)
		require.NoError(t, err, "Marshal(Lookup(%s))", s)
		var m map[string]any
		require.NoError(t, json.Unmarshal(b, &m), "%s", b)
		assert.Equal(t, r.Class.String(), m["class"], "%s: %s", s, b)
		if r.Published() {
			assert.Equal(t, r.Prefix().String(), m["prefix"], "%s: the prefix is in the JSON: %s", s, b)
			assert.IsType(t, []any{}, m["regions"], "%s: regions is an array: %s", s, b)
			assert.Equal(t, r.Service.String(), m["service"], "%s: %s", s, b)
		} else {
			assert.Equal(t, map[string]any{"class": "foreign"}, m, "%s: %s", s, b)
		}
		var back mimecastip.Result
		require.NoError(t, json.Unmarshal(b, &back), "%s", b)
		assert.Equal(t, r, back, "round trip of %s", b)
	}
	var r mimecastip.Result
	for _, in := range []string{
		`{"class":"mimecast","prefix":"170.10.128.1/24"}`, // not canonical
		`{"class":"nope"}`,
		`{"class":"mimecast","regions":"us"}`, // regions is an array
		`{"class":"mimecast","regions":["mars"]}`,
		`{"class":"mimecast","service":"mail"}`,
		`{"class":"mimecast","prefix":"x"}`,
		`[]`,
	} {
		assert.Error(t, json.Unmarshal([]byte(in), &r), "Unmarshal(%s)", in)
	}
}

func TestNilReloadable(t *testing.T) {
	var nilR *mimecastip.Reloadable
	var zero mimecastip.Reloadable
	a := netip.MustParseAddr("170.10.128.5")
	for name, r := range map[string]*mimecastip.Reloadable{"nil": nilR, "zero": &zero, "of nil": mimecastip.NewReloadable(nil)} {
		assert.Nil(t, r.Current(), name)
		assert.Equal(t, mimecastip.Result{}, r.Lookup(a), name)
		assert.Equal(t, mimecastip.Result{}, r.LookupIP(net.ParseIP("170.10.128.5")), name)
		assert.Equal(t, mimecastip.Result{}, r.LookupNetAddr(&net.TCPAddr{IP: net.ParseIP("170.10.128.5")}), name)
		got, err := r.LookupString("170.10.128.5")
		assert.NoError(t, err, name)
		assert.Equal(t, mimecastip.Result{}, got, name)
		_, err = r.LookupString("nope")
		assert.Error(t, err, name)
	}
	assert.PanicsWithValue(t, "mimecastip: Swap on a nil *Reloadable", func() { nilR.Swap(mimecastip.Default()) })
	assert.Nil(t, zero.Swap(mimecastip.Default()))
	assert.Equal(t, mimecastip.Mimecast, zero.Lookup(a).Class)
}

func TestNilClassifierVersionScope(t *testing.T) {
	var nilC *mimecastip.Classifier
	var zero mimecastip.Classifier
	for _, c := range []*mimecastip.Classifier{nilC, &zero} {
		assert.Empty(t, c.Version())
		assert.True(t, c.Scope().IsEmpty())
	}
	c, err := mimecastip.New(regions.Ranges())
	require.NoError(t, err)
	assert.Empty(t, c.Version(), "New has no dataset version")
	assert.Equal(t, regions.AllSet(), c.Scope())
	assert.Equal(t, regions.Version(), mimecastip.Default().Version())
	assert.Equal(t, regions.AllSet(), mimecastip.Default().Scope())
}

func TestParseAddr(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.1":            "192.0.2.1",
		"192.0.2.1:25":         "192.0.2.1",
		"[192.0.2.1]":          "192.0.2.1",
		"[192.0.2.1]:587":      "192.0.2.1",
		"2001:db8::1":          "2001:db8::1",
		"[2001:db8::1]:25":     "2001:db8::1",
		"IPv6:2001:db8::1":     "2001:db8::1",
		"[IPv6:2001:db8::1]":   "2001:db8::1",
		"::ffff:192.0.2.1":     "::ffff:192.0.2.1",
		"fe80::1%eth0":         "fe80::1%eth0",
		"[::ffff:192.0.2.1]:1": "::ffff:192.0.2.1",
	} {
		a, err := mimecastip.ParseAddr(in)
		if assert.NoError(t, err, "ParseAddr(%q)", in) {
			assert.Equal(t, netip.MustParseAddr(want), a, "ParseAddr(%q)", in)
		}
	}
	for _, in := range []string{"", " 192.0.2.1", "192.0.2.1 ", "192.0.2", "192.0.2.256", "01.2.3.4", "192.0.2.1:", "192.0.2.1:65536",
		"192.0.2.1:x", "[192.0.2.1", "[192.0.2.1]x", "2001:db8::1:25x", "mail.example.com", "IPv6:", "[]", "1.2.3.4:25:25"} {
		a, err := mimecastip.ParseAddr(in)
		assert.ErrorContains(t, err, "not an IP address", "ParseAddr(%q)", in)
		assert.Contains(t, err.Error(), `"`+in+`"`, "the error quotes the input")
		assert.False(t, a.IsValid(), "ParseAddr(%q) returned an address with its error", in)
	}
	// ParseAddr and LookupString accept exactly the same inputs, and
	// LookupString classifies what ParseAddr returns.
	for _, in := range []string{"170.10.128.5", "[170.10.128.5]:25", "::ffff:170.10.128.5", "IPv6:2001:db8::1", "nope", "1.2.3.4:99999"} {
		a, perr := mimecastip.ParseAddr(in)
		r, lerr := mimecastip.LookupString(in)
		assert.Equal(t, perr == nil, lerr == nil, "%q", in)
		if perr == nil {
			assert.Equal(t, mimecastip.Lookup(a), r, "%q", in)
		}
	}
	assert.Zero(t, testing.AllocsPerRun(100, func() { _, _ = mimecastip.ParseAddr("170.10.128.5:25") }))
}
