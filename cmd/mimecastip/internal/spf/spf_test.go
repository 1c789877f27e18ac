package spf_test

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b311f21d/go-mimecastip/cmd/mimecastip/internal/iprange"
	"github.com/seed-b311f21d/go-mimecastip/cmd/mimecastip/internal/spf"
	"github.com/seed-b311f21d/go-mimecastip/cmd/mimecastip/internal/spf/spftest"
	"github.com/seed-b311f21d/go-mimecastip/regions"
)

func pfx(ss ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range ss {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}

func expander(s *spftest.Server) *spf.Expander {
	return &spf.Expander{Resolver: s.Resolver(), Timeout: 2 * time.Second}
}

func expand(t *testing.T, zone map[string][]string, name string) (*spf.Result, error) {
	t.Helper()
	s := spftest.Start(t, zone)
	return expander(s).Expand(context.Background(), name)
}

// requireErr checks that err is an *spf.Error of kind k naming name and
// term, whose text holds every part of want.
func requireErr(t *testing.T, err error, k spf.Kind, name, term string, want ...string) {
	t.Helper()
	require.Error(t, err)
	var e *spf.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, k, e.Kind, "kind of %v", err)
	assert.Equal(t, name, e.Name, "name in %v", err)
	assert.Equal(t, term, e.Term, "term in %v", err)
	for _, w := range want {
		assert.Contains(t, err.Error(), w)
	}
}

func TestExpandFixture(t *testing.T) {
	// The global record of capture B (2026-02-14) and two of its regions.
	zone := map[string][]string{
		"_netblocks.mimecast.com": {"v=spf1 include:eu._netblocks.mimecast.com include:za._netblocks.mimecast.com ~all"},
		"eu._netblocks.mimecast.com": {
			"some-verification=abc",
			"v=spf1 ip4:91.220.42.0/24 ip4:146.101.78.0/24 ip4:193.7.206.0/25 ip4:193.7.207.0/25 ip4:213.167.75.0/25 -all",
		},
		"za._netblocks.mimecast.com": {"v=spf1 ip4:41.74.192.0/22 ip4:41.74.196.0/22 ip4:41.74.200.0/23 ip4:41.74.204.0/23 ip4:41.74.206.0/24 ~all"},
	}
	res, err := expand(t, zone, "_netblocks.mimecast.com")
	require.NoError(t, err)
	assert.Equal(t, pfx("41.74.192.0/22", "41.74.196.0/22", "41.74.200.0/23", "41.74.204.0/23", "41.74.206.0/24",
		"91.220.42.0/24", "146.101.78.0/24", "193.7.206.0/25", "193.7.207.0/25", "213.167.75.0/25"), res.Prefixes)
	assert.Equal(t, 2, res.Lookups)
	assert.False(t, res.Partial())
	assert.Empty(t, res.Notes)

	incs := res.Includes()
	require.Len(t, incs, 2)
	assert.Equal(t, "eu._netblocks.mimecast.com", incs[0].Name)
	assert.Equal(t, "include", incs[0].Via)
	assert.Equal(t, pfx("91.220.42.0/24", "146.101.78.0/24", "193.7.206.0/25", "193.7.207.0/25", "213.167.75.0/25"), incs[0].Prefixes)
	assert.Equal(t, "za._netblocks.mimecast.com", incs[1].Name)
	assert.Len(t, incs[1].Prefixes, 5)
	assert.Empty(t, res.Root.Prefixes)
	assert.Equal(t, "v=spf1 include:eu._netblocks.mimecast.com include:za._netblocks.mimecast.com ~all", res.Root.Record)
}

