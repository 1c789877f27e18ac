package milter

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	gomilter "github.com/d--j/go-milter"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b311f21d/go-mimecastip/mimecastip"
	"github.com/seed-b311f21d/go-mimecastip/regions"
)

// serve starts a Server for cfg on a loopback port and returns its address.
func serve(t *testing.T, cfg Config) (*Server, string) {
	t.Helper()
	s, err := New(cfg)
	require.NoError(t, err)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- s.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(ctx)
		assert.ErrorIs(t, <-done, ErrServerClosed)
	})
	return s, l.Addr().String()
}

func newSession(t *testing.T, addr string) *gomilter.ClientSession {
	t.Helper()
	c := gomilter.NewClient("tcp", addr, gomilter.WithAction(gomilter.OptAddHeader|gomilter.OptChangeHeader))
	s, err := c.Session(nil)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

func connect(t *testing.T, addr, client string) *gomilter.Action {
	t.Helper()
	fam := gomilter.FamilyInet
	if strings.Contains(client, ":") {
		fam = gomilter.FamilyInet6
	}
	act, err := newSession(t, addr).Conn("client.example.net", fam, 40000, client)
	require.NoError(t, err)
	return act
}

// TestConnectTiers: the checks with the go-milter client, and the
// other tiers.
func TestConnectTiers(t *testing.T) {
	_, addr := serve(t, Config{Load: Loader("", regions.SetOf(regions.US))})
	for _, c := range []struct {
		client string
		typ    gomilter.ActionType
		code   uint16
		text   string
	}{
		{"8.8.8.8", gomilter.ActionRejectWithCode, 550, "550 5.7.1 8.8.8.8 is not a Mimecast gateway for this domain"},
		{"170.10.129.124", gomilter.ActionAccept, 0, ""},
		{"207.211.30.44", gomilter.ActionAccept, 0, ""}, // non-SPF relay of us
		{"41.74.201.132", gomilter.ActionRejectWithCode, 451, "451 4.7.1 41.74.201.132 is in Mimecast range 41.74.200.0/23 (za), not of this domain's region"},
		{"185.58.85.151", gomilter.ActionRejectWithCode, 451, "(eu)"},
		{"213.167.75.200", gomilter.ActionRejectWithCode, 451, "451 4.7.1 213.167.75.200 is in retired Mimecast range 213.167.75.0/24"},
		{"41.74.203.10", gomilter.ActionRejectWithCode, 550, "5.7.1"}, // Web Security, no mail
		{"::ffff:170.10.129.124", gomilter.ActionAccept, 0, ""},
		{"2001:db8::5", gomilter.ActionRejectWithCode, 550, "2001:db8::5 is not a Mimecast gateway"},
		{"127.0.0.1", gomilter.ActionRejectWithCode, 550, "5.7.1"},
	} {
		act := connect(t, addr, c.client)
		assert.Equal(t, c.typ, act.Type, "%s: %v", c.client, act)
		if c.typ != gomilter.ActionAccept {
			assert.Equal(t, c.code, act.SMTPCode, c.client)
			assert.Contains(t, act.SMTPReply, c.text, c.client)
		}
	}
}

func TestUnknownFamilyTempfails(t *testing.T) {
	_, addr := serve(t, Config{Load: Loader("", 0)})
	for _, fam := range []gomilter.ProtoFamily{gomilter.FamilyUnknown, gomilter.FamilyUnix} {
		act, err := newSession(t, addr).Conn("localhost", fam, 0, "/var/run/x")
		require.NoError(t, err)
		assert.Equal(t, uint16(451), act.SMTPCode, "family %c", fam)
		assert.Contains(t, act.SMTPReply, "4.7.1 cannot classify")
	}
}

type panicky struct{}

func (panicky) DecideAddr(netip.Addr) Decision { panic("boom") }

type failing struct{}

func (failing) DecideAddr(a netip.Addr) Decision {
	return Decision{Verdict: TempFail, Tier: "error", Addr: a, Reason: "broken"}
}

func TestFailClosed(t *testing.T) {
	tr := Loader("", 0)
	for name, d := range map[string]Decider{"panic": panicky{}, "error": failing{}} {
		for _, tag := range []bool{false, true} {
			_, addr := serve(t, Config{Tag: tag, Load: func() (*Snapshot, error) {
				s, err := tr()
				if err != nil {
					return nil, err
				}
				s.Decider = d
				return s, nil
			}})
			act := connect(t, addr, "170.10.129.124")
			assert.Equal(t, uint16(451), act.SMTPCode, "%s tag=%v", name, tag)
			assert.Contains(t, act.SMTPReply, "4.3.0", "%s tag=%v", name, tag)
		}
	}
	// The zero Decision is a temporary failure.
	assert.Equal(t, TempFail, Decision{}.Verdict)
}

func TestTagMode(t *testing.T) {
	_, addr := serve(t, Config{Tag: true, Load: Loader("", regions.SetOf(regions.US))})
	for _, c := range []struct {
		client  string
		headers [][2]string
		want    string
	}{
		{"170.10.129.124", [][2]string{{"X-MC-Unique", "A-1"}, {"Received", "from x (x [203.0.113.5]) by relay.mimecast.com with ESMTP id us-mta-1-A-1; d"}},
			"mimecast; address=170.10.129.124; class=mimecast; regions=us; prefix=170.10.129.0/24; grid=us; decision=pass"},
		{"198.51.100.7", [][2]string{{"X-Mimecast-Spam-Score", "0"}, {DefaultTagHeader, "mimecast; forged by the sender"}, {"x-mimecastip-trace", "second copy"}},
			"forged; address=198.51.100.7; class=foreign; regions=; prefix=; decision=reject"},
		{"8.8.8.8", [][2]string{{"Subject", "x"}},
			"bypass; address=8.8.8.8; class=foreign; regions=; prefix=; decision=reject"},
		{"41.74.201.132", nil,
			"other-region; address=41.74.201.132; class=foreign; regions=za; prefix=41.74.200.0/23; decision=tempfail"},
	} {
		s := newSession(t, addr)
		act, err := s.Conn("client.example.net", gomilter.FamilyInet, 40000, c.client)
		require.NoError(t, err)
		require.Equal(t, gomilter.ActionContinue, act.Type, c.client)
		_, err = s.Helo("client.example.net")
		require.NoError(t, err)
		_, err = s.Mail("<a@sender.example>", "")
		require.NoError(t, err)
		_, err = s.Rcpt("<u@example.com>", "")
		require.NoError(t, err)
		_, err = s.DataStart()
		require.NoError(t, err)
		forged := 0
		for _, h := range c.headers {
			_, err = s.HeaderField(h[0], " "+h[1], nil)
			require.NoError(t, err)
			if strings.EqualFold(h[0], DefaultTagHeader) {
				forged++
			}
		}
		_, err = s.HeaderEnd()
		require.NoError(t, err)
		mods, act, err := s.BodyReadFrom(strings.NewReader("body\r\n"))
		require.NoError(t, err)
		// The end of message: accepted, with the modifications.
		assert.Equal(t, gomilter.ActionAccept, act.Type, c.client)
		var inserted []string
		var deleted []uint32
		for _, m := range mods {
			switch m.Type {
			case gomilter.ActionInsertHeader:
				assert.Equal(t, uint32(0), m.HeaderIndex)
				assert.Equal(t, DefaultTagHeader, m.HeaderName)
				inserted = append(inserted, m.HeaderValue)
			case gomilter.ActionChangeHeader:
				assert.Equal(t, "", m.HeaderValue, "a change must be a deletion")
				deleted = append(deleted, m.HeaderIndex)
			}
		}
		assert.Equal(t, []string{c.want}, inserted, c.client)
		wantDel := []uint32(nil)
		for i := forged; i >= 1; i-- {
			wantDel = append(wantDel, uint32(i))
		}
		assert.Equal(t, wantDel, deleted, c.client)
	}
}

func TestNewRefusesMimecastHeaderNames(t *testing.T) {
	for _, h := range []string{"X-Mimecast-Class", "x-mc-unique", "bad name", ""} {
		_, err := New(Config{Load: Loader("", 0), TagHeader: h})
		if h == "" {
			assert.NoError(t, err)
			continue
		}
		assert.Error(t, err, h)
	}
	_, err := New(Config{})
	assert.Error(t, err)
}

// TestReload: a reload swaps the data; a failed one keeps the old.
func TestReload(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ranges.txt")
	write := func(rows string) {
		d := "@version 2026-01-01\n@source t 2026-01-01 test\n" + rows + regions.EndLine(strings.Count(rows, "\n")) + "\n"
		require.NoError(t, os.WriteFile(path, []byte(d), 0o644))
	}
	write("170.10.129.0/24 us gateway active 2026 2026 t\n")
	s, addr := serve(t, Config{Load: Loader(path, regions.SetOf(regions.US))})
	assert.Equal(t, gomilter.ActionAccept, connect(t, addr, "170.10.129.124").Type)
	assert.Equal(t, uint16(550), connect(t, addr, "170.10.128.5").SMTPCode)

	write("170.10.128.0/24 us gateway active 2026 2026 t\n")
	require.NoError(t, s.Reload())
	assert.Equal(t, gomilter.ActionAccept, connect(t, addr, "170.10.128.5").Type)
	assert.Equal(t, uint16(550), connect(t, addr, "170.10.129.124").SMTPCode)

	write("not a data file\n")
	assert.Error(t, s.Reload())
	assert.Equal(t, gomilter.ActionAccept, connect(t, addr, "170.10.128.5").Type, "old data kept")

	// No mail range in scope: refused.
	write("170.10.128.0/24 eu gateway active 2026 2026 t\n")
	assert.ErrorContains(t, s.Reload(), "selects no Mimecast gateway")
	// Not a regular file.
	_, err := Loader(dir, 0)()
	assert.ErrorContains(t, err, "not a regular file")
}

// TestReloadIsAtomic: connections during reloads are decided by one
// snapshot or the other, never refused for want of data.
func TestReloadIsAtomic(t *testing.T) {
	s, addr := serve(t, Config{Load: Loader("", regions.SetOf(regions.US))})
	var stop atomic.Bool
	errc := make(chan error, 1)
	go func() {
		for !stop.Load() {
			if err := s.Reload(); err != nil {
				errc <- err
				return
			}
		}
		errc <- nil
	}()
	for range 30 {
		assert.Equal(t, gomilter.ActionAccept, connect(t, addr, "170.10.129.124").Type)
	}
	stop.Store(true)
	assert.NoError(t, <-errc)
}

// TestDeciderAgreesWithClassifier: for every active range of the embedded
// data, an address inside decides as the linear reading of the tiers says.
func TestDeciderAgreesWithClassifier(t *testing.T) {
	scope := regions.SetOf(regions.US)
	snap, err := Loader("", scope)()
	require.NoError(t, err)
	d := snap.Decider
	for _, r := range regions.Embedded().Ranges {
		a := r.Prefix.Addr()
		got := d.DecideAddr(a)
		// The reference: a linear scan for the most specific row.
		var best *regions.Range
		for i, x := range regions.Embedded().Ranges {
			if x.Prefix.Contains(a) && (best == nil || x.Prefix.Bits() > best.Prefix.Bits() || x.Prefix.Bits() == best.Prefix.Bits() && best.Retired && !x.Retired) {
				best = &regions.Embedded().Ranges[i]
			}
		}
		var activeBest *regions.Range
		for i, x := range regions.Embedded().Ranges {
			if !x.Retired && x.Prefix.Contains(a) && (activeBest == nil || x.Prefix.Bits() > activeBest.Prefix.Bits()) {
				activeBest = &regions.Embedded().Ranges[i]
			}
		}
		want := Reject
		switch {
		case activeBest != nil && activeBest.Service.Mail() && !activeBest.Regions.Intersect(scope).IsEmpty():
			want = Pass
		case activeBest != nil && activeBest.Service.Mail():
			want = TempFail
		case activeBest == nil && best != nil && best.Retired && best.Service.Mail():
			want = TempFail
		}
		assert.Equal(t, want, got.Verdict, "%s (row %s, tier %s)", a, r.Prefix, got.Tier)
		if want == Pass {
			assert.Equal(t, mimecastip.ClassOf(activeBest.Service), got.Class, a)
		}
	}
}

func TestServeErrorsMapped(t *testing.T) {
	s, err := New(Config{Load: Loader("", 0)})
	require.NoError(t, err)
	require.NoError(t, s.Close())
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	err = s.Serve(l)
	assert.True(t, errors.Is(err, ErrServerClosed), "%v", err)
}

// TestNegotiationWithALimitedMTA: an MTA that offers fewer actions (maddy
// cannot delete header fields) still gets the lockdown, and tag mode
// still inserts its header; an MTA that cannot add headers fails the
// negotiation of tag mode, which the MTA turns into a temporary failure.
func TestNegotiationWithALimitedMTA(t *testing.T) {
	_, enf := serve(t, Config{Load: Loader("", regions.SetOf(regions.US))})
	_, tag := serve(t, Config{Tag: true, Load: Loader("", regions.SetOf(regions.US))})

	s, err := gomilter.NewClient("tcp", enf, gomilter.WithActions(0)).Session(nil)
	require.NoError(t, err)
	defer s.Close()
	act, err := s.Conn("x", gomilter.FamilyInet, 1, "8.8.8.8")
	require.NoError(t, err)
	assert.Equal(t, uint16(550), act.SMTPCode)

	_, err = gomilter.NewClient("tcp", tag, gomilter.WithActions(0)).Session(nil)
	assert.Error(t, err, "tag mode without add-header must not negotiate")

	s, err = gomilter.NewClient("tcp", tag, gomilter.WithActions(gomilter.OptAddHeader)).Session(nil)
	require.NoError(t, err)
	defer s.Close()
	_, err = s.Conn("x", gomilter.FamilyInet, 1, "170.10.129.124")
	require.NoError(t, err)
	_, err = s.Helo("x")
	require.NoError(t, err)
	_, err = s.Mail("<a@x>", "")
	require.NoError(t, err)
	_, err = s.Rcpt("<b@y>", "")
	require.NoError(t, err)
	_, err = s.DataStart()
	require.NoError(t, err)
	_, err = s.HeaderField(DefaultTagHeader, " forged", nil)
	require.NoError(t, err)
	_, err = s.HeaderEnd()
	require.NoError(t, err)
	mods, act, err := s.BodyReadFrom(strings.NewReader("x\r\n"))
	require.NoError(t, err)
	assert.Equal(t, gomilter.ActionAccept, act.Type)
	require.Len(t, mods, 1)
	assert.Equal(t, gomilter.ActionInsertHeader, mods[0].Type)
	assert.True(t, strings.HasPrefix(mods[0].HeaderValue, "mimecast; address=170.10.129.124;"), mods[0].HeaderValue)
}
