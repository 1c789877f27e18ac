package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b311f21d/go-mimecastip/cmd/mimecastip/internal/logscan"
	"github.com/seed-b311f21d/go-mimecastip/internal/testenv"
	"github.com/seed-b311f21d/go-mimecastip/regions"
)

// TestScanEndOfInputDelimiter: the letter after an address is seen when
// it is the last byte of the input (no final newline).
func TestScanEndOfInputDelimiter(t *testing.T) {
	r := cliRun("x 170.10.133.5q", "scan")
	assert.Equal(t, ExitFinding, r.code)
	assert.Empty(t, r.stdout)
	r = cliRun("x 170.10.133.5q", "scan", "--class", "mimecast,non-spf,foreign")
	assert.Equal(t, ExitFinding, r.code)
	r = cliRun("x 170.10.133.5", "scan")
	assert.Equal(t, ExitOK, r.code)
	assert.Equal(t, "x 170.10.133.5\n", r.stdout, "a last line without newline is printed with one")
	r = cliRun("a\nx 170.10.133.5.", "scan", "-n")
	assert.Equal(t, "2:x 170.10.133.5.\n", r.stdout)
}

// TestScanLongLine: a line over the limit is reported with its line
// number and skipped, the others are still printed, and the exit status
// says the scan is incomplete.
func TestScanLongLine(t *testing.T) {
	in := "a 170.10.133.5\n" + strings.Repeat("170.10.133.6 ", logscan.MaxLineLength/6) + "\nb 170.10.133.7\n"
	r := cliRun(in, "scan", "-n")
	assert.Equal(t, ExitUsage, r.code)
	assert.Equal(t, "1:a 170.10.133.5\n3:b 170.10.133.7\n", r.stdout)
	assert.Contains(t, r.stderr, "(standard input): line 2: skipped:")
	assert.Contains(t, r.stderr, fmt.Sprintf("limit of %d bytes", logscan.MaxLineLength))
}

func scanLogFile(t *testing.T, dir string) (string, []byte) {
	p, _ := scanFixture(t, dir, 20000, "")
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	return p, b
}

// TestScanCompressed: rotated logs compressed by the real gzip, bzip2, xz
// and zstd are read by their magic bytes (whatever their names), and
// select the same lines as the decompressing tool piped into scan; a
// truncated or corrupted file is an error naming the file.
func TestScanCompressed(t *testing.T) {
	tools := map[string][]string{
		"gzip":  {"gzip", "-c"},
		"bzip2": {"bzip2", "-c"},
		"xz":    {"xz", "-c"},
		"zstd":  {"zstd", "-q", "-c"},
	}
	testenv.RequireCommands(t, "gzip", "bzip2", "xz", "zstd")
	dir := t.TempDir()
	plain, text := scanLogFile(t, dir)
	want := cliRun(string(text), "scan", "-n", "--class", "mimecast,non-spf")
	require.Equal(t, ExitOK, want.code)
	for name, cmd := range tools {
		out, err := exec.Command(cmd[0], append(cmd[1:], plain)...).Output()
		require.NoError(t, err, name)
		f := filepath.Join(dir, "mail.log.2."+name)
		require.NoError(t, os.WriteFile(f, out, 0o644))
		// the tool's own decompression agrees with the original
		back, err := exec.Command(cmd[0], "-d", "-c", f).Output()
		require.NoError(t, err, name)
		require.Equal(t, text, back, name)

		got := cliRun("", "scan", "-n", f)
		assert.Equal(t, ExitOK, got.code, "%s: %s", name, got.stderr)
		assert.Equal(t, want.stdout, got.stdout, name)
		assert.Empty(t, got.stderr, name)

		// two members/streams concatenated, as "cat a.gz b.gz" makes
		cat := filepath.Join(dir, "cat."+name)
		require.NoError(t, os.WriteFile(cat, append(append([]byte{}, out...), out...), 0o644))
		got = cliRun("", "scan", "--count", "--json", cat)
		assert.Equal(t, ExitOK, got.code, "%s: %s", name, got.stderr)
		var counts struct{ Lines int }
		require.NoError(t, json.Unmarshal([]byte(got.stdout), &counts), name)
		assert.Equal(t, 2*strings.Count(want.stdout, "\n"), counts.Lines, "%s: concatenated streams", name)

		// truncated: an error naming the file, never a silent partial OK
		trunc := filepath.Join(dir, "trunc."+name)
		require.NoError(t, os.WriteFile(trunc, out[:len(out)*2/3], 0o644))
		got = cliRun("", "scan", "-n", trunc)
		assert.Equal(t, ExitUsage, got.code, "%s truncated", name)
		assert.Contains(t, got.stderr, trunc, name)
		assert.Contains(t, got.stderr, name+" data is corrupted", name)

		// corrupted in the middle
		bad := append([]byte{}, out...)
		for i := len(bad) / 2; i < len(bad)/2+64; i++ {
			bad[i] ^= 0x5a
		}
		corrupt := filepath.Join(dir, "corrupt."+name)
		require.NoError(t, os.WriteFile(corrupt, bad, 0o644))
		got = cliRun("", "scan", corrupt)
		assert.Equal(t, ExitUsage, got.code, "%s corrupted", name)
		assert.Contains(t, got.stderr, corrupt, name)
	}
	// gzip data on standard input is read too, as zgrep does
	gz, err := exec.Command("gzip", "-c", plain).Output()
	require.NoError(t, err)
	got := cliRun(string(gz), "scan", "-n")
	assert.Equal(t, want.stdout, got.stdout)
	// a plain file is unchanged
	got = cliRun("", "scan", "-n", plain)
	assert.Equal(t, want.stdout, got.stdout)
}

