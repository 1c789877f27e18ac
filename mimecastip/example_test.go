package mimecastip_test

import (
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/seed-b311f21d/go-mimecastip/mimecastip"
	"github.com/seed-b311f21d/go-mimecastip/regions"
)

// The examples use long-stable published Mimecast addresses: a data refresh
// that changes their answers is meant to break them.

func Example() {
	// An SMTP server that accepts mail only through Mimecast.
	for _, s := range []string{"170.10.128.5", "8.8.8.8"} {
		if mimecastip.Lookup(netip.MustParseAddr(s)).Class == mimecastip.Foreign {
			fmt.Println(s, "554 5.7.1 not a Mimecast gateway")
			continue
		}
		fmt.Println(s, "220 welcome")
	}
	// Output:
	// 170.10.128.5 220 welcome
	// 8.8.8.8 554 5.7.1 not a Mimecast gateway
}

func ExampleLookup() {
	for _, s := range []string{
		"170.10.128.5",        // US gateway
		"207.211.30.45",       // US non-SPF relay, inside a gateway /24
		"185.58.84.93",        // published for the US inside Europe's /22
		"::ffff:185.58.84.94", // IPv4-mapped: classified as 185.58.84.94
		"146.101.202.134",     // the Mimecast website: no mail comes from it
		"192.0.2.1",
	} {
		r := mimecastip.Lookup(netip.MustParseAddr(s))
		fmt.Printf("%s: %s\n", s, r)
	}
	// Output:
	// 170.10.128.5: mimecast us 170.10.128.0/24 gateway
	// 207.211.30.45: non-spf us 207.211.30.40/29 non-spf
	// 185.58.84.93: mimecast us 185.58.84.93/32 gateway
	// ::ffff:185.58.84.94: mimecast eu 185.58.84.0/22 gateway
	// 146.101.202.134: foreign global 146.101.202.134/32 website
	// 192.0.2.1: foreign
}

func ExampleLookupString() {
	for _, s := range []string{
		"170.10.156.1",
		"[205.139.111.49]",
		"205.139.111.50:25",
		"[IPv6:::ffff:207.211.30.45]:25",
		"mail.example.com",
	} {
		r, err := mimecastip.LookupString(s)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(r.Class, r.Regions, r.Prefix())
	}
	// Output:
	// mimecast us,usb 170.10.156.0/24
	// non-spf us 205.139.111.48/31
	// mimecast us 205.139.111.0/24
	// non-spf us 207.211.30.40/29
	// mimecastip: "mail.example.com" is not an IP address (want a.b.c.d, an IPv6 address, [address] or address:port)
}

func ExampleLookupNetAddr() {
	// In a server: r := mimecastip.LookupNetAddr(conn.RemoteAddr()).
	// A dual-stack listener reports IPv4 clients as ::ffff:a.b.c.d.
	remote := &net.TCPAddr{IP: net.ParseIP("::ffff:170.10.128.5"), Port: 49152}
	r := mimecastip.LookupNetAddr(remote)
	fmt.Println(r.Class, r.Prefix())

	fmt.Println(mimecastip.LookupNetAddr(&net.UnixAddr{Name: "/run/smtp.sock", Net: "unix"}).Class)
	// Output:
	// mimecast 170.10.128.0/24
	// foreign
}

func ExampleLookupIP() {
	fmt.Println(mimecastip.LookupIP(net.ParseIP("41.74.203.10")))
	fmt.Println(mimecastip.LookupIP(net.IPv4(207, 211, 30, 49)).Class)
	fmt.Println(mimecastip.LookupIP(nil).Class)
	// Output:
	// foreign global 41.74.203.10/32 web-security
	// non-spf
	// foreign
}

func ExampleLoad() {
	// An account on the European grid (account code CUK...) should accept
	// mail only from the European gateways.
	set, err := regions.ParseSet("CUK12A345")
	if err != nil {
		fmt.Println(err)
		return
	}
	c, err := mimecastip.Load(regions.Embedded(), set)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range []string{"91.220.42.1", "170.10.128.5", "146.101.202.134"} {
		fmt.Println(s, c.Lookup(netip.MustParseAddr(s)))
	}
	// Output:
	// 91.220.42.1 mimecast eu 91.220.42.0/24 gateway
	// 170.10.128.5 foreign
	// 146.101.202.134 foreign global 146.101.202.134/32 website
}

func ExampleLoad_reader() {
	// A custom dataset in the data-file format, validated like the
	// embedded one, read from any io.Reader.
	const file = `@version 2026-01-01
@source mine 2026-01-01 our own relays
1.2.3.0/24   eu  gateway  active  2026  2026  mine
1.2.3.16/28  eu  non-spf  active  2026  2026  mine
@end 2
`
	d, err := regions.Parse(strings.NewReader(file))
	if err != nil {
		fmt.Println(err)
		return
	}
	c, err := mimecastip.Load(d, 0) // 0: every region
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("version", c.Version())
	for _, s := range []string{"1.2.3.4", "1.2.3.20", "170.10.128.5"} {
		fmt.Println(s, c.Lookup(netip.MustParseAddr(s)))
	}
	// Output:
	// version 2026-01-01
	// 1.2.3.4 mimecast eu 1.2.3.0/24 gateway
	// 1.2.3.20 non-spf eu 1.2.3.16/28 non-spf
	// 170.10.128.5 foreign
}

