package audit

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b311f21d/go-mimecastip/regions"
)

// TestAuditCommentedOut: an entry an admin switched off with a comment of
// another style than '#' is not part of the allowlist (the tool either
// takes it as a comment or cannot read the line). The full US list with
// 170.10.128.0/22 only in a comment must FAIL with that range MISSING.
func TestAuditCommentedOut(t *testing.T) {
	us := regions.SetOf(regions.US)
	var rest strings.Builder
	for _, l := range strings.Split(exportText(t, "plain", us), "\n") {
		if l != "" && !strings.HasPrefix(l, "#") && l != "170.10.128.0/22" {
			rest.WriteString(l + "\n")
		}
	}
	base := rest.String()
	require.True(t, Audit(parse(t, base+"170.10.128.0/22\n"), Options{Regions: us}).OK)
	for _, c := range []string{
		"// 170.10.128.0/22\n",
		"  // 170.10.128.0/22 OK\n",
		"170.10.132.0/23; // 170.10.128.0/22\n",
		"/* 170.10.128.0/22 */\n",
		"/*\n170.10.128.0/22\n*/\n",
		"<!-- <ip>170.10.128.0/22</ip> -->\n",
		"<!--\n170.10.128.0/22\n-->\n",
		"<#\n170.10.128.0/22\n#>\n",
		"-- 170.10.128.0/22\n",
		"REM 170.10.128.0/22\n",
		"rem\t170.10.128.0/22\n",
		"  ; 170.10.128.0/22\n",
	} {
		rep := Audit(parse(t, base+c), Options{Regions: us})
		assert.False(t, rep.OK, "%q", c)
		var missing []string
		for _, r := range rep.Ranges {
			missing = append(missing, r.Prefix)
		}
		assert.Contains(t, missing, "170.10.128.0/24", "%q", c)
	}
	// Not comments: an entry after a closed block comment, a URL.
	for _, c := range []string{
		"/* mimecast */ 170.10.128.0/22\n",
		"170.10.128.0/22 OK # see https://example.com/x\n",
		"<!-- a -->\n170.10.128.0/22\n",
	} {
		assert.True(t, Audit(parse(t, base+c), Options{Regions: us}).OK, "%q", c)
	}
}
