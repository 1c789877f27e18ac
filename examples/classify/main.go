// Command classify tells whether IP addresses belong to Mimecast's
// published ranges, using the dataset embedded in package regions.
//
// Usage:
//
//	go run ./examples/classify [-region SET] [-data FILE] [ADDRESS...]
//
// With no ADDRESS arguments it reads one address a line from standard
// input (blank lines and lines starting with '#' are skipped). Every form
// that [mimecastip.LookupString] accepts works: 192.0.2.1, 2001:db8::1,
// ::ffff:192.0.2.1, [192.0.2.1], 192.0.2.1:25, [2001:db8::1]:25.
//
// For each address it prints one tab-separated line:
//
//	ADDRESS  CLASS  REGIONS  SERVICE  PREFIX
//
// where CLASS is mimecast, non-spf or foreign, and REGIONS, SERVICE and
// PREFIX describe the published range that matched ("-" when none did).
// -region restricts the data to some regions (for example "eu" or an
// account code such as CUK12A345): the gateways of other regions are then
// foreign. -data reads a data file instead of the embedded dataset.
//
// Input that is not an address is reported on standard error with its
// line (or argument) number; the others are still classified, and the
// exit status is 2.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/seed-b311f21d/go-mimecastip/mimecastip"
	"github.com/seed-b311f21d/go-mimecastip/regions"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run is the program; it returns the exit status.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("classify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	region := fs.String("region", "", "classify against these regions only (comma-separated: us, usb, ca, eu, de, au, za, or account codes)")
	data := fs.String("data", "", "read ranges from this data file instead of the embedded dataset")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: classify [-region SET] [-data FILE] [ADDRESS...]\n"+
			"Classifies each ADDRESS, or each line of standard input, as mimecast, non-spf or foreign.\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}

	c, err := classifier(*region, *data)
	if err != nil {
		fmt.Fprintf(stderr, "classify: %v\n", err)
		return 2
	}

	w := bufio.NewWriter(stdout)
	defer w.Flush()
	status := 0
	classify := func(where, s string) {
		r, err := c.LookupString(s)
		if err != nil {
			w.Flush()
			fmt.Fprintf(stderr, "classify: %s: %v\n", where, err)
			status = 2
			return
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", s, r.Class, dash(r.Regions.String()), dash(r.Service.String()), dash(prefix(r)))
	}

	if fs.NArg() > 0 {
		for i, s := range fs.Args() {
			classify(fmt.Sprintf("argument %d", i+1), s)
		}
		return status
	}
	sc := bufio.NewScanner(stdin)
	for n := 1; sc.Scan(); n++ {
		s := strings.TrimSpace(sc.Text())
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		classify(fmt.Sprintf("line %d", n), s)
	}
	if err := sc.Err(); err != nil {
		w.Flush()
		fmt.Fprintf(stderr, "classify: reading standard input: %v\n", err)
		return 2
	}
	return status
}

// classifier builds the Classifier the flags ask for.
func classifier(region, data string) (*mimecastip.Classifier, error) {
	var scope regions.Set
	if region != "" {
		s, err := regions.ParseSet(region)
		if err != nil {
			return nil, err
		}
		scope = s
	}
	switch {
	case data != "":
		d, err := regions.ParseFile(data)
		if err != nil {
			return nil, err
		}
		return mimecastip.Load(d, scope)
	case !scope.IsEmpty():
		return mimecastip.Load(regions.Embedded(), scope)
	}
	return mimecastip.Default(), nil
}

func prefix(r mimecastip.Result) string {
	if !r.Prefix().IsValid() {
		return ""
	}
	return r.Prefix().String()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
