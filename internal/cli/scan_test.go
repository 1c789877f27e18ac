package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b311f21d/go-mimecastip/internal/logscan"
	"github.com/seed-b311f21d/go-mimecastip/internal/logscan/logtest"
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
	var hits []netip.Prefix
	for _, r := range regions.All() {
		if !r.Retired && r.Service.Mail() {
			hits = append(hits, r.Prefix)
		}
	}
	var log bytes.Buffer
	require.NoError(t, logtest.Write(&log, 20000, 5, hits))
	p := filepath.Join(dir, "mail.log")
	require.NoError(t, os.WriteFile(p, log.Bytes(), 0o644))
	return p, log.Bytes()
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
	assert.Equal(t, []string{}, a.Regions)
	assert.Equal(t, "9.9.9.9", out.Addresses[1].Address)
	assert.Equal(t, []string{"eu"}, out.Addresses[2].Regions)

	r = cliRun("nothing\n", "scan", "--addresses")
	assert.Equal(t, ExitFinding, r.code)
	r = cliRun(addrLog, "scan", "--addresses", "--count")
	assert.Equal(t, ExitUsage, r.code)
}