const addrLog = `Nov 22 07:14:45 mx postfix/smtpd[1]: connect from a.mimecast.com[170.10.133.5]
Nov 22 07:14:46 mx postfix/smtpd[1]: connect from x[8.8.8.8]
Nov 22 07:14:47 mx postfix/smtpd[2]: connect from b.mimecast.com[170.10.133.5]
Nov 22 07:14:48 mx postfix/smtpd[3]: connect from c.mimecast.com[170.10.133.5]
Nov 22 07:14:49 mx postfix/smtpd[4]: connect from eu[185.58.85.1] and x[8.8.8.8]
Nov 22 07:14:50 mx postfix/smtpd[5]: connect from y[9.9.9.9] 8.8.8.8
`

func TestScanCountDistinct(t *testing.T) {
	r := cliRun(addrLog, "scan", "--count", "--class", "mimecast,foreign", "--region", "us")
	assert.Equal(t, ExitOK, r.code, r.stderr)
	assert.Equal(t, `CLASS     REGIONS       ADDRESSES   DISTINCT      LINES
mimecast  us                    3          1          3
foreign   -                     5          3          3
total                           8          4          6
`, r.stdout)
}

func TestScanAddresses(t *testing.T) {
	r := cliRun(addrLog, "scan", "--addresses", "--class", "mimecast,foreign", "--region", "us")
	assert.Equal(t, ExitOK, r.code, r.stderr)
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	require.Len(t, lines, 5)
	assert.Regexp(t, `^ADDRESS +CLASS +REGIONS +COUNT +FIRST SEEN +LAST SEEN +SAMPLE$`, lines[0])
	// most frequent first, ties in address order
	assert.Regexp(t, `^8\.8\.8\.8 +foreign +- +3  Nov 22 07:14:46  Nov 22 07:14:50  \(standard input\):2: `, lines[1])
	assert.Regexp(t, `^170\.10\.133\.5 +mimecast +us +3  Nov 22 07:14:45  Nov 22 07:14:48  \(standard input\):1: Nov 22 07:14:45 mx postfix/smtpd\[1\]: connect from a\.mimecast\.com\[170\.10\.133\.5\]$`, lines[2])
	assert.Regexp(t, `^9\.9\.9\.9 +foreign +- +1 `, lines[3])
	assert.Regexp(t, `^185\.58\.85\.1 +foreign +eu +1  Nov 22 07:14:49  Nov 22 07:14:49  `, lines[4], "another region's gateway: foreign, published by eu")

	r = cliRun(addrLog, "scan", "--addresses", "--json", "--class", "foreign", "--region", "us")
	var out struct {
		Addresses []addrJSON
		Distinct  int
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &out), r.stdout)
	assert.Equal(t, 3, out.Distinct)
	require.Len(t, out.Addresses, 3)
	a := out.Addresses[0]
	assert.Equal(t, "8.8.8.8", a.Address)
	assert.Equal(t, 3, a.Count)
	assert.Equal(t, 3, a.Lines)
	assert.Equal(t, "Nov 22 07:14:46", a.FirstSeen)
	assert.Equal(t, "Nov 22 07:14:50", a.LastSeen)
	assert.Equal(t, 2, a.Sample.Line)
	assert.True(t, a.Regions.IsEmpty())
	assert.Equal(t, "9.9.9.9", out.Addresses[1].Address)
	assert.Equal(t, regions.SetOf(regions.EU), out.Addresses[2].Regions)

	r = cliRun("nothing\n", "scan", "--addresses")
	assert.Equal(t, ExitFinding, r.code)
	r = cliRun(addrLog, "scan", "--addresses", "--count")
	assert.Equal(t, ExitUsage, r.code)
}

