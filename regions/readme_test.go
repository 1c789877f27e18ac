package regions_test

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b311f21d/go-mimecastip/regions"
)

// TestREADMEDataFile: the hand-written data file the README shows under
// "Integrity rule" parses, and fails as incomplete without its end line.
func TestREADMEDataFile(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	_, rest, ok := strings.Cut(string(b), "**Integrity rule.**")
	require.True(t, ok, "README lost its integrity rule")
	_, rest, ok = strings.Cut(rest, "```\n")
	require.True(t, ok)
	file, _, ok := strings.Cut(rest, "```\n")
	require.True(t, ok)
	d, err := regions.Parse(strings.NewReader(file))
	require.NoError(t, err, "README's example:\n%s", file)
	assert.Len(t, d.Ranges, 1)
	_, err = regions.Parse(strings.NewReader(strings.Replace(file, "@end 1\n", "", 1)))
	assert.ErrorContains(t, err, "incomplete")
	assert.Contains(t, string(b), "/12 (IPv4) or\n/28 (IPv6)**", "README states the # broad: hard limit")
	assert.Equal(t, 12, regions.BroadLimit4)
	assert.Equal(t, 28, regions.BroadLimit6)
}