func TestExpandEmbeddedZone(t *testing.T) {
	// A zone built from the dataset's SPF rows expands to exactly those rows.
	d := regions.Embedded()
	zone := spftest.ZoneOf(d)
	s := spftest.Start(t, zone)
	x := expander(s)
	var all []netip.Prefix
	seen := map[netip.Prefix]bool{}
	for _, r := range spftest.Checked[:len(spftest.Checked)-1] {
		in, _ := regions.InfoOf(r)
		res, err := x.Expand(context.Background(), in.SPFInclude)
		require.NoError(t, err, r)
		var want []netip.Prefix
		for _, rg := range d.Active() {
			if rg.Regions.Has(r) && rg.SPFPublished() {
				want = append(want, rg.Prefix)
				if !seen[rg.Prefix] {
					seen[rg.Prefix] = true
					all = append(all, rg.Prefix)
				}
			}
		}
		iprange.SortPrefixes(want)
		assert.Equal(t, want, res.Prefixes, r)
	}
	res, err := x.Expand(context.Background(), "_netblocks.mimecast.com")
	require.NoError(t, err)
	iprange.SortPrefixes(all)
	assert.Equal(t, all, res.Prefixes)
	assert.Len(t, res.Includes(), 7)
	assert.Equal(t, 7, res.Lookups)
}

func TestExpandTerms(t *testing.T) {
	zone := map[string][]string{
		"a.example.com": {"V=SPF1 IP4:198.51.99.7 +ip4:45.1.2.3/24 ip6:2a00:1450::/32 ip6:2a00:1450:4000::1 Include:b.example.com exp=explain.example.com foo=bar ?all"},
		"b.example.com": {"v=spf1 ip4:45.9.0.0/16 redirect=c.example.com"},
		"c.example.com": {"v=spf1 ip4:45.8.1.0/24 ip4:45.9.0.0/16 -all"},
	}
	res, err := expand(t, zone, "A.Example.COM.")
	require.NoError(t, err)
	assert.Equal(t, "a.example.com", res.Name)
	assert.Equal(t, pfx("45.1.2.0/24", "45.8.1.0/24", "45.9.0.0/16", "198.51.99.7/32", "2a00:1450::/32", "2a00:1450:4000::1/128"), res.Prefixes)
	assert.Equal(t, 2, res.Lookups)
	require.Len(t, res.Notes, 1)
	assert.Contains(t, res.Notes[0], `"+ip4:45.1.2.3/24": host bits set; using 45.1.2.0/24`)
	// Breakdown: a lists four prefixes and includes b, which redirects to c.
	assert.Len(t, res.Root.Prefixes, 4)
	require.Len(t, res.Root.Children, 1)
	b := res.Root.Children[0]
	assert.Equal(t, "include", b.Via)
	require.Len(t, b.Children, 1)
	assert.Equal(t, "redirect", b.Children[0].Via)
	assert.Equal(t, pfx("45.8.1.0/24", "45.9.0.0/16"), b.All())
}

func TestExpandAllEndsTheRecord(t *testing.T) {
	zone := map[string][]string{
		"a.example.com": {"v=spf1 ip4:45.1.2.0/24 -all ip4:45.1.3.0/24 redirect=b.example.com"},
	}
	res, err := expand(t, zone, "a.example.com")
	require.NoError(t, err)
	assert.Equal(t, pfx("45.1.2.0/24"), res.Prefixes)
	assert.Equal(t, 0, res.Lookups, "redirect= is ignored when the record has all")
	assert.Len(t, res.Notes, 2)
}

func TestExpandRefusesUnsupported(t *testing.T) {
	for _, tc := range []struct{ rec, term, want string }{
		{"v=spf1 a -all", "a", "unsupported in a netblock record"},
		{"v=spf1 ip4:45.1.2.0/24 a/24 -all", "a/24", "unsupported in a netblock record"},
		{"v=spf1 mx:example.org -all", "mx:example.org", "unsupported in a netblock record"},
		{"v=spf1 ptr -all", "ptr", "unsupported in a netblock record"},
		{"v=spf1 exists:%{i}.bl.example.org -all", "exists:%{i}.bl.example.org", "unsupported in a netblock record"},
		{"v=spf1 include:%{d}.example.org -all", "include:%{d}.example.org", "macros are unsupported"},
		{"v=spf1 redirect=%{d}.example.org", "redirect=%{d}.example.org", "macros are unsupported"},
		{"v=spf1 -ip4:45.1.2.0/24 ~all", "-ip4:45.1.2.0/24", `qualifier "-"`},
		{"v=spf1 ~include:b.example.com", "~include:b.example.com", `qualifier "~"`},
		{"v=spf1 ip4:45.1.2.0/24 +all", "+all", "every address a sender"},
		{"v=spf1 all", "all", "every address a sender"},
		{"v=spf1 ip5:45.1.2.0/24", "ip5:45.1.2.0/24", "unknown mechanism"},
		{"v=spf1 ip4:45.1.2.0/33", "ip4:45.1.2.0/33", "bad ip4 network"},
		{"v=spf1 ip4:2a00:1450::/32", "ip4:2a00:1450::/32", "non-IPv4"},
		{"v=spf1 ip6:45.1.2.0/24", "ip6:45.1.2.0/24", "non-IPv6"},
		{"v=spf1 ip4:", "ip4:", "bad ip4 address"},
		{"v=spf1 include:nodot", "include:nodot", "not fully qualified"},
		{"v=spf1 redirect=b.example.com redirect=c.example.com", "redirect=c.example.com", "second redirect="},
	} {
		t.Run(tc.rec, func(t *testing.T) {
			_, err := expand(t, map[string][]string{"a.example.com": {tc.rec}}, "a.example.com")
			requireErr(t, err, spf.KindPerm, "a.example.com", tc.term, tc.want)
		})
	}
}

