package cli

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReadmeTraceExample runs the README's trace example and compares the
// output with the README's.
func TestReadmeTraceExample(t *testing.T) {
	root := strings.TrimSuffix(traceFixtures, "mimecastip/trace/testdata/")
	b, err := os.ReadFile(root + "README.md")
	require.NoError(t, err)
	readme := string(b)
	const cmd = "$ mimecastip trace --region us mimecastip/trace/testdata/eu-gateway.eml mimecastip/trace/testdata/forged.eml\n"
	i := strings.Index(readme, cmd)
	require.GreaterOrEqual(t, i, 0, "README lacks the trace example")
	rest := readme[i+len(cmd):]
	j := strings.Index(rest, "$ echo $?\n")
	require.GreaterOrEqual(t, j, 0)
	want := rest[:j]
	status := strings.SplitN(rest[j+len("$ echo $?\n"):], "\n", 2)[0]

	args := strings.Fields(strings.TrimPrefix(strings.TrimSpace(cmd), "$ mimecastip "))
	for k, a := range args {
		if strings.HasPrefix(a, "mimecastip/") {
			args[k] = root + a
		}
	}
	r := cliRun("", args...)
	assert.Equal(t, want, strings.ReplaceAll(r.stdout, root+"mimecastip/", "mimecastip/"))
	assert.Equal(t, status, map[int]string{0: "0", 1: "1", 2: "2"}[r.code])
}

// TestReadmeMilterFacts: the milter section states what the tests check.
func TestReadmeMilterFacts(t *testing.T) {
	b, err := os.ReadFile(strings.TrimSuffix(traceFixtures, "mimecastip/trace/testdata/") + "README.md")
	require.NoError(t, err)
	readme := string(b)
	for _, s := range []string{
		"mimecastip milter --listen inet:127.0.0.1:8899 --region us",
		"smtpd_milters = inet:127.0.0.1:8899\nmilter_default_action = tempfail",
		"X-Mimecastip-Trace: mimecast; address=170.10.129.124; class=mimecast; regions=us; prefix=170.10.129.0/24; decision=pass",
		"`550 5.7.1 ... is not a Mimecast gateway for this domain`",
		"`451 4.7.1 ... is in Mimecast range ... (za), not of this domain's region`",
	} {
		assert.Contains(t, readme, s)
	}
	// The maddy check block the maddy test runs.
	assert.Contains(t, readme, "smtp tcp://0.0.0.0:25 {\n"+maddyCheck(8899))
	assert.Contains(t, readme, "554 5.0.0 Internal server error")
	// The Sendmail line the Sendmail test runs.
	assert.Contains(t, readme, sendmailMilterLine(8899))
	// The help text carries the same Postfix lines.
	r := cliRun("", "milter", "--help")
	assert.Contains(t, r.stdout, "smtpd_milters = inet:127.0.0.1:8899\n  milter_default_action = tempfail")
}
