package trace

import (
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b311f21d/go-mimecastip/mimecastip"
	"github.com/seed-b311f21d/go-mimecastip/regions"
)

func readFixture(t *testing.T, name string) *Message {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	m, err := ParseHeader(b)
	require.NoError(t, err, name)
	return m
}

func usTracer(t *testing.T, cfg Config) *Tracer {
	t.Helper()
	c, err := mimecastip.Load(regions.Embedded(), regions.SetOf(regions.US))
	require.NoError(t, err)
	cfg.Classifier, cfg.Regions = c, regions.SetOf(regions.US)
	tr, err := New(cfg)
	require.NoError(t, err)
	return tr
}

func TestFixtureVerdicts(t *testing.T) {
	us := usTracer(t, Config{})
	for _, c := range []struct {
		file    string
		verdict Verdict
		addr    string
		class   mimecastip.Class
		regions string
		prefix  string
		grid    regions.Region
		check   GridCheck
	}{
		{"us-gateway.eml", Mimecast, "170.10.129.124", mimecastip.Mimecast, "us", "170.10.129.0/24", regions.US, GridAgrees},
		{"bypass.eml", Bypass, "209.85.219.71", mimecastip.Foreign, "", "invalid Prefix", 0, GridUnknown},
		{"forged.eml", Forged, "198.51.100.77", mimecastip.Foreign, "", "invalid Prefix", regions.US, GridUnknown},
		{"eu-gateway.eml", OtherRegion, "185.58.85.151", mimecastip.Foreign, "eu", "185.58.85.0/24", regions.EU, GridAgrees},
		{"nonspf.eml", Mimecast, "207.211.30.44", mimecastip.NonSPF, "us", "207.211.30.40/29", regions.US, GridAgrees},
		{"za-gateway.eml", OtherRegion, "41.74.201.132", mimecastip.Foreign, "za", "41.74.200.0/23", regions.ZA, GridAgrees},
		{"ipv6-bypass.eml", Bypass, "2001:db8:25::7", mimecastip.Foreign, "", "invalid Prefix", 0, GridUnknown},
		{"crlf-mapped.eml", Mimecast, "170.10.133.124", mimecastip.Mimecast, "us", "170.10.133.0/24", 0, GridUnknown},
		// The topmost Received is from an internal relay: undetermined
		// until the relays are named.
		{"internal-relays.eml", Undetermined, "10.20.0.5", mimecastip.Foreign, "", "invalid Prefix", 0, GridUnknown},
	} {
		t.Run(c.file, func(t *testing.T) {
			r := us.Trace(readFixture(t, c.file))
			assert.Equal(t, c.verdict, r.Verdict, "verdict; reasons: %q", r.Reasons)
			assert.Equal(t, c.addr, r.Address.String())
			assert.Equal(t, c.class, r.Class)
			assert.Equal(t, c.regions, r.Regions().String())
			assert.Equal(t, c.prefix, r.Prefix().String())
			assert.Equal(t, c.grid, r.Grid)
			assert.Equal(t, c.check, r.GridCheck)
			require.NotEmpty(t, r.Reasons)
			assert.Contains(t, r.Reasons[0], c.addr)
		})
	}
}