func TestExpandRefusesPoison(t *testing.T) {
	for _, tc := range []struct{ term, want string }{
		{"ip4:10.0.0.0/8", "private"},
		{"ip4:10.1.2.3", "private"},
		{"ip4:0.0.0.0/0", "this-network"},
		{"ip4:192.0.2.0/24", "documentation"},
		{"ip4:127.0.0.1", "loopback"},
		{"ip4:17.0.0.0/8", "broader than /16"},
		{"ip4:45.0.0.0/15", "broader than /16"},
		{"ip6:2001:db8::/32", "documentation"},
		{"ip6:2a00::/16", "broader than /16"},
		{"ip6:::/0", "special"},
		{"ip6:fe80::/64", "outside IPv6 global unicast"},
		{"ip6:::ffff:45.1.2.0/120", "4-in-6"},
	} {
		t.Run(tc.term, func(t *testing.T) {
			// The poison sits in an included record, after good terms.
			zone := map[string][]string{
				"a.example.com": {"v=spf1 ip4:45.1.2.0/24 include:b.example.com -all"},
				"b.example.com": {"v=spf1 ip4:45.1.3.0/24 " + tc.term + " -all"},
			}
			_, err := expand(t, zone, "a.example.com")
			if tc.want == "special" { // ::/0 overlaps several special blocks; any refusal will do
				requireErr(t, err, spf.KindPerm, "b.example.com", tc.term, "refused")
				return
			}
			requireErr(t, err, spf.KindPerm, "b.example.com", tc.term, "refused", tc.want)
		})
	}
}

func TestExpandLoops(t *testing.T) {
	t.Run("include", func(t *testing.T) {
		zone := map[string][]string{
			"a.example.com": {"v=spf1 ip4:45.1.2.0/24 include:b.example.com -all"},
			"b.example.com": {"v=spf1 include:c.example.com -all"},
			"c.example.com": {"v=spf1 include:A.example.com. -all"},
		}
		_, err := expand(t, zone, "a.example.com")
		requireErr(t, err, spf.KindPerm, "c.example.com", "include:A.example.com.", "include loop: a.example.com -> b.example.com -> c.example.com -> a.example.com")
	})
	t.Run("self-redirect", func(t *testing.T) {
		zone := map[string][]string{"a.example.com": {"v=spf1 ip4:45.1.2.0/24 redirect=a.example.com"}}
		_, err := expand(t, zone, "a.example.com")
		requireErr(t, err, spf.KindPerm, "a.example.com", "redirect=a.example.com", "include loop")
	})
	t.Run("diamond-is-not-a-loop", func(t *testing.T) {
		zone := map[string][]string{
			"a.example.com": {"v=spf1 include:b.example.com include:c.example.com -all"},
			"b.example.com": {"v=spf1 include:d.example.com -all"},
			"c.example.com": {"v=spf1 include:d.example.com -all"},
			"d.example.com": {"v=spf1 ip4:45.1.2.0/24 -all"},
		}
		res, err := expand(t, zone, "a.example.com")
		require.NoError(t, err)
		assert.Equal(t, pfx("45.1.2.0/24"), res.Prefixes)
		assert.Equal(t, 4, res.Lookups)
	})
}

