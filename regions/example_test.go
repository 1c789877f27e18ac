package regions_test

import (
	"fmt"
	"strings"

	"github.com/seed-b311f21d/go-mimecastip/regions"
)

func ExampleRanges() {
	// Count the active mail ranges each region publishes.
	n := map[regions.Region]int{}
	for _, r := range regions.Ranges() {
		if r.Retired || !r.Service.Mail() {
			continue
		}
		for _, g := range r.Regions.Regions() {
			n[g]++
		}
	}
	for _, g := range []regions.Region{regions.US, regions.USB, regions.ZA} {
		fmt.Println(g, n[g] > 0)
	}
	// Output:
	// us true
	// usb true
	// za true
}

func ExampleParseRegion() {
	for _, s := range []string{"eu", "USB", "uk", "CUSA12A345"} {
		r, err := regions.ParseRegion(s)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Printf("%s -> %s\n", s, r)
	}
	_, err := regions.ParseRegion("mars")
	fmt.Println(err != nil)
	// Output:
	// eu -> eu
	// USB -> usb
	// uk -> eu
	// CUSA12A345 -> us
	// true
}

func ExampleSet_String() {
	s := regions.SetOf(regions.USB, regions.US)
	fmt.Println(s)
	fmt.Println(s.Has(regions.EU))
	t, _ := regions.ParseSet("eu,CDE12A345")
	fmt.Println(t, t.Len())
	// Output:
	// us,usb
	// false
	// eu,de 2
}

func ExampleInfoOf() {
	in, _ := regions.InfoOf(regions.US)
	fmt.Println(in.Name)
	fmt.Println(in.AccountCode)
	fmt.Println(in.SPFInclude)
	// Output:
	// United States (A grid)
	// CUSA
	// us._netblocks.mimecast.com
}

func ExampleParse() {
	const file = `@version 2026-01-01
@source mine 2026-01-01 our own list
# prefix       regions  service  status  first  last  sources
1.1.1.0/24     eu       gateway  active  2025   2026  mine
@end 1
`
	d, err := regions.Parse(strings.NewReader(file))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range d.Ranges {
		fmt.Println(r.Prefix, r.Regions, r.Service, r.Line)
	}

	_, err = regions.Parse(strings.NewReader(strings.Replace(file, "1.1.1.0/24", "10.0.0.0/24", 1)))
	fmt.Println(err)
	// Output:
	// 1.1.1.0/24 eu gateway 4
	// regions: line 4: prefix 10.0.0.0/24 overlaps private space 10.0.0.0/8
}

func ExampleEndLine() {
	// A hand-written file ends with the number of its rows; a file cut
	// short is refused as incomplete.
	file := "@version 2026-01-01\n@source mine 2026-01-01 our own list\n" +
		"1.1.1.0/24 eu gateway active 2026 2026 mine\n" +
		"1.1.2.0/24 eu gateway active 2026 2026 mine\n" +
		regions.EndLine(2) + "\n"
	d, err := regions.Parse(strings.NewReader(file))
	fmt.Println(len(d.Ranges), err)
	_, err = regions.Parse(strings.NewReader(file[:strings.Index(file, "1.1.2.0")]))
	fmt.Println(err)
	// Output:
	// 2 <nil>
	// regions: the file is incomplete: it does not end with an "@end 1" line (cut short, or written without one)
}

func ExampleDataset_NewestEvidence() {
	d := regions.Embedded()
	fmt.Println(d.NewestEvidence(regions.ZA))
	// Output:
	// 2026-02-14
}