func TestTrailDetails(t *testing.T) {
	us := usTracer(t, Config{})
	r := us.Trace(readFixture(t, "us-gateway.eml"))
	require.Len(t, r.Trail.Relays, 1)
	rl := r.Trail.Relays[0]
	assert.Equal(t, "relay.mimecast.com", rl.By)
	assert.Equal(t, "us-mta-73-Qk3vT9aZR2yWc7nL0pXbEg-1", rl.ID)
	assert.Equal(t, "203.0.113.45", rl.From.String())
	assert.Equal(t, 1, rl.Hop)
	assert.True(t, r.Trail.MCUniqueMatch)
	assert.True(t, r.Trail.ARC)
	assert.Equal(t, []string{"X-MC-Unique", "X-Mimecast-MFC-AGG-ID", "ARC-Seal", "Authentication-Results", "X-Mimecast-Spam-Score"}, r.Trail.Headers)
	require.NotNil(t, r.Hop)
	assert.Equal(t, "mx.example.com", r.Hop.By)
	assert.Equal(t, 3, r.Hop.Line)
	assert.Equal(t, "us-smtp-delivery-124.mimecast.com", r.Hop.RDNS)

	// The forged message's X-MC-Unique matches its own forged queue id;
	// the boundary names a Mimecast host it is not.
	f := us.Trace(readFixture(t, "forged.eml"))
	assert.Equal(t, "us-smtp-delivery-124.mimecast.com", f.Trail.NamedHost)
	assert.Contains(t, strings.Join(f.Reasons, "\n"), "forged or replayed")

	// A mismatching X-MC-Unique is reported.
	m := readFixture(t, "us-gateway.eml")
	for i := range m.Fields {
		if m.Fields[i].Name == "X-MC-Unique" {
			m.Fields[i].Value = "Other-1"
		}
	}
	r = us.Trace(m)
	assert.False(t, r.Trail.MCUniqueMatch)
	assert.Contains(t, r.Reasons, "X-MC-Unique matches no relay hop's queue id")
}

func TestAccountCode(t *testing.T) {
	msg := "Received: from mail.sender.example (mail.sender.example [203.0.113.50])\n" +
		"\tby mx.example.com (Postfix) with ESMTP id 1; Tue, 9 Nov 2021 10:00:00 +0000\n" +
		"Received: from host.sender.example (host.sender.example [203.0.113.51])\n" +
		" by relay.mimecast.com with ESMTP with both STARTTLS and AUTH id uk-mta-7-AbCd-1; Tue, 9 Nov 2021 09:59:59 +0000\n" +
		"Authentication-Results: relay.mimecast.com;\n\tauth=pass smtp.auth=CUSA124A263 smtp.mailfrom=x@sender.example\n\n"
	m, err := ParseHeader([]byte(msg))
	require.NoError(t, err)
	r := usTracer(t, Config{}).Trace(m)
	assert.Equal(t, Forged, r.Verdict)
	assert.Equal(t, []string{"CUSA124A263"}, r.Trail.AccountCodes)
	assert.Equal(t, regions.SetOf(regions.US), r.Trail.AccountRegions)
	assert.Equal(t, regions.EU, r.Grid)
	joined := strings.Join(r.Reasons, "\n")
	assert.Contains(t, joined, "authenticated submission")
	assert.Contains(t, joined, "account code CUSA124A263 (grid us)")
}

