package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The regions table says how old each region's newest evidence is,
// claims no SPF include for global, and cites no file outside the
// repository.
func TestRegionsNewestEvidence(t *testing.T) {
	r := cliRun("", "regions")
	require.Equal(t, ExitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "NEWEST EVIDENCE")
	assert.Regexp(t, `(?m)^za +South Africa +CSA\.\.\. +za\._netblocks\.mimecast\.com +5 +2026-02-14$`, r.stdout)
	assert.Regexp(t, `(?m)^je +Offshore \(Jersey\) +- +- +2 +2026-08-11$`, r.stdout)
	assert.Regexp(t, `(?m)^uspcom .* 0 +-$`, r.stdout)
	assert.Regexp(t, `(?m)^global +Global \(all accounts\) +- +- +0 +2026-11-22$`, r.stdout)

	j := cliRun("", "regions", "--json")
	require.Equal(t, ExitOK, j.code, j.stderr)
	var out struct {
		Regions []struct {
			Region     string `json:"region"`
			SPFInclude string `json:"spf_include"`
			Newest     string `json:"newest_evidence"`
		} `json:"regions"`
	}
	require.NoError(t, json.Unmarshal([]byte(j.stdout), &out))
	got := map[string]string{}
	for _, rg := range out.Regions {
		got[rg.Region] = rg.Newest
		if rg.Region == "global" {
			assert.Empty(t, rg.SPFInclude)
		}
	}
	assert.Equal(t, "2026-11-22", got["us"])
	assert.Equal(t, "2026-02-14", got["de"])
	for _, s := range []string{r.stdout, j.stdout} {
		for _, bad := range []string{"seed 0", "research/", "dataset.md", "shared/"} {
			assert.False(t, strings.Contains(s, bad), "user-visible text cites %q", bad)
		}
	}
}
