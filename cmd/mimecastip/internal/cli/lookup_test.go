package cli

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b311f21d/go-mimecastip/internal/testenv"
)

// TestLookupNoAddress: "lookup -q $ip" with an empty $ip and empty stdin
// said 0 ("Mimecast"); no address at all is a usage error.
func TestLookupNoAddress(t *testing.T) {
	for _, tc := range []struct {
		stdin string
		args  []string
	}{
		{"", []string{"lookup", "-q"}},
		{"", []string{"lookup"}},
		{"", []string{"lookup", "--json"}},
		{"# only a comment\n\n   \n", []string{"lookup", "-q"}},
		{"\xef\xbb\xbf", []string{"lookup", "-q"}},
		{"", []string{"lookup", "-q", ""}},
		{"", []string{"lookup", "-q", "  "}},
	} {
		r := cliRun(tc.stdin, tc.args...)
		assert.Equal(t, ExitUsage, r.code, "%q %v", tc.stdin, tc.args)
		assert.Empty(t, r.stdout, "%q %v", tc.stdin, tc.args)
		assert.Equal(t, 1, strings.Count(r.stderr, "\n"), "one error, once: %q", r.stderr)
	}
}

// TestLookupBOM: a UTF-8 byte-order mark on stdin (Windows editors) is
// skipped, not part of the first address.
func TestLookupBOM(t *testing.T) {
	r := cliRun("\xef\xbb\xbf170.10.128.5\r\n8.8.8.8\r\n", "lookup")
	assert.Equal(t, ExitFinding, r.code, r.stderr)
	assert.Empty(t, r.stderr)
	assert.True(t, strings.HasPrefix(r.stdout, "170.10.128.5 "), r.stdout)
}

// TestLookupLongLine: a line over the limit is an error with its line
// number; the other lines are still classified, and memory stays bounded
// (the line is not kept).
func TestLookupLongLine(t *testing.T) {
	in := "170.10.128.5\n" + strings.Repeat("1.2.3.4 ", 40_000) + "\n185.58.85.9\n" + strings.Repeat("x", 3*maxLookupLine) + "\n8.8.8.8"
	r := cliRun(in, "lookup")
	assert.Equal(t, ExitUsage, r.code)
	assert.Contains(t, r.stderr, "line 2: longer than")
	assert.Contains(t, r.stderr, "line 4: longer than")
	assert.Equal(t, 2, strings.Count(r.stderr, "\n"), r.stderr)
	var got []string
	for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		got = append(got, strings.Fields(l)[0])
	}
	assert.Equal(t, []string{"170.10.128.5", "185.58.85.9", "8.8.8.8"}, got, "the lines around are classified, the last without a newline")

	// A long word within the limit is named, shortened, in the error.
	r = cliRun(strings.Repeat("9", 5000)+"\n", "lookup")
	assert.Equal(t, ExitUsage, r.code)
	assert.Less(t, len(r.stderr), 300)
	assert.Contains(t, r.stderr, "line 1:")
}

// TestLookupBinaryStdin runs the built command with real stdin files:
// /dev/null (issue 11's "lookup -q </dev/null" must exit 2) and a
// terminal, where lookup says that it reads standard input.
func TestLookupBinaryStdin(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command")
	}
	bin := filepath.Join(t.TempDir(), "mimecastip")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/seed-b311f21d/go-mimecastip/cmd/mimecastip").CombinedOutput()
	require.NoError(t, err, "%s", out)

	null, err := os.Open(os.DevNull)
	require.NoError(t, err)
	defer null.Close()
	cmd := exec.Command(bin, "lookup", "-q")
	cmd.Stdin = null
	var stderr strings.Builder
	cmd.Stderr = &stderr
	var ee *exec.ExitError
	require.ErrorAs(t, cmd.Run(), &ee)
	assert.Equal(t, ExitUsage, ee.ExitCode())
	// /dev/null is a character device, not a terminal: just the error.
	assert.Equal(t, "mimecastip lookup: no address given (as arguments or on standard input)\n", stderr.String())

	// script(1) gives the command a terminal; its stdin is fed to it.
	testenv.RequireCommands(t, "script")
	cmd = exec.Command("script", "-qec", bin+" lookup", os.DevNull)
	cmd.Stdin = strings.NewReader("170.10.128.5\n\x04")
	got, err := cmd.CombinedOutput()
	if !errors.As(err, &ee) {
		require.NoError(t, err, "%s", got)
	}
	assert.Contains(t, string(got), "reading addresses from standard input")
	assert.Contains(t, string(got), "170.10.128.0/24")
}
