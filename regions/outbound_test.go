package regions

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestOutbound(t *testing.T) {
	for _, r := range List() {
		hs := Outbound(r)
		if r == Global {
			assert.Empty(t, hs)
			continue
		}
		assert.NotEmpty(t, hs, r)
		seen := map[string]bool{}
		for _, h := range hs {
			assert.False(t, seen[h.Host], "%s twice", h.Host)
			seen[h.Host] = true
			assert.True(t, strings.HasPrefix(h.Host, r.String()+"-smtp-"), "%s: %s is not named after the region", r, h.Host)
			assert.Contains(t, []string{"relay", "m365"}, h.Use, h.Host)
			assert.NotEmpty(t, h.Source, h.Host)
			assert.Contains(t, h.Source, "third-party", h.Host)
		}
	}
	// a copy: changing it does not change the table
	hs := Outbound(US)
	hs[0].Host = "x"
	assert.Equal(t, "us-smtp-outbound-1.mimecast.com", Outbound(US)[0].Host)
	assert.Empty(t, Outbound(Region(0)))
}

func ExampleOutbound() {
	for _, h := range Outbound(EU) {
		if h.Use == "relay" {
			fmt.Println(h.Host)
		}
	}
	// Output:
	// eu-smtp-outbound-1.mimecast.com
	// eu-smtp-outbound-2.mimecast.com
}