// doneLog holds inbound sessions from a foreign client (8.8.8.8) and a US
// Mimecast gateway, and an outbound delivery to a foreign server.
const doneLog = `Nov 22 07:14:45 mx postfix/smtpd[101]: connect from mail.foreign.example[8.8.8.8]
Nov 22 07:14:45 mx postfix/smtpd[101]: 3A1B2C3D4E: client=mail.foreign.example[8.8.8.8]
Nov 22 07:14:46 mx postfix/smtpd[101]: disconnect from mail.foreign.example[8.8.8.8] ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5
Nov 22 07:14:47 mx postfix/smtpd[102]: connect from us-smtp-inbound-1.mimecast.com[170.10.129.124]
Nov 22 07:14:47 mx postfix/smtpd[102]: 4B2C3D4E5F: client=us-smtp-inbound-1.mimecast.com[170.10.129.124]
Nov 22 07:14:48 mx postfix/smtpd[102]: disconnect from us-smtp-inbound-1.mimecast.com[170.10.129.124] ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5
Nov 22 07:14:49 mx postfix/smtp[103]: 3A1B2C3D4E: to=<bob@other.example>, relay=mx.other.example[203.0.113.5]:25, delay=1.1, delays=0.1/0/0.5/0.5, dsn=2.0.0, status=sent (250 2.0.0 Ok)
Nov 22 07:14:50 mx postfix/smtpd[104]: connect from localhost[127.0.0.1]
Nov 22 07:14:51 mx postfix/submission/smtpd[105]: 5C3D4E5F6A: client=laptop.example.org[198.51.100.77], sasl_method=PLAIN, sasl_username=dave
`

