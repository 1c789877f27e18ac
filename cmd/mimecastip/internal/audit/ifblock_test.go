package audit

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b311f21d/go-mimecastip/regions"
)

// TestAuditCidrIfBlocks: in a Postfix cidr table the rules between
// "if PATTERN" and "endif" match only clients inside PATTERN, and the if
// line itself allows nothing. The full US list inside "if 170.10.128.0/22"
// lets only that /22 through: the audit must say MISSING for the rest, not
// OK. A block that holds only its own ranges audits clean.
func TestAuditCidrIfBlocks(t *testing.T) {
	us := regions.SetOf(regions.US)
	var inside, outside, all strings.Builder
	for _, l := range strings.Split(exportText(t, "plain", us), "\n") {
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		all.WriteString(l + " OK\n")
		if strings.HasPrefix(l, "170.10.") {
			inside.WriteString(l + " OK\n")
		} else {
			outside.WriteString(l + " OK\n")
		}
	}
	good := "if 170.10.128.0/19\n" + inside.String() + "endif\n" + outside.String() + "0.0.0.0/0 REJECT\n"
	rep := Audit(parse(t, good), Options{Regions: us})
	require.True(t, rep.OK, "%+v", rep.Summary)

	rep = Audit(parse(t, "if 170.10.128.0/22\n"+all.String()+"endif\n"), Options{Regions: us})
	assert.False(t, rep.OK)
	var missing []string
	for _, r := range rep.Ranges {
		missing = append(missing, r.Prefix)
	}
	assert.Contains(t, missing, "63.128.21.0/24")
	assert.Contains(t, missing, "170.10.132.0/24")
	assert.NotContains(t, missing, "170.10.128.0/24")
	assert.Equal(t, KindInvalid, rep.Entries[0].Status, "63.128.21.0/24 OK inside the block never matches")
	assert.Contains(t, rep.Entries[0].Findings[0].Message, "line 1")

	// The if pattern is no allow entry: a foreign one is not reported as
	// foreign, an entry wider than the block is narrowed to it.
	rep = Audit(parse(t, "if 0.0.0.0/0\n"+all.String()+"endif\n"), Options{Regions: us})
	assert.True(t, rep.OK)
	rep = Audit(parse(t, all.String()+"if 170.10.128.0/24\n170.10.0.0/16 OK\nendif\n"), Options{Regions: us})
	assert.True(t, rep.OK, "170.10.0.0/16 inside if 170.10.128.0/24 allows only the /24")

	// Negated or unusable patterns fail closed.
	for _, c := range []string{"if !170.10.0.0/16\n", "if 170.10.128.5/22\n", "if 300.1.1.1\n"} {
		rep := Audit(parse(t, c+all.String()+"endif\n"), Options{Regions: us})
		assert.False(t, rep.OK, "%q", c)
		assert.Equal(t, 1, rep.Entries[0].Line, "%q", c)
		assert.Equal(t, KindInvalid, rep.Entries[0].Status, "%q", c)
	}
}
