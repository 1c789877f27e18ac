package cli

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b311f21d/go-mimecastip/internal/testenv"
)

// eximDir is where .ci/run unpacks exim4-daemon-light (it conflicts with
// postfix, so it is not installed); MIMECASTIP_EXIM names another binary.
const eximDir = "/opt/mimecastip-ci/exim4/usr/sbin"

// TestScanInboundRealExim reads the main log of a real Exim 4: two SMTP
// sessions on standard input (-bs) with the client address set by -oMa
// (a US Mimecast gateway and a foreign client), each with a relay attempt
// that is rejected and a message that is accepted, plus a local
// submission. "scan --inbound" finds the two clients, on the rejected and
// the <= lines, and nothing else.
func TestScanInboundRealExim(t *testing.T) {
	path := eximDir
	if e := os.Getenv("MIMECASTIP_EXIM"); e != "" {
		path = filepath.Dir(e)
	}
	t.Setenv("PATH", path+string(os.PathListSeparator)+os.Getenv("PATH"))
	testenv.RequireCommands(t, "exim4")
	testenv.RequireRoot(t) // -oMa is for trusted callers
	// exim writes its logs as its own user: a directory it can reach
	dir, err := os.MkdirTemp("", "mimecastip-exim-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	require.NoError(t, os.Chmod(dir, 0o777))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "spool"), 0o777))
	require.NoError(t, os.Chmod(filepath.Join(dir, "spool"), 0o777)) // past the umask
	conf := `keep_environment =
primary_hostname = mx.example.org
spool_directory = ` + dir + `/spool
log_file_path = ` + dir + `/%slog
domainlist local_domains = mx.example.org
acl_smtp_rcpt = acl_rcpt
log_selector = +incoming_port +smtp_connection
begin acl
acl_rcpt:
  accept domains = +local_domains
  deny message = relay not permitted
begin routers
blackhole:
  driver = redirect
  data = :blackhole:
`
	confPath := filepath.Join(dir, "exim.conf")
	require.NoError(t, os.WriteFile(confPath, []byte(conf), 0o644))
	const session = "HELO client.example.net\r\nMAIL FROM:<a@example.net>\r\nRCPT TO:<x@other.example>\r\n" +
		"RCPT TO:<u@mx.example.org>\r\nDATA\r\nSubject: t\r\n\r\nhi\r\n.\r\nQUIT\r\n"
	const mimecast, foreign = "170.10.129.5", "192.0.2.10"
	for _, client := range []string{mimecast + ".41000", foreign + ".52344"} {
		cmd := exec.Command("exim4", "-C", confPath, "-odq", "-bs", "-oMa", client, "-oMi", "198.51.100.25.25")
		cmd.Stdin = strings.NewReader(session)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
		require.Contains(t, string(out), "550 relay not permitted", "%s", out)
		require.Contains(t, string(out), "250 OK id=", "%s", out)
	}
	cmd := exec.Command("exim4", "-C", confPath, "-odq", "-bm", "u@mx.example.org") // local submission
	cmd.Stdin = strings.NewReader("Subject: local\n\nhi\n")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)

	logText, err := os.ReadFile(filepath.Join(dir, "mainlog"))
	require.NoError(t, err)
	t.Logf("exim mainlog:\n%s", logText)
	require.Contains(t, string(logText), "P=local", "the local submission is in the log")
	logPath := filepath.Join(dir, "mainlog")

	r := cliRun("", "scan", "--inbound", "--class", "mimecast,non-spf,foreign", "--json", logPath)
	require.Equal(t, ExitOK, r.code, r.stderr)
	clients := map[string][]string{}
	for _, row := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		var j scanJSON
		require.NoError(t, json.Unmarshal([]byte(row), &j))
		require.Len(t, j.Addresses, 1)
		assert.Equal(t, "exim", j.Format)
		assert.NotEmpty(t, j.Time)
		kind := "<="
		if strings.Contains(j.Text, " rejected RCPT ") {
			kind = "rejected"
		}
		clients[j.Addresses[0].Address] = append(clients[j.Addresses[0].Address], kind)
	}
	assert.Equal(t, map[string][]string{mimecast: {"rejected", "<="}, foreign: {"rejected", "<="}}, clients)

	r = cliRun("", "scan", "--inbound", "--class", "foreign", "--region", "us", "--addresses", "--json", logPath)
	require.Equal(t, ExitOK, r.code, r.stderr)
	var rep struct{ Addresses []addrJSON }
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &rep))
	require.Len(t, rep.Addresses, 1)
	assert.Equal(t, foreign, rep.Addresses[0].Address)
	assert.Equal(t, 2, rep.Addresses[0].Count)
}