func TestByAndInternal(t *testing.T) {
	m := readFixture(t, "internal-relays.eml")
	for _, c := range []struct {
		name    string
		cfg     Config
		verdict Verdict
		hop     int
		addr    string
	}{
		{"default", Config{}, Undetermined, 0, "10.20.0.5"},
		{"by filter", Config{By: []string{"FILTER.example.com."}}, Mimecast, 2, "170.10.129.124"},
		{"by mx1 only", Config{By: []string{"mx1.example.com"}}, Undetermined, 1, "10.20.0.9"},
		{"by either", Config{By: []string{"filter.example.com", "mx1.example.com"}}, Undetermined, 1, "10.20.0.9"},
		{"internal", Config{Internal: []netip.Prefix{netip.MustParsePrefix("10.20.0.0/16")}}, Mimecast, 2, "170.10.129.124"},
		{"by mx1 + internal", Config{By: []string{"mx1.example.com"}, Internal: []netip.Prefix{netip.MustParsePrefix("10.20.0.9/32")}}, Mimecast, 2, "170.10.129.124"},
		{"internal too narrow", Config{Internal: []netip.Prefix{netip.MustParsePrefix("10.20.0.5/32")}}, Undetermined, 1, "10.20.0.9"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := usTracer(t, c.cfg).Trace(m)
			assert.Equal(t, c.verdict, r.Verdict, "reasons: %q", r.Reasons)
			require.NotNil(t, r.Hop)
			assert.Equal(t, c.hop, r.Hop.Index)
			assert.Equal(t, c.addr, r.Address.String())
		})
	}
	r := usTracer(t, Config{By: []string{"nowhere.example.com"}}).Trace(m)
	assert.Equal(t, Undetermined, r.Verdict)
	assert.Nil(t, r.Hop)
	assert.Contains(t, r.Reasons[0], "nowhere.example.com")

	// Every hop internal.
	r = usTracer(t, Config{Internal: []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")}}).Trace(m)
	assert.Equal(t, Undetermined, r.Verdict)
}

func TestNewRejectsBadConfig(t *testing.T) {
	_, err := New(Config{By: []string{" "}})
	assert.Error(t, err)
	_, err = New(Config{By: []string{"a b"}})
	assert.Error(t, err)
	_, err = New(Config{Internal: []netip.Prefix{{}}})
	assert.Error(t, err)
}

func TestUndetermined(t *testing.T) {
	us := usTracer(t, Config{})
	for name, msg := range map[string]string{
		"no received":  "Subject: hi\n\n",
		"no from":      "Received: by mx.example.com (Postfix, from userid 0) id 1; Tue, 9 Nov 2021\n\n",
		"no address":   "Received: from mail.sender.example by mx.example.com with SMTP; Tue, 9 Nov 2021\n\n",
		"two literals": "Received: from x (a [170.10.129.5]) (b [198.51.100.1]) by mx.example.com; date\n\n",
		"from twice":   "Received: from x (y [198.51.100.1]) from z (w [170.10.129.5]) by mx.example.com; date\n\n",
		"by twice":     "Received: from x by relay.mimecast.com (y [170.10.129.5]) by mx.example.com; date\n\n",
		"loopback":     "Received: from localhost (localhost [127.0.0.1]) by mx.example.com; date\n\n",
		"private v6":   "Received: from x (x [IPv6:fd00::1]) by mx.example.com; date\n\n",
	} {
		t.Run(name, func(t *testing.T) {
			m, err := ParseHeader([]byte(msg))
			require.NoError(t, err)
			r := us.Trace(m)
			assert.Equal(t, Undetermined, r.Verdict, "reasons %q", r.Reasons)
			assert.NotEmpty(t, r.Reasons)
		})
	}
}

func TestTraceAddr(t *testing.T) {
	us := usTracer(t, Config{})
	m := readFixture(t, "forged.eml")
	for addr, want := range map[string]Verdict{
		"170.10.129.124":        Mimecast,
		"::ffff:170.10.129.124": Mimecast,
		"198.51.100.77":         Forged,
		"41.74.201.132":         OtherRegion,
		"127.0.0.1":             Undetermined,
	} {
		r := us.TraceAddr(netip.MustParseAddr(addr), m)
		assert.Equal(t, want, r.Verdict, addr)
		assert.Nil(t, r.Hop)
	}
	assert.Equal(t, Bypass, us.TraceAddr(netip.MustParseAddr("8.8.8.8"), nil).Verdict)
	assert.Equal(t, Undetermined, us.TraceAddr(netip.Addr{}, nil).Verdict)
}

func TestWebsiteAddressIsNotMimecast(t *testing.T) {
	// Web Security resolvers are published but send no mail.
	m, err := ParseHeader([]byte("Received: from x (x [41.74.203.10]) by mx.example.com; date\n\n"))
	require.NoError(t, err)
	r := usTracer(t, Config{}).Trace(m)
	assert.Equal(t, Bypass, r.Verdict)
	assert.Equal(t, mimecastip.Foreign, r.Class)
	assert.Contains(t, r.Reasons[0], "web-security")
}

func TestVerdictTokens(t *testing.T) {
	for v, tok := range map[Verdict]string{Undetermined: "undetermined", Mimecast: "mimecast", OtherRegion: "other-region", Bypass: "bypass", Forged: "forged"} {
		assert.Equal(t, tok, v.String())
		b, err := v.MarshalText()
		assert.NoError(t, err)
		assert.Equal(t, tok, string(b))
	}
	_, err := Verdict(9).MarshalText()
	assert.Error(t, err)
	assert.Equal(t, "verdict(9)", Verdict(9).String())
	assert.Equal(t, "agrees", GridAgrees.String())
	assert.Equal(t, "disagrees", GridDisagrees.String())
	assert.Equal(t, "unknown", GridUnknown.String())
}

func TestMboxFixture(t *testing.T) {
	f, err := os.Open("testdata/three.mbox")
	require.NoError(t, err)
	defer f.Close()
	rd := NewReader(f)
	us := usTracer(t, Config{})
	var got []string
	var lines []int
	for {
		m, err := rd.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		got = append(got, us.Trace(m).Verdict.String())
		lines = append(lines, m.Line)
		assert.True(t, strings.HasPrefix(m.Envelope, "alice@") || strings.HasPrefix(m.Envelope, "mallory@") || strings.HasPrefix(m.Envelope, "ceo@"), m.Envelope)
	}
	assert.Equal(t, []string{"mimecast", "bypass", "forged"}, got)
	assert.Equal(t, 1, lines[0])
	assert.Greater(t, lines[1], lines[0])
}

// TestGridDisagrees: a US delivery address whose trail names the UK grid.
func TestGridDisagrees(t *testing.T) {
	msg := "Received: from a (a [170.10.129.124]) by mx.example.com; date\n" +
		"Received: from b (b [203.0.113.9]) by relay.mimecast.com with ESMTP id uk-mta-1-X-1; date\n\n"
	m, err := ParseHeader([]byte(msg))
	require.NoError(t, err)
	r := usTracer(t, Config{}).Trace(m)
	assert.Equal(t, Mimecast, r.Verdict)
	assert.Equal(t, GridDisagrees, r.GridCheck)
	assert.Contains(t, strings.Join(r.Reasons, "\n"), "grid eu disagrees")
}

func TestOldRegionalRelayName(t *testing.T) {
	msg := "Received: from a (a [203.0.113.9]) by mx.example.com; date\n" +
		"Received: from b (b [203.0.113.8]) by au-smtp-1.mimecast.com with ESMTP id AbC; date\n\n"
	m, err := ParseHeader([]byte(msg))
	require.NoError(t, err)
	r := usTracer(t, Config{}).Trace(m)
	assert.Equal(t, Forged, r.Verdict)
	require.Len(t, r.Trail.Relays, 1)
	assert.Equal(t, regions.AU, r.Trail.Relays[0].Grid)
}

func TestARCAuthenticationResults(t *testing.T) {
	msg := "Received: from a (a [203.0.113.9]) by mx.example.com; date\n" +
		"ARC-Authentication-Results: i=1; relay.mimecast.com; auth=pass smtp.auth=CDE12A34 smtp.mailfrom=x@y\n" +
		"ARC-Message-Signature: i=1; a=rsa-sha256; c=relaxed/relaxed; d=dkim.mimecast.com; s=201903; b=x\n" +
		"Authentication-Results: mx.example.com; spf=pass smtp.auth=CUSA999 (not Mimecast's)\n\n"
	m, err := ParseHeader([]byte(msg))
	require.NoError(t, err)
	r := usTracer(t, Config{}).Trace(m)
	assert.Equal(t, Forged, r.Verdict)
	assert.Equal(t, []string{"CDE12A34"}, r.Trail.AccountCodes, "only relay.mimecast.com's results count")
	assert.Equal(t, regions.SetOf(regions.DE), r.Trail.AccountRegions)
	assert.True(t, r.Trail.ARC)
	assert.Equal(t, []string{"ARC-Authentication-Results", "ARC-Message-Signature"}, r.Trail.Headers)

	// Without any Mimecast field, the same boundary is a bypass.
	m, err = ParseHeader([]byte("Received: from a (a [203.0.113.9]) by mx.example.com; date\n" +
		"Authentication-Results: mx.example.com; spf=pass\nARC-Seal: i=1; d=example.net; b=x\n\n"))
	require.NoError(t, err)
	assert.Equal(t, Bypass, usTracer(t, Config{}).Trace(m).Verdict)
}
