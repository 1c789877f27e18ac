package cli

import (
	"flag"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/seed-b311f21d/go-mimecastip/regions"
)

// serviceNames lists the names --service takes: the protocols of the
// port table of Mimecast's Data Centers page, in lower case.
func serviceNames() string {
	var names []string
	for _, p := range regions.Ports() {
		names = append(names, strings.ToLower(p.Protocol))
	}
	return strings.Join(names, ", ")
}

// parsePorts returns the TCP ports of --port (a comma-separated list) and
// --service (names from the port table), in order without duplicates.
// --port's default of 25 is dropped when only --service is given.
func parsePorts(portFlag, serviceFlag string, fs *flag.FlagSet) ([]int, error) {
	portSet := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "port" {
			portSet = true
		}
	})
	var ports []int
	add := func(p int) {
		if !slices.Contains(ports, p) {
			ports = append(ports, p)
		}
	}
	if portSet || serviceFlag == "" {
		for _, f := range strings.Split(portFlag, ",") {
			f = strings.TrimSpace(f)
			n, err := strconv.Atoi(f)
			if err != nil || n < 1 || n > 65535 {
				return nil, fmt.Errorf("--port: %q is not a TCP port (1 to 65535; a list is comma-separated: 25,389,636)", f)
			}
			add(n)
		}
	}
	if serviceFlag != "" {
		for _, f := range strings.Split(serviceFlag, ",") {
			name := strings.ToLower(strings.TrimSpace(f))
			found := false
			for _, p := range regions.Ports() {
				if strings.ToLower(p.Protocol) == name {
					add(int(p.Port))
					found = true
				}
			}
			if !found {
				return nil, fmt.Errorf("--service: unknown service %q (want one of %s)", f, serviceNames())
			}
		}
	}
	return ports, nil
}