// TestScanInboundBypassReport is the done-when: the inbound
// sessions of 8.8.8.8 are selected, the outbound relay= line, the
// loopback hop and the authenticated submission are not; --addresses
// lists 8.8.8.8 once with its count.
func TestScanInboundBypassReport(t *testing.T) {
	r := cliRun(doneLog, "scan", "--class", "foreign", "--region", "us", "-n")
	assert.Contains(t, r.stdout, "7:", "without --inbound the outbound relay line is selected")

	r = cliRun(doneLog, "scan", "--inbound", "--class", "foreign", "--region", "us", "-n")
	assert.Equal(t, ExitOK, r.code, r.stderr)
	assert.Equal(t, strings.Join([]string{
		"1:Nov 22 07:14:45 mx postfix/smtpd[101]: connect from mail.foreign.example[8.8.8.8]",
		"2:Nov 22 07:14:45 mx postfix/smtpd[101]: 3A1B2C3D4E: client=mail.foreign.example[8.8.8.8]",
		"3:Nov 22 07:14:46 mx postfix/smtpd[101]: disconnect from mail.foreign.example[8.8.8.8] ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5",
	}, "\n")+"\n", r.stdout)

	r = cliRun(doneLog, "scan", "--inbound", "--class", "foreign", "--region", "us", "--addresses")
	assert.Equal(t, ExitOK, r.code, r.stderr)
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	require.Len(t, lines, 2, r.stdout)
	assert.Regexp(t, `^8\.8\.8\.8 +foreign +- +3  Nov 22 07:14:45  Nov 22 07:14:46  \(standard input\):1: Nov 22 07:14:45 mx postfix/smtpd\[101\]: connect from mail\.foreign\.example\[8\.8\.8\.8\]$`, lines[1])

	r = cliRun(doneLog, "scan", "--inbound", "--authenticated", "--class", "foreign", "--region", "us", "--addresses", "--json")
	var out struct{ Addresses []addrJSON }
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &out))
	require.Len(t, out.Addresses, 2)
	assert.Equal(t, "8.8.8.8", out.Addresses[0].Address)
	assert.Equal(t, "198.51.100.77", out.Addresses[1].Address, "--authenticated adds the submission client")

	r = cliRun(doneLog, "scan", "--inbound", "--class", "mimecast", "--region", "us", "--json")
	rows := strings.Split(strings.TrimSpace(r.stdout), "\n")
	require.Len(t, rows, 3)
	var j scanJSON
	require.NoError(t, json.Unmarshal([]byte(rows[0]), &j))
	assert.Equal(t, "postfix", j.Format)
	assert.Equal(t, "Nov 22 07:14:47", j.Time)
	require.Len(t, j.Addresses, 1, "only the client address")
	assert.Equal(t, "170.10.129.124", j.Addresses[0].Address)

	r = cliRun(doneLog, "scan", "--log-format", "exim", "--class", "foreign")
	assert.Equal(t, ExitUsage, r.code, "a Postfix log read as Exim holds no line of the format")
	assert.Contains(t, r.stderr, "(standard input): no line is in a log format --inbound reads")
	r = cliRun("@400000006384f7b2 new msg 12345 from 8.8.8.8\n", "scan", "--inbound", "--class", "foreign", "--addresses")
	assert.Equal(t, ExitUsage, r.code, "an unknown log format is not a log without bypasses")
	assert.Empty(t, r.stdout)
	r = cliRun("Nov 22 07:14:45 mx postfix/qmgr[9]: 3A1B2C3D4E: removed\n", "scan", "--inbound", "--class", "foreign")
	assert.Equal(t, ExitFinding, r.code, "a Postfix log without inbound sessions: nothing found, no error")
	assert.Empty(t, r.stderr)
	r = cliRun(doneLog, "scan", "--log-format", "qmail")
	assert.Equal(t, ExitUsage, r.code)
	assert.Contains(t, r.stderr, `unknown log format "qmail"`)
	r = cliRun(doneLog, "scan", "--authenticated")
	assert.Equal(t, ExitUsage, r.code)
}

// TestScanInboundFixturesCLI: each format's fixture through the command.
func TestScanInboundFixturesCLI(t *testing.T) {
	dir := filepath.Join("..", "logscan", "testdata", "inbound")
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	n := 0
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".md") {
			continue
		}
		n++
		r := cliRun("", "scan", "--inbound", "--class", "foreign", "--addresses", "--json", filepath.Join(dir, e.Name()))
		assert.Equal(t, ExitOK, r.code, "%s: %s", e.Name(), r.stderr)
		var out struct{ Addresses []addrJSON }
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &out), e.Name())
		var got []string
		for _, a := range out.Addresses {
			got = append(got, a.Address)
		}
		assert.ElementsMatch(t, []string{"192.0.2.10", "2001:db8::10"}, got, e.Name())
	}
	assert.Equal(t, 7, n)
}

