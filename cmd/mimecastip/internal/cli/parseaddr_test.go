package cli

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestLookupCanonicalAddress: lookup parses with mimecastip.ParseAddr and
// prints the address as netip does, whatever form it was given in.
func TestLookupCanonicalAddress(t *testing.T) {
	for in, want := range map[string]string{
		"[IPv6:2001:DB8:0::1]:25": "2001:db8::1",
		"170.10.128.5:25":         "170.10.128.5",
		"[170.10.128.5]":          "170.10.128.5",
		"IPv6:2001:db8::1":        "2001:db8::1",
	} {
		r := cliRun("", "lookup", in)
		assert.Equal(t, ExitFinding-boolInt(strings.HasPrefix(want, "170.")), r.code, "%s: %s", in, r.stderr)
		assert.True(t, strings.HasPrefix(r.stdout, want+" "), "%s: %q", in, r.stdout)
	}
	r := cliRun("", "lookup", "170.10.128.5:99999")
	assert.Equal(t, ExitUsage, r.code, "a port over 65535 is no address")
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
