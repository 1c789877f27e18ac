package cli

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTraceVerdictExitStatus: every verdict but mimecast exits 1, for the
// review's fixtures too (the retired range, the HELO literal, a --by hop
// below an outside hop), and qmail/LMTP mail through Mimecast exits 0.
func TestTraceVerdictExitStatus(t *testing.T) {
	for _, c := range []struct {
		file    string
		args    []string
		verdict string
		code    int
	}{
		{"retired.eml", nil, "undetermined", ExitFinding},
		{"m365-helo-literal.eml", nil, "bypass", ExitFinding},
		{"by-forged-below.eml", []string{"--by", "mx.example.com"}, "undetermined", ExitFinding},
		{"trail-above-boundary.eml", []string{"--by", "mx.example.com"}, "bypass", ExitFinding},
		{"qmail-lmtp.eml", nil, "mimecast", ExitOK},
	} {
		args := append([]string{"trace", "--json", "--region", "us"}, c.args...)
		r := cliRun("", append(args, traceFixtures+c.file)...)
		assert.Equal(t, c.code, r.code, "%s: %s", c.file, r.stderr)
		objs := traceJSONLines(t, r.stdout)
		require.Len(t, objs, 1, c.file)
		assert.Equal(t, c.verdict, objs[0]["verdict"], c.file)
	}
}

// TestTraceWarnsInternalMimecast: --internal that holds a Mimecast mail
// range skips Mimecast's own hop; trace says so on stderr (the verdict is
// still not mimecast, exit 1).
func TestTraceWarnsInternalMimecast(t *testing.T) {
	r := cliRun("", "trace", "--region", "us", "--internal", "10.0.0.0/8,170.10.128.0/22", traceFixtures+"us-gateway.eml")
	assert.Equal(t, ExitFinding, r.code, r.stderr)
	assert.Contains(t, r.stderr, "warning: --internal 170.10.128.0/22 overlaps Mimecast mail ranges (170.10.128.0/24, 170.10.129.0/24, 170.10.130.0/24 and 1 more)")
	assert.NotContains(t, r.stderr, "10.0.0.0/8 overlaps")
	r = cliRun("", "trace", "--region", "us", "--internal", "10.0.0.0/8", traceFixtures+"us-gateway.eml")
	assert.Equal(t, ExitOK, r.code)
	assert.Empty(t, r.stderr)
}