// TestScanReadmeFormats: the README's table of --inbound formats names
// every format of logscan.Formats().
func TestScanReadmeFormats(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "..", "README.md"))
	require.NoError(t, err)
	for _, f := range logscan.Formats() {
		assert.True(t, strings.Contains(string(b), "| `"+f.Name+"` |"), "README: no row for %s", f.Name)
	}
}

// TestScanReadmeExamples runs the README's scan examples on the logs
// they describe and compares their output with the README's.
func TestScanReadmeExamples(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "..", "README.md"))
	require.NoError(t, err)
	for marker, log := range map[string]string{
		"<!-- scan examples: run by TestScanReadmeExamples":      doneLog,
		"<!-- open-relay example: run by TestScanReadmeExamples": openRelayLog,
	} {
		i := strings.Index(string(b), marker)
		require.GreaterOrEqual(t, i, 0, "README marker %s", marker)
		block := string(b[i:])
		block = block[strings.Index(block, "```console\n")+len("```console\n"):]
		block = block[:strings.Index(block, "```")]
		logPath := filepath.Join(t.TempDir(), "mail.log")
		require.NoError(t, os.WriteFile(logPath, []byte(log), 0o644))
		type example struct {
			cmd  string
			want []string
		}
		var exs []example
		for _, l := range strings.Split(strings.TrimSuffix(block, "\n"), "\n") {
			if strings.HasPrefix(l, "$ ") {
				exs = append(exs, example{cmd: l[2:]})
				continue
			}
			require.NotEmpty(t, exs)
			exs[len(exs)-1].want = append(exs[len(exs)-1].want, l)
		}
		require.NotEmpty(t, exs)
		for _, ex := range exs {
			cmd, _, _ := strings.Cut(ex.cmd, "#")
			args := strings.Fields(cmd)
			require.Equal(t, "mimecastip", args[0])
			for k, a := range args {
				if a == "/var/log/mail.log" {
					args[k] = logPath
				}
			}
			r := cliRun("", args[1:]...)
			assert.Equal(t, ExitOK, r.code, "%s: %s", ex.cmd, r.stderr)
			got := strings.ReplaceAll(r.stdout, logPath, "/var/log/mail.log")
			assert.Equal(t, strings.Join(ex.want, "\n")+"\n", got, ex.cmd)
		}
	}
}

const openRelayLog = `Nov 22 07:14:45 relay1 postfix/smtpd[200]: 6A7B8C9D0E: client=app.example.com[10.0.0.20]
Nov 22 07:14:46 relay1 postfix/smtp[201]: 6A7B8C9D0E: to=<bob@other.example>, relay=us-smtp-o365-outbound-1.mimecast.com[205.139.110.20]:25, delay=0.6, delays=0.1/0/0.3/0.2, dsn=4.0.0, status=deferred (host us-smtp-o365-outbound-1.mimecast.com[205.139.110.20] said: 451 Open relay not allowed - https://community.mimecast.com/docs/DOC-1369#451 [aBcDeFgHiJkLmNoPqRsTuV.us123] (in reply to RCPT TO command))
Nov 22 07:14:50 relay2 postfix/smtp[301]: 7B8C9D0E1F: to=<carol@other.example>, relay=us-smtp-o365-outbound-1.mimecast.com[205.139.110.21]:25, delay=0.4, delays=0.1/0/0.2/0.1, dsn=2.0.0, status=sent (250 Ok)
Nov 22 07:15:46 relay1 postfix/smtp[202]: 6A7B8C9D0E: to=<bob@other.example>, relay=us-smtp-o365-outbound-1.mimecast.com[205.139.110.21]:25, delay=60, delays=59/0/0.3/0.2, dsn=4.0.0, status=deferred (host us-smtp-o365-outbound-1.mimecast.com[205.139.110.21] said: 451 Open relay not allowed - https://community.mimecast.com/docs/DOC-1369#451 [zYxWvUtSrQpOnMlKjIhGfE.us123] (in reply to RCPT TO command))
Nov 22 07:16:00 relay3 postfix/smtp[401]: 8C9D0E1F2A: to=<dan@other.example>, relay=us-smtp-o365-outbound-2.mimecast.com[207.211.30.60]:25, delay=0.5, delays=0.1/0/0.2/0.2, dsn=4.0.0, status=deferred (host us-smtp-o365-outbound-2.mimecast.com[207.211.30.60] said: 451 Open relay not allowed - https://community.mimecast.com/docs/DOC-1369#451 [qWeRtYuIoPaSdFgHjKlZxC.us123] (in reply to RCPT TO command))
`

