package logscan

import (
	"net/netip"
	"strings"

	"github.com/seed-b311f21d/go-mimecastip/internal/reference"
	"github.com/seed-b311f21d/go-mimecastip/regions"
)

type netipPrefix = netip.Prefix

// refLineMatches is the obvious check for the generated logs, whose
// addresses only appear as "[ADDR]" or "[IPv6:ADDR]".
func refLineMatches(line string, rs []regions.Range) bool {
	for {
		i := strings.IndexByte(line, '[')
		if i < 0 {
			return false
		}
		line = line[i+1:]
		j := strings.IndexByte(line, ']')
		if j < 0 {
			return false
		}
		tok := strings.TrimPrefix(line[:j], "IPv6:")
		line = line[j+1:]
		a, err := netip.ParseAddr(tok)
		if err != nil {
			continue
		}
		if r, ok := reference.Lookup(rs, a); ok && r.Service.Mail() {
			return true
		}
	}
}