// chain returns a zone where n0.example.com includes n1, n1 includes n2,
// ... and n<n> lists one prefix.
func chain(n int) map[string][]string {
	zone := map[string][]string{}
	for i := range n {
		zone[fmt.Sprintf("n%d.example.com", i)] = []string{fmt.Sprintf("v=spf1 ip4:45.1.%d.0/24 include:n%d.example.com -all", i, i+1)}
	}
	zone[fmt.Sprintf("n%d.example.com", n)] = []string{"v=spf1 ip4:45.2.0.0/24 -all"}
	return zone
}

func TestExpandLookupLimit(t *testing.T) {
	res, err := expand(t, chain(10), "n0.example.com")
	require.NoError(t, err, "10 DNS-querying terms are allowed")
	assert.Equal(t, 10, res.Lookups)
	assert.Len(t, res.Prefixes, 11)

	_, err = expand(t, chain(11), "n0.example.com")
	requireErr(t, err, spf.KindPerm, "n10.example.com", "include:n11.example.com", "more than 10 DNS-querying terms")

	// Breadth counts as much as depth.
	var incs []string
	zone := map[string][]string{}
	for i := range 11 {
		name := fmt.Sprintf("w%d.example.com", i)
		incs = append(incs, "include:"+name)
		zone[name] = []string{fmt.Sprintf("v=spf1 ip4:45.1.%d.0/24 -all", i)}
	}
	zone["wide.example.com"] = []string{"v=spf1 " + strings.Join(incs, " ") + " -all"}
	_, err = expand(t, zone, "wide.example.com")
	requireErr(t, err, spf.KindPerm, "wide.example.com", "include:w10.example.com", "more than 10")
}

func TestExpandVoidLookups(t *testing.T) {
	zone := map[string][]string{
		"a.example.com":      {"v=spf1 ip4:45.1.2.0/24 include:gone1.example.com include:nodata.example.com -all"},
		"nodata.example.com": {}, // exists, no TXT records
		"three.example.com":  {"v=spf1 include:gone1.example.com include:gone2.example.com include:nospf.example.com -all"},
		"nospf.example.com":  {"google-site-verification=xyz"},
	}
	s := spftest.Start(t, zone)
	x := expander(s)
	res, err := x.Expand(context.Background(), "a.example.com")
	require.NoError(t, err, "two void lookups are tolerated")
	assert.True(t, res.Partial())
	assert.Equal(t, []string{"gone1.example.com", "nodata.example.com"}, res.Voids)
	assert.Equal(t, pfx("45.1.2.0/24"), res.Prefixes)
	incs := res.Includes()
	require.Len(t, incs, 2)
	assert.Equal(t, "nxdomain", incs[0].Void)

	_, err = x.Expand(context.Background(), "three.example.com")
	requireErr(t, err, spf.KindPerm, "nospf.example.com", "", "more than 2 void lookups")

	// The name itself not existing is a failed lookup, not a void one.
	_, err = x.Expand(context.Background(), "gone1.example.com")
	requireErr(t, err, spf.KindNotFound, "gone1.example.com", "")
	assert.True(t, spf.KindOf(err).Unknown())
	_, err = x.Expand(context.Background(), "nodata.example.com")
	requireErr(t, err, spf.KindNotFound, "nodata.example.com", "")
	_, err = x.Expand(context.Background(), "nospf.example.com")
	requireErr(t, err, spf.KindNoSPF, "nospf.example.com", "", "no v=spf1 record")
	assert.True(t, spf.KindOf(err).Unknown())
}

func TestExpandServerFailures(t *testing.T) {
	zone := map[string][]string{
		"a.example.com": {"v=spf1 ip4:45.1.2.0/24 include:b.example.com -all"},
		"b.example.com": {"v=spf1 ip4:45.1.3.0/24 -all"},
	}
	s := spftest.Start(t, zone)
	x := expander(s)
	s.Rcode("b.example.com", dns.RcodeServerFailure)
	_, err := x.Expand(context.Background(), "a.example.com")
	requireErr(t, err, spf.KindServFail, "b.example.com", "")
	assert.True(t, spf.KindOf(err).Unknown())

	s.Rcode("a.example.com", dns.RcodeRefused)
	_, err = x.Expand(context.Background(), "a.example.com")
	requireErr(t, err, spf.KindServFail, "a.example.com", "")
}