func TestScanOpenRelay(t *testing.T) {
	r := cliRun(openRelayLog, "scan", "--open-relay")
	assert.Equal(t, ExitOK, r.code, r.stderr)
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	require.Len(t, lines, 3, r.stdout)
	assert.Regexp(t, `^SENDING HOST +COUNT +FIRST SEEN +LAST SEEN +REFUSED BY$`, lines[0])
	assert.Regexp(t, `^relay1 +2  Nov 22 07:14:46  Nov 22 07:15:46  205\.139\.110\.20 \(mimecast us\), 205\.139\.110\.21 \(mimecast us\)$`, lines[1])
	assert.Regexp(t, `^relay3 +1  Nov 22 07:16:00  Nov 22 07:16:00  207\.211\.30\.60 \(`, lines[2])

	r = cliRun(openRelayLog, "scan", "--open-relay", "--json")
	var out struct{ Hosts []openRelayRow }
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &out))
	require.Len(t, out.Hosts, 2)
	assert.Equal(t, 2, out.Hosts[0].Sample.Line)
	assert.Equal(t, []gatewayJSON{{"205.139.110.20", "mimecast", regions.SetOf(regions.US)}, {"205.139.110.21", "mimecast", regions.SetOf(regions.US)}}, out.Hosts[0].Gateways)

	r = cliRun(doneLog, "scan", "--open-relay")
	assert.Equal(t, ExitFinding, r.code)
	assert.Empty(t, r.stdout)
	r = cliRun(doneLog, "scan", "--open-relay", "--inbound")
	assert.Equal(t, ExitUsage, r.code)
	r = cliRun(doneLog, "scan", "--open-relay", "--count")
	assert.Equal(t, ExitUsage, r.code)
}

// lineSignal is a Writer that reports each write.
type lineSignal chan string

func (s lineSignal) Write(p []byte) (int, error) { s <- string(p); return len(p), nil }

// TestScanFollowsPipe: "tail -f mail.log | mimecastip scan" prints each
// selected line before more input arrives.
func TestScanFollowsPipe(t *testing.T) {
	pr, pw := io.Pipe()
	out := make(lineSignal, 1)
	done := make(chan int)
	go func() {
		done <- Main([]string{"scan"}, &Env{Stdin: pr, Stdout: out, Stderr: io.Discard})
	}()
	for i := 1; i <= 2; i++ {
		line := fmt.Sprintf("Nov 22 07:14:4%d mx postfix/smtpd[1]: connect from a[170.10.133.%d]\n", i, i)
		_, err := io.WriteString(pw, line)
		require.NoError(t, err)
		select {
		case got := <-out:
			assert.Equal(t, line, got)
		case <-time.After(30 * time.Second):
			t.Fatalf("line %d not printed before more input came", i)
		}
	}
	pw.Close()
	assert.Equal(t, ExitOK, <-done)
}

