package cli

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b311f21d/go-mimecastip/cmd/mimecastip/internal/audit"
)

// usExport returns the plain US export without its comment lines.
func usExport(t *testing.T) []string {
	t.Helper()
	r := cliRun("", "export", "--format", "plain", "--region", "us")
	require.Equal(t, ExitOK, r.code, r.stderr)
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		if !strings.HasPrefix(l, "#") {
			lines = append(lines, l)
		}
	}
	require.Greater(t, len(lines), 3)
	return lines
}

// TestAuditMalformedExit is issue 11's "Done when" case: the printf of a
// US allowlist plus malformed entries exits 1 and names each bad line.
func TestAuditMalformedExit(t *testing.T) {
	lines := usExport(t)
	clean := strings.Join(lines, "\n") + "\n"
	r := cliRun(clean, "audit", "--region", "us")
	require.Equal(t, ExitOK, r.code, r.stdout)

	bad := []string{"010.1.1.1", "300.1.1.1", "170.10.1290.0/24", "170.10.129/24", "170.10.128.0/2A", "::ffff:170.10.128.0/118"}
	r = cliRun(clean+strings.Join(bad, "\n")+"\n", "audit", "--region", "us")
	assert.Equal(t, ExitFinding, r.code, r.stdout)
	for i, b := range bad {
		want := fmt.Sprintf("line %d", len(lines)+i+1)
		var row string
		for _, l := range strings.Split(r.stdout, "\n") {
			if strings.HasPrefix(l, want+" ") {
				row = l
			}
		}
		assert.Contains(t, row, "INVALID", "%s (%s):\n%s", b, want, r.stdout)
		assert.Contains(t, row, strings.TrimSuffix(b, "A"), b)
	}
	assert.Contains(t, r.stdout, "result: FAIL")
	assert.Contains(t, r.stdout, "Postfix, nft and iptables", "the mapped prefix says why")
	assert.Contains(t, r.stdout, "write 170.10.128.0/22", "and what to write instead")
}

// TestAuditExitOneMissing: the only problem is one published range
// missing; a planted bug that printed MISSING but exited 0 went unnoticed.
func TestAuditExitOneMissing(t *testing.T) {
	lines := usExport(t)
	for i := range lines {
		list := strings.Join(append(append([]string{}, lines[:i]...), lines[i+1:]...), "\n") + "\n"
		r := cliRun(list, "audit", "--region", "us")
		assert.Equal(t, ExitFinding, r.code, "without %s:\n%s", lines[i], r.stdout)
		assert.Contains(t, r.stdout, "MISSING", lines[i])
		assert.NotContains(t, r.stdout, "FOREIGN")
		r = cliRun(list, "audit", "--region", "us", "--json")
		assert.Equal(t, ExitFinding, r.code)
		assert.Contains(t, r.stdout, `"ok": false`)
	}
}

// TestAuditExitOneForeign: the only problem is one foreign entry.
func TestAuditExitOneForeign(t *testing.T) {
	list := strings.Join(usExport(t), "\n") + "\n"
	for _, f := range []string{"8.8.8.8", "2001:db8::/32", "170.10.128.0/16", "1.2.3.4-1.2.3.9"} {
		r := cliRun(list+f+"\n", "audit", "--region", "us")
		assert.Equal(t, ExitFinding, r.code, "%s:\n%s", f, r.stdout)
		assert.Contains(t, r.stdout, "FOREIGN", f)
		assert.NotContains(t, r.stdout, "MISSING", f)
		r = cliRun(list+f+"\n", "audit", "--region", "us", "--json")
		assert.Equal(t, ExitFinding, r.code, f)
	}
}

// TestAuditNothingToCheck: a region without a published mail range of
// the classes gives nothing to check against, which is no pass.
func TestAuditNothingToCheck(t *testing.T) {
	r := cliRun("146.101.202.134\n", "audit", "--region", "global")
	assert.Equal(t, ExitFinding, r.code, r.stdout)
	assert.Contains(t, r.stdout, "nothing to check the list against")
}

// TestAuditLongLine: a line over the limit is an error naming its line,
// printed once on stderr, exit 2 (never a partial OK).
func TestAuditLongLine(t *testing.T) {
	lines := usExport(t)
	in := strings.Join(lines, "\n") + "\n" + strings.Repeat("1", audit.MaxLineBytes+1) + "\n"
	r := cliRun(in, "audit", "--region", "us")
	assert.Equal(t, ExitUsage, r.code)
	assert.Empty(t, r.stdout)
	assert.Equal(t, 1, strings.Count(r.stderr, "\n"), r.stderr)
	assert.Contains(t, r.stderr, fmt.Sprintf("line %d: line longer than", len(lines)+1))
}
