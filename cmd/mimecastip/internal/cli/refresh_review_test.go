package cli

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b311f21d/go-mimecastip/cmd/mimecastip/internal/spf/spftest"
)

// The README's unreviewed nightly job ("refresh --write F; reload on 0 or
// 1") must not put a poisoned /24 of someone else's network into the
// lockdown: exit 2, the file unchanged; --accept after review writes it.
func TestRefreshNewNetworkRefused(t *testing.T) {
	refreshFixDate(t, "2026-12-01")
	file := filepath.Join(t.TempDir(), "ranges.txt")
	orig, err := os.ReadFile(filepath.Join("..", "..", "..", "..", "regions", "ranges.txt"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(file, orig, 0o644))
	s := spftest.Start(t, usRecordWith(t, "ip4:45.9.1.0/24"))
	st, out, errs := refreshRun(t, "--dns", s.Addr, "--data", file, "--write", file)
	assert.Equal(t, ExitUsage, st, "stdout:\n%s\nstderr:\n%s", out, errs)
	assert.Contains(t, errs, "ip4:45.9.1.0/24 in us._netblocks.mimecast.com is a new network")
	after, err := os.ReadFile(file)
	require.NoError(t, err)
	assert.Equal(t, string(orig), string(after), "nothing written")

	st, _, _ = refreshRun(t, "--dns", s.Addr, "--data", file, "--write", file, "--accept", "45.9.1.0/24")
	assert.Equal(t, ExitFinding, st)
	after, err = os.ReadFile(file)
	require.NoError(t, err)
	assert.Contains(t, string(after), "45.9.1.0/24")
}