// TestScanInboundCraftedLine: a Sendmail line whose sender imitates the
// relay= field is reported (exit 2), not taken at its word.
func TestScanInboundCraftedLine(t *testing.T) {
	log := `Nov 22 07:14:45 mx sm-mta[4242]: 5AM7EjXa004242: from=<"x, relay=us-smtp-inbound-1.mimecast.com [170.10.129.124]"@evil.example>, size=1834, class=0, nrcpts=1, msgid=<1@evil.example>, proto=ESMTP, daemon=MTA-v4, relay=evil.example [192.0.2.66]
Nov 22 07:14:46 mx sm-mta[4243]: 5AM7EjXa004243: from=<alice@example.net>, size=1834, class=0, nrcpts=1, msgid=<2@example.net>, proto=ESMTP, daemon=MTA-v4, relay=mail.example.net [192.0.2.10]
`
	r := cliRun(log, "scan", "--inbound", "--class", "mimecast,foreign", "-n")
	assert.Equal(t, ExitUsage, r.code)
	assert.Contains(t, r.stderr, "(standard input): line 1: several relay= fields")
	assert.True(t, strings.HasPrefix(r.stdout, "2:"), "the other lines are still selected: %q", r.stdout)
	assert.NotContains(t, r.stdout, "170.10.129.124\"@", "the crafted line is not selected")
}

// TestScanUTF16Export: a UTF-16 file (a Microsoft 365 message trace
// export) is read as text: plain scan selects its addresses and --inbound
// finds its FromIP clients; before, plain scan selected nothing (exit 1,
// "no bypass") and --inbound called it unreadable.
func TestScanUTF16Export(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "trace.csv")
	csv := "\"Received\",\"SenderAddress\",\"FromIP\"\r\n\"11/22/2026 7:14:45 AM\",\"a@example.net\",\"8.8.8.8\"\r\n"
	var b []byte
	b = append(b, 0xFF, 0xFE)
	for _, c := range csv {
		b = append(b, byte(c), 0)
	}
	require.NoError(t, os.WriteFile(p, b, 0o644))
	r := cliRun("", "scan", "--class", "foreign", p)
	assert.Equal(t, ExitOK, r.code, r.stderr)
	assert.Equal(t, "\"11/22/2026 7:14:45 AM\",\"a@example.net\",\"8.8.8.8\"\r\n", r.stdout)
	r = cliRun("", "scan", "--inbound", "--class", "foreign", "--addresses", p)
	assert.Equal(t, ExitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "8.8.8.8 ")
	assert.Contains(t, r.stdout, "11/22/2026 7:14:45 AM")
}

// TestScanInboundUnreadLayout: in a file whose other lines are known,
// Postfix lines in a syslog layout --inbound does not read (a <PRI>
// prefix, RFC 5424) are an error naming the first, not a silent "no
// bypass": before, the foreign client of those lines went unseen with
// exit 1.
func TestScanInboundUnreadLayout(t *testing.T) {
	in := "2026-11-22 07:14:45 1vBxyz-000Abc-7Q <= a@example.net H=(helo) [170.10.129.124]:25 P=esmtp S=1\n" +
		"<22>Nov 22 07:14:46 mx postfix/smtpd[1]: connect from x[8.8.8.8]\n" +
		"<22>1 2026-11-22T07:14:47Z mx postfix/smtpd 1 - - connect from x[8.8.4.4]\n" +
		"Nov 22 07:14:48 mx dovecot: imap-login: Login: user=<a>, rip=9.9.9.9\n"
	r := cliRun(in, "scan", "--inbound", "--class", "foreign")
	assert.Equal(t, ExitUsage, r.code)
	assert.Contains(t, r.stderr, "(standard input): 2 lines (the first: line 2) name an MTA's SMTP server")
	r = cliRun(in[:strings.Index(in, "<22>")]+in[strings.LastIndex(in, "Nov 22"):], "scan", "--inbound", "--class", "foreign")
	assert.Equal(t, ExitFinding, r.code, r.stderr)
	assert.Empty(t, r.stderr)
}

