package matcher_test

import (
	"fmt"
	"net/netip"

	"github.com/seed-b311f21d/go-mimecastip/matcher"
	"github.com/seed-b311f21d/go-mimecastip/regions"
)

func ExampleNew() {
	// Any ranges will do, not only the embedded dataset. These are
	// documentation prefixes (RFC 5737, RFC 3849).
	m, err := matcher.New([]regions.Range{
		{Prefix: netip.MustParsePrefix("192.0.2.0/24"), Regions: regions.SetOf(regions.EU), Service: regions.Gateway},
		{Prefix: netip.MustParsePrefix("192.0.2.40/29"), Regions: regions.SetOf(regions.EU), Service: regions.NonSPF},
		{Prefix: netip.MustParsePrefix("2001:db8::/32"), Regions: regions.SetOf(regions.DE), Service: regions.Gateway},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(m.Len())

	_, err = matcher.New([]regions.Range{{Prefix: netip.MustParsePrefix("192.0.2.1/24")}})
	fmt.Println(err)
	// Output:
	// 3
	// matcher: row 0: prefix 192.0.2.1/24 is not canonical (want 192.0.2.0/24)
}

func ExampleMatcher_Lookup() {
	m, err := matcher.New([]regions.Range{
		{Prefix: netip.MustParsePrefix("192.0.2.0/24"), Regions: regions.SetOf(regions.EU), Service: regions.Gateway},
		{Prefix: netip.MustParsePrefix("192.0.2.40/29"), Regions: regions.SetOf(regions.EU), Service: regions.NonSPF},
		{Prefix: netip.MustParsePrefix("2001:db8::/32"), Regions: regions.SetOf(regions.DE), Service: regions.Gateway},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range []string{
		"192.0.2.1",         // in the /24
		"192.0.2.45",        // the more specific /29 decides
		"::ffff:192.0.2.45", // IPv4-mapped: unmapped first
		"2001:db8::25%eth0", // the zone is ignored
		"198.51.100.1",      // no range
	} {
		r, ok := m.Lookup(netip.MustParseAddr(s))
		if !ok {
			fmt.Println(s, "no range")
			continue
		}
		fmt.Println(s, r.Prefix, r.Regions, r.Service)
	}
	// Output:
	// 192.0.2.1 192.0.2.0/24 eu gateway
	// 192.0.2.45 192.0.2.40/29 eu non-spf
	// ::ffff:192.0.2.45 192.0.2.40/29 eu non-spf
	// 2001:db8::25%eth0 2001:db8::/32 de gateway
	// 198.51.100.1 no range
}