func TestExpandTimeout(t *testing.T) {
	t.Run("silent-server", func(t *testing.T) {
		addr := spftest.StartSilent(t)
		x := &spf.Expander{Resolver: spftest.ResolverFor(addr), Timeout: 300 * time.Millisecond}
		start := time.Now()
		_, err := x.Expand(context.Background(), "a.example.com")
		requireErr(t, err, spf.KindTimeout, "a.example.com", "")
		assert.Less(t, time.Since(start), 5*time.Second)
	})
	t.Run("silent-include", func(t *testing.T) {
		zone := map[string][]string{
			"a.example.com": {"v=spf1 ip4:45.1.2.0/24 include:b.example.com -all"},
			"b.example.com": {"v=spf1 ip4:45.1.3.0/24 -all"},
		}
		s := spftest.Start(t, zone)
		s.Silence("b.example.com")
		x := &spf.Expander{Resolver: s.Resolver(), Timeout: time.Second}
		_, err := x.Expand(context.Background(), "a.example.com")
		requireErr(t, err, spf.KindTimeout, "b.example.com", "")
	})
	t.Run("context", func(t *testing.T) {
		addr := spftest.StartSilent(t)
		x := &spf.Expander{Resolver: spftest.ResolverFor(addr)}
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		_, err := x.Expand(ctx, "a.example.com")
		requireErr(t, err, spf.KindTimeout, "a.example.com", "")
	})
}

func TestExpandSizes(t *testing.T) {
	t.Run("large-answer-over-tcp", func(t *testing.T) {
		// 100 prefixes: about 2 KiB, more than a UDP answer holds.
		var ps []netip.Prefix
		for i := range 100 {
			ps = append(ps, netip.PrefixFrom(netip.AddrFrom4([4]byte{45, 1, byte(i), 0}), 24))
		}
		s := spftest.Start(t, map[string][]string{"a.example.com": {spftest.Record(ps)}})
		res, err := expander(s).Expand(context.Background(), "a.example.com")
		require.NoError(t, err)
		assert.Len(t, res.Prefixes, 100)
		_, tcp := s.Queries()
		assert.Positive(t, tcp, "the answer must have come over TCP")
	})
	t.Run("oversized-txt", func(t *testing.T) {
		var ps []netip.Prefix
		for i := range 250 { // about 5 KiB
			ps = append(ps, netip.PrefixFrom(netip.AddrFrom4([4]byte{45, 1, byte(i), 0}), 24))
		}
		_, err := expand(t, map[string][]string{"a.example.com": {spftest.Record(ps)}}, "a.example.com")
		requireErr(t, err, spf.KindPerm, "a.example.com", "", "larger than the limit of 4096")
	})
	t.Run("oversized-junk-beside-the-record", func(t *testing.T) {
		_, err := expand(t, map[string][]string{"a.example.com": {"v=spf1 ip4:45.1.2.0/24 -all", strings.Repeat("x", 4200)}}, "a.example.com")
		requireErr(t, err, spf.KindPerm, "a.example.com", "", "larger than the limit")
	})
	t.Run("too-many-terms", func(t *testing.T) {
		rec := "v=spf1" + strings.Repeat(" ~all", 600)
		_, err := expand(t, map[string][]string{"a.example.com": {rec}}, "a.example.com")
		requireErr(t, err, spf.KindPerm, "a.example.com", "", "600 terms, more than the limit of 512")
	})
	t.Run("too-many-prefixes", func(t *testing.T) {
		zone := map[string][]string{"a.example.com": {"v=spf1 include:b.example.com include:c.example.com include:d.example.com include:e.example.com -all"}}
		for j, n := range []string{"b", "c", "d", "e"} {
			var ps []netip.Prefix
			for i := range 130 {
				ps = append(ps, netip.PrefixFrom(netip.AddrFrom4([4]byte{45, byte(j), byte(i), 0}), 24))
			}
			zone[n+".example.com"] = []string{spftest.Record(ps)}
		}
		_, err := expand(t, zone, "a.example.com")
		requireErr(t, err, spf.KindPerm, "e.example.com", "ip4:45.3.122.0/24", "more than 512 prefixes in the expansion of a.example.com")
	})
	t.Run("custom-limits", func(t *testing.T) {
		s := spftest.Start(t, chain(3))
		x := &spf.Expander{Resolver: s.Resolver(), Limits: spf.Limits{MaxLookups: 2}}
		_, err := x.Expand(context.Background(), "n0.example.com")
		requireErr(t, err, spf.KindPerm, "n2.example.com", "include:n3.example.com", "more than 2 DNS-querying terms")
	})
}

