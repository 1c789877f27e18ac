package export

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestREADMESnippets: every block of the README marked
// <!-- snippet: FORMAT [--port LIST] --> holds lines of that export (for
// region us), as the header prints them or as the file holds them, so the
// README shows only what the real-tool tests prove. "..." stands for lines
// left out; a line ending in "..." is the start of a line.
func TestREADMESnippets(t *testing.T) {
	b, err := os.ReadFile("../../../../README.md")
	require.NoError(t, err)
	re := regexp.MustCompile("(?s)<!-- snippet: ([^>]*?) -->\n```[a-z]*\n(.*?)```")
	ms := re.FindAllStringSubmatch(string(b), -1)
	require.GreaterOrEqual(t, len(ms), 10, "snippet blocks in the README")
	seen := map[string]bool{}
	for _, m := range ms {
		args := strings.Fields(m[1])
		format := args[0]
		var o Options
		if len(args) == 3 && args[1] == "--port" {
			for _, p := range strings.Split(args[2], ",") {
				n, err := strconv.Atoi(p)
				require.NoError(t, err)
				o.Ports = append(o.Ports, n)
			}
		} else {
			require.Len(t, args, 1, "snippet marker %q", m[1])
		}
		seen[format] = true
		text, _ := export(t, format, mustSet("us"), o)
		var lines []string
		for _, l := range strings.Split(text, "\n") {
			lines = append(lines, strings.TrimSpace(strings.TrimLeft(strings.TrimSpace(l), "#")))
		}
		n := 0
		for _, want := range strings.Split(m[2], "\n") {
			want = strings.TrimSpace(want)
			if want == "" || want == "..." {
				continue
			}
			n++
			found := false
			for _, l := range lines {
				if l == want || strings.HasSuffix(want, "...") && strings.HasPrefix(l, strings.TrimSuffix(want, "...")) {
					found = true
					break
				}
			}
			assert.True(t, found, "README snippet %s: %q is not a line of the export", m[1], want)
		}
		assert.NotZero(t, n, m[1])
	}
	for _, f := range []string{"m365", "exchange", "spamassassin", "rspamd", "policyd-spf", "exim", "haproxy", "nginx", "firewalld", "nftables"} {
		assert.True(t, seen[f], "no README snippet for %s", f)
	}
}