func ExampleLoad_file() {
	// A data file, such as one written by "mimecastip refresh --write".
	dir, err := os.MkdirTemp("", "mimecastip-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "ranges.txt")
	f, err := os.Create(path)
	if err != nil {
		fmt.Println(err)
		return
	}
	err = regions.Embedded().Format(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		fmt.Println(err)
		return
	}

	d, err := regions.ParseFile(path) // errors name the file and the line
	if err != nil {
		fmt.Println(err)
		return
	}
	c, err := mimecastip.Load(d, regions.SetOf(regions.US))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(c.Scope(), c.Version() == regions.Version())
	fmt.Println(c.Lookup(netip.MustParseAddr("170.10.128.5")).Class)
	fmt.Println(c.Lookup(netip.MustParseAddr("91.220.42.1")).Class) // Europe's
	// Output:
	// us true
	// mimecast
	// foreign
}

func ExampleNew() {
	// Any ranges will do; these are documentation prefixes (RFC 5737).
	c, err := mimecastip.New([]regions.Range{
		{Prefix: netip.MustParsePrefix("192.0.2.0/24"), Regions: regions.SetOf(regions.EU), Service: regions.Gateway},
		{Prefix: netip.MustParsePrefix("192.0.2.16/28"), Regions: regions.SetOf(regions.EU), Service: regions.NonSPF},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range []string{"192.0.2.4", "192.0.2.20", "198.51.100.1"} {
		fmt.Println(s, c.Lookup(netip.MustParseAddr(s)))
	}
	// Output:
	// 192.0.2.4 mimecast eu 192.0.2.0/24 gateway
	// 192.0.2.20 non-spf eu 192.0.2.16/28 non-spf
	// 198.51.100.1 foreign
}

func ExampleReloadable() {
	// A long-running server keeps its classifier in a Reloadable and swaps
	// in a complete new one on reload (for example on SIGHUP). A reload
	// that fails keeps the old data in service.
	load := func(file string) (*mimecastip.Classifier, error) {
		d, err := regions.Parse(strings.NewReader(file))
		if err != nil {
			return nil, err
		}
		return mimecastip.Load(d, 0)
	}
	const v1 = "@version 2026-01-01\n@source mine 2026-01-01 our relays\n1.2.3.0/24 eu gateway active 2026 2026 mine\n@end 1\n"
	const v2 = "@version 2026-02-01\n@source mine 2026-02-01 our relays\n1.2.4.0/24 eu gateway active 2026 2026 mine\n@end 1\n"

	var cur mimecastip.Reloadable // the zero Reloadable: every address Foreign
	a := netip.MustParseAddr("1.2.4.7")
	fmt.Println(cur.Lookup(a).Class)

	c, err := load(v1)
	if err != nil {
		fmt.Println(err)
		return
	}
	cur.Swap(c)
	fmt.Println(cur.Current().Version(), cur.Lookup(a).Class)

	if c, err := load(v2); err == nil {
		cur.Swap(c)
	}
	fmt.Println(cur.Current().Version(), cur.Lookup(a).Class)

	if c, err := load("@version 2026-03-01\n10.0.0.0/8 eu gateway active 2026 2026 mine\n@end 1\n"); err == nil {
		cur.Swap(c)
	} else {
		fmt.Println("reload failed; keeping", cur.Current().Version())
	}
	// Output:
	// foreign
	// 2026-01-01 foreign
	// 2026-02-01 mimecast
	// reload failed; keeping 2026-02-01
}

func ExampleParseAddr() {
	for _, s := range []string{"[192.0.2.1]:25", "IPv6:2001:db8::1", "::ffff:192.0.2.1", "mail.example.com"} {
		a, err := mimecastip.ParseAddr(s)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(a)
	}
	// Output:
	// 192.0.2.1
	// 2001:db8::1
	// ::ffff:192.0.2.1
	// mimecastip: "mail.example.com" is not an IP address (want a.b.c.d, an IPv6 address, [address] or address:port)
}

func ExampleResult_MarshalJSON() {
	for _, s := range []string{"170.10.156.1", "8.8.8.8"} {
		b, err := json.Marshal(mimecastip.Lookup(netip.MustParseAddr(s)))
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(string(b))
	}
	// Output:
	// {"class":"mimecast","regions":["us","usb"],"service":"gateway","prefix":"170.10.156.0/24"}
	// {"class":"foreign"}
}

func ExampleResult_String() {
	r := mimecastip.Lookup(netip.MustParseAddr("170.10.156.1"))
	fmt.Println(r)
	fmt.Println(mimecastip.Result{})
	// Output:
	// mimecast us,usb 170.10.156.0/24 gateway
	// foreign
}

func ExampleResult_Published() {
	// Website addresses are published by Mimecast but send no mail: their
	// Class is Foreign, and Published and Prefix still tell them apart.
	for _, s := range []string{"146.101.202.134", "192.0.2.1"} {
		r, _ := mimecastip.LookupString(s)
		if r.Published() {
			fmt.Println(s, r.Class, "published:", r.Service, r.Prefix())
		} else {
			fmt.Println(s, r.Class, "not published")
		}
	}
	// Output:
	// 146.101.202.134 foreign published: website 146.101.202.134/32
	// 192.0.2.1 foreign not published
}