// TestScanFirstLastAcrossFiles: "scan --addresses mail.log mail.log.1"
// (the order of the shell's mail.log*, newest first) and --open-relay
// give the earliest stamp as first seen and the latest as last seen;
// they were the first and last in input order, so the newest file's
// time showed as first seen.
func TestScanFirstLastAcrossFiles(t *testing.T) {
	dir := t.TempDir()
	newer, older := filepath.Join(dir, "mail.log"), filepath.Join(dir, "mail.log.1")
	lines := strings.Split(strings.TrimSuffix(openRelayLog, "\n"), "\n")
	relay := func(ts string) string { return ts + lines[1][len("Nov 22 07:14:46"):] + "\n" }
	client := func(ts string) string { return ts + " mx postfix/smtpd[1]: connect from x[8.8.8.8]\n" }
	require.NoError(t, os.WriteFile(newer, []byte(client("Nov 23 10:00:00")+client("Nov 23 11:00:00")+relay("Nov 23 10:00:00")+relay("Nov 23 11:00:00")), 0o644))
	require.NoError(t, os.WriteFile(older, []byte(client("Nov 21 10:00:00")+client("Nov 21 11:00:00")+relay("Nov 21 10:00:00")+relay("Nov 21 11:00:00")), 0o644))

	r := cliRun("", "scan", "--inbound", "--class", "foreign", "--addresses", "--json", newer, older)
	require.Equal(t, ExitOK, r.code, r.stderr)
	var out struct{ Addresses []addrJSON }
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &out))
	require.Len(t, out.Addresses, 1)
	assert.Equal(t, 4, out.Addresses[0].Count)
	assert.Equal(t, "Nov 21 10:00:00", out.Addresses[0].FirstSeen)
	assert.Equal(t, "Nov 23 11:00:00", out.Addresses[0].LastSeen)

	r = cliRun("", "scan", "--open-relay", "--json", newer, older)
	require.Equal(t, ExitOK, r.code, r.stderr)
	var or struct{ Hosts []openRelayRow }
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &or))
	require.Len(t, or.Hosts, 1)
	assert.Equal(t, 4, or.Hosts[0].Count)
	assert.Equal(t, "Nov 21 10:00:00", or.Hosts[0].FirstSeen)
	assert.Equal(t, "Nov 23 11:00:00", or.Hosts[0].LastSeen)
}

// TestScanUnsupportedCompression: an lz4 or .Z rotated log is an error
// naming the file and the tool to decompress it with; before, its bytes
// were scanned as text and nothing was selected (exit 1, "no bypass").
func TestScanUnsupportedCompression(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "mail.log.1.lz4")
	require.NoError(t, os.WriteFile(p, []byte("\x04\x22\x4d\x18\x64\x40\xa7\x1b\x00\x00\x80connect from x[8.8.8.8]\n"), 0o644))
	r := cliRun("", "scan", "--class", "foreign", p)
	assert.Equal(t, ExitUsage, r.code)
	assert.Contains(t, r.stderr, "mail.log.1.lz4: compressed with lz4: this compression is not supported: decompress it first (lz4 -dc FILE | mimecastip scan); nothing in it was scanned")
}

// TestScanUnreadableFile: a file that cannot be read at all (a
// directory) is an error naming it, and the other files are still
// scanned and reported; before, it was called an output error and the
// scan stopped there, without the --addresses table of the other files.
func TestScanUnreadableFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "mail.log")
	require.NoError(t, os.WriteFile(p, []byte("Nov 22 07:14:45 mx postfix/smtpd[1]: connect from x[8.8.8.8]\n"), 0o644))
	r := cliRun("", "scan", "--inbound", "--class", "foreign", "--addresses", dir, p)
	assert.Equal(t, ExitUsage, r.code)
	assert.Contains(t, r.stderr, dir+": ")
	assert.Contains(t, r.stderr, "nothing in it was scanned")
	assert.NotContains(t, r.stderr, "writing output")
	assert.Contains(t, r.stdout, "8.8.8.8 ")
}
