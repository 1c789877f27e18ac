package iprange

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestSortPrefixes(t *testing.T) {
	var ps []netip.Prefix
	for _, s := range []string{"2001:db8::/32", "10.0.0.0/16", "10.0.0.0/8", "9.0.0.0/8", "::/0", "10.0.0.0/24"} {
		ps = append(ps, netip.MustParsePrefix(s))
	}
	SortPrefixes(ps)
	var got []string
	for _, p := range ps {
		got = append(got, p.String())
	}
	assert.Equal(t, []string{"9.0.0.0/8", "10.0.0.0/8", "10.0.0.0/16", "10.0.0.0/24", "::/0", "2001:db8::/32"}, got)
	assert.Zero(t, ComparePrefix(ps[1], ps[1]))
}