func TestExpandRecordChoice(t *testing.T) {
	_, err := expand(t, map[string][]string{"a.example.com": {"v=spf1 ip4:45.1.2.0/24 -all", "v=spf1 ip4:45.1.3.0/24 -all"}}, "a.example.com")
	requireErr(t, err, spf.KindPerm, "a.example.com", "", "2 v=spf1 records")
	// v=spf10 is not an SPF record.
	_, err = expand(t, map[string][]string{"a.example.com": {"v=spf10 ip4:45.1.2.0/24"}}, "a.example.com")
	requireErr(t, err, spf.KindNoSPF, "a.example.com", "")
	// An empty record lists nothing; that is not an error here.
	res, err := expand(t, map[string][]string{"a.example.com": {"v=spf1"}}, "a.example.com")
	require.NoError(t, err)
	assert.Empty(t, res.Prefixes)
	// A control byte is refused.
	_, err = expand(t, map[string][]string{"a.example.com": {"v=spf1 ip4:45.1.2.0/24\x00 -all"}}, "a.example.com")
	requireErr(t, err, spf.KindPerm, "a.example.com", "", "non-printable")
	// A bad name to expand.
	_, err = (&spf.Expander{}).Expand(context.Background(), "bad name.example.com")
	requireErr(t, err, spf.KindPerm, "bad name.example.com", "", "bad domain name")
}

func TestCache(t *testing.T) {
	zone := map[string][]string{"a.example.com": {"v=spf1 ip4:45.1.2.0/24 -all"}}
	s := spftest.Start(t, zone)
	c := spf.NewCache(s.Resolver())
	x := &spf.Expander{Resolver: c, Timeout: 2 * time.Second}
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			res, err := x.Expand(context.Background(), "a.example.com")
			assert.NoError(t, err)
			if err == nil {
				assert.Equal(t, pfx("45.1.2.0/24"), res.Prefixes)
			}
		})
	}
	wg.Wait()
	_, err := x.Expand(context.Background(), "gone.example.com")
	requireErr(t, err, spf.KindNotFound, "gone.example.com", "")
	_, err = x.Expand(context.Background(), "GONE.example.com.")
	requireErr(t, err, spf.KindNotFound, "gone.example.com", "")
	assert.Equal(t, []string{"a.example.com", "gone.example.com"}, s.Log(), "one query per name")
}

func TestKind(t *testing.T) {
	for k, want := range map[spf.Kind]string{
		spf.KindPerm: "refused", spf.KindTimeout: "timeout", spf.KindServFail: "servfail",
		spf.KindNotFound: "nxdomain", spf.KindNoSPF: "no-spf", spf.KindTemp: "lookup-error", 0: "kind(0)",
	} {
		assert.Equal(t, want, k.String())
		assert.Equal(t, k != spf.KindPerm && k != 0, k.Unknown(), k)
	}
	assert.Equal(t, spf.Kind(0), spf.KindOf(fmt.Errorf("plain")))
	err := fmt.Errorf("wrapped: %w", &spf.Error{Kind: spf.KindTimeout, Name: "x.example", Err: context.DeadlineExceeded})
	assert.Equal(t, spf.KindTimeout, spf.KindOf(err))
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Equal(t, "wrapped: spf: x.example: context deadline exceeded", err.Error())
}
