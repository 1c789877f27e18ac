package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b311f21d/go-mimecastip/regions"
)

// cliResult is what one in-process run of Main produced.
type cliResult struct {
	code           int
	stdout, stderr string
}

// cliRun runs Main with args and stdin, on buffers.
func cliRun(stdin string, args ...string) cliResult {
	var o, e bytes.Buffer
	code := Main(args, &Env{Stdin: strings.NewReader(stdin), Stdout: &o, Stderr: &e})
	return cliResult{code, o.String(), e.String()}
}

var mySubcommands = []string{"lookup", "scan", "export", "audit", "regions"}

func TestSubcommandHelp(t *testing.T) {
	for _, name := range mySubcommands {
		for _, h := range []string{"--help", "-h", "-help"} {
			r := cliRun("", name, h)
			assert.Equal(t, ExitOK, r.code, "%s %s", name, h)
			assert.Contains(t, r.stdout, "Usage: mimecastip "+name, "%s %s", name, h)
			assert.Contains(t, r.stdout, "Exit status", "%s %s", name, h)
			assert.Contains(t, r.stdout, "-data", "%s %s", name, h)
			assert.Empty(t, r.stderr, "%s %s", name, h)
		}
		r := cliRun("", "help", name)
		assert.Equal(t, ExitOK, r.code)
		assert.Contains(t, r.stdout, "Usage: mimecastip "+name)
	}
}

func TestSubcommandUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"lookup", "--bogus"}, "flag provided but not defined"},
		{[]string{"lookup", "--region", "mars", "1.2.3.4"}, `unknown region "mars"`},
		{[]string{"lookup", "--data", "/nonexistent", "1.2.3.4"}, "/nonexistent"},
		{[]string{"scan", "--class", "spam"}, `unknown class "spam"`},
		{[]string{"scan", "--class", ""}, "no class"},
		{[]string{"export"}, "--format is required"},
		{[]string{"export", "--format", "xml"}, `unknown format "xml"`},
		{[]string{"export", "--format", "plain", "--region", "uspcom"}, "refusing to write an empty allowlist"},
		{[]string{"export", "--format", "plain", "--class", "foreign"}, "foreign cannot be exported"},
		{[]string{"export", "--format", "plain", "us"}, "unexpected argument"},
		{[]string{"export", "--format", "nftables", "--port", "0"}, "--port"},
		{[]string{"export", "--format", "nftables", "--name", "a b"}, "--name"},
		{[]string{"audit", "/nonexistent"}, "/nonexistent"},
		{[]string{"audit", "a", "b"}, "one allowlist at a time"},
		{[]string{"regions", "us"}, "unexpected argument"},
		{[]string{"regions", "--region", "xx"}, "unknown region"},
	} {
		r := cliRun("", tc.args...)
		assert.Equal(t, ExitUsage, r.code, "%v: %s", tc.args, r.stderr)
		assert.Contains(t, r.stderr, tc.want, "%v", tc.args)
	}
}

func TestLookup(t *testing.T) {
	r := cliRun("", "lookup", "170.10.128.5", "207.211.30.45")
	assert.Equal(t, ExitOK, r.code, r.stderr)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	require.Len(t, lines, 2)
	assert.Equal(t, []string{"170.10.128.5", "mimecast", "us", "gateway", "170.10.128.0/24"}, strings.Fields(lines[0]))
	assert.Equal(t, []string{"207.211.30.45", "non-spf", "us", "non-spf", "207.211.30.40/29"}, strings.Fields(lines[1]))

	r = cliRun("", "lookup", "8.8.8.8", "[IPv6:2001:db8::1]:25", "146.101.202.134", "--region", "us")
	assert.Equal(t, ExitFinding, r.code, "a foreign address is a finding")
	lines = strings.Split(strings.TrimSpace(r.stdout), "\n")
	assert.Equal(t, []string{"8.8.8.8", "foreign", "-", "-", "-"}, strings.Fields(lines[0]))
	assert.Equal(t, "2001:db8::1", strings.Fields(lines[1])[0])
	assert.Equal(t, []string{"146.101.202.134", "foreign", "global", "website", "146.101.202.134/32"}, strings.Fields(lines[2]))

	// another region's gateway is foreign with --region
	r = cliRun("", "lookup", "--region", "CUK123", "170.10.128.5")
	assert.Equal(t, ExitFinding, r.code)
	assert.Contains(t, r.stdout, "foreign")
}

func TestLookupStdinAndErrors(t *testing.T) {
	in := "170.10.128.5 # comment 1.1.1.1\n\n  bogus  185.58.85.9\n1.2.3\n"
	r := cliRun(in, "lookup")
	assert.Equal(t, ExitUsage, r.code)
	assert.Contains(t, r.stderr, `line 3: "bogus" is not an IP address`)
	assert.Contains(t, r.stderr, `line 4: "1.2.3"`)
	assert.Len(t, strings.Split(strings.TrimSpace(r.stdout), "\n"), 2, "the good addresses are still classified")
	assert.Contains(t, r.stdout, "185.58.85.9")

	r = cliRun("", "lookup", "1.2.3.4", "x")
	assert.Equal(t, ExitUsage, r.code)
	assert.Contains(t, r.stderr, `argument 2: "x"`)
}

func TestLookupJSONAndQuiet(t *testing.T) {
	r := cliRun("", "lookup", "--json", "170.10.128.5", "8.8.8.8", "nope")
	assert.Equal(t, ExitUsage, r.code)
	var rows []lookupJSON
	for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		var j lookupJSON
		require.NoError(t, json.Unmarshal([]byte(l), &j), l)
		rows = append(rows, j)
	}
	require.Len(t, rows, 3)
	assert.Equal(t, lookupJSON{Input: "170.10.128.5", Address: "170.10.128.5", Class: "mimecast", Regions: regions.SetOf(regions.US), Service: "gateway", Prefix: "170.10.128.0/24"}, rows[0])
	assert.Equal(t, "foreign", rows[1].Class)
	assert.NotEmpty(t, rows[2].Error)

	r = cliRun("", "lookup", "-q", "170.10.128.5")
	assert.Equal(t, ExitOK, r.code)
	assert.Empty(t, r.stdout)
	r = cliRun("", "lookup", "-q", "8.8.8.8")
	assert.Equal(t, ExitFinding, r.code)
	assert.Empty(t, r.stdout)
}

const scanLog = `Nov 22 07:14:45 mx postfix/smtpd[1]: connect from a.mimecast.com[170.10.133.5]
Nov 22 07:14:45 mx postfix/smtpd[1]: connect from x[8.8.8.8]
Nov 22 07:14:46 mx postfix/smtpd[2]: ABC: client=b[207.211.30.45]:41234
Nov 22 07:14:47 mx postfix/smtpd[3]: connect from c[1170.10.133.5]
Nov 22 07:14:48 mx postfix/smtpd[4]: connect from eu[185.58.85.1]
Nov 22 07:14:49 mx postfix/smtpd[5]: connect from v6[IPv6:2001:db8::1]
`

func TestScan(t *testing.T) {
	r := cliRun(scanLog, "scan")
	assert.Equal(t, ExitOK, r.code, r.stderr)
	assert.Equal(t, strings.Join([]string{
		"Nov 22 07:14:45 mx postfix/smtpd[1]: connect from a.mimecast.com[170.10.133.5]",
		"Nov 22 07:14:46 mx postfix/smtpd[2]: ABC: client=b[207.211.30.45]:41234",
		"Nov 22 07:14:48 mx postfix/smtpd[4]: connect from eu[185.58.85.1]",
	}, "\n")+"\n", r.stdout)

	r = cliRun(scanLog, "scan", "--class", "foreign", "--region", "us", "-n")
	assert.Equal(t, ExitOK, r.code)
	var nums []string
	for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		nums = append(nums, strings.SplitN(l, ":", 2)[0])
	}
	assert.Equal(t, []string{"2", "5", "6"}, nums, "8.8.8.8, EU gateway (foreign to us) and the IPv6 address")

	r = cliRun(scanLog, "scan", "--class", "non-spf")
	assert.Equal(t, ExitOK, r.code)
	assert.Equal(t, 1, strings.Count(r.stdout, "\n"))

	r = cliRun("nothing here\n", "scan")
	assert.Equal(t, ExitFinding, r.code, "no line selected")
	assert.Empty(t, r.stdout)
}

func TestScanFiles(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.log")
	require.NoError(t, os.WriteFile(a, []byte(scanLog), 0o644))
	r := cliRun("", "scan", a, filepath.Join(dir, "missing.log"), a)
	assert.Equal(t, ExitUsage, r.code)
	assert.Contains(t, r.stderr, "missing.log")
	assert.Equal(t, 6, strings.Count(r.stdout, a+":"), "file names prefixed with several files; the others still scanned")
	r = cliRun("", "scan", "--no-filename", a, a)
	assert.NotContains(t, r.stdout, a+":")
}

func TestScanCountAndJSON(t *testing.T) {
	r := cliRun(scanLog, "scan", "--count", "--class", "mimecast,non-spf,foreign")
	assert.Equal(t, ExitOK, r.code)
	assert.Equal(t, `CLASS     REGIONS       ADDRESSES   DISTINCT      LINES
mimecast  us                    1          1          1
mimecast  eu                    1          1          1
non-spf   us                    1          1          1
foreign   -                     2          2          2
total                           5          5          5
`, r.stdout)

	r = cliRun(scanLog, "scan", "--count", "--json")
	var counts struct {
		Groups []countJSON `json:"groups"`
		Lines  int         `json:"lines"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &counts))
	assert.Equal(t, 3, counts.Lines)
	assert.Len(t, counts.Groups, 3)

	r = cliRun(scanLog, "scan", "--json")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	require.Len(t, lines, 3)
	var j scanJSON
	require.NoError(t, json.Unmarshal([]byte(lines[1]), &j))
	assert.Equal(t, 3, j.Line)
	assert.Equal(t, "207.211.30.45", j.Addresses[0].Address)
	assert.Equal(t, "non-spf", j.Addresses[0].Class)
	assert.True(t, j.Addresses[0].Wanted)
}

func TestExportCLI(t *testing.T) {
	for _, f := range []string{"plain", "postfix", "postscreen", "nftables", "nft", "ipset", "iptables", "m365", "exchange", "spf", "json", "csv"} {
		r := cliRun("", "export", "--format", f, "--region", "us")
		assert.Equal(t, ExitOK, r.code, "%s: %s", f, r.stderr)
		assert.Contains(t, r.stdout, "2026-", f)
		if f != "json" && f != "csv" { // these list every published range
			assert.NotContains(t, r.stdout, "170.10.132.56/29", "%s: nested range not merged", f)
		}
		assert.Empty(t, r.stderr, f)
	}
	r := cliRun("", "export", "--format", "plain")
	assert.Equal(t, ExitOK, r.code)
	assert.Contains(t, r.stderr, "no --region given")
	assert.Contains(t, r.stdout, "regions all")

	r = cliRun("", "export", "--format", "postfix", "--region", "us", "--reject", "554 5.7.1 Not Mimecast")
	assert.Contains(t, r.stdout, "0.0.0.0/0                554 5.7.1 Not Mimecast")

	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	r = cliRun("", "export", "--format", "json", "--region", "eu", "--class", "mimecast")
	assert.Contains(t, r.stdout, `"generated": "2023-11-14T22:13:20Z"`)

	// -o replaces the file atomically and keeps its mode
	out := filepath.Join(t.TempDir(), "mimecast.cidr")
	require.NoError(t, os.WriteFile(out, []byte("old"), 0o600))
	r = cliRun("", "export", "--format", "postfix", "--region", "eu", "-o", out)
	assert.Equal(t, ExitOK, r.code, r.stderr)
	assert.Empty(t, r.stdout)
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Contains(t, string(b), "185.58.84.0/22           OK")
	st, err := os.Stat(out)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	entries, _ := os.ReadDir(filepath.Dir(out))
	assert.Len(t, entries, 1, "no temporary file left behind")
}

func TestAuditCLI(t *testing.T) {
	clean := cliRun("", "export", "--format", "nftables", "--region", "de").stdout
	r := cliRun(clean, "audit", "--region", "de")
	assert.Equal(t, ExitOK, r.code, r.stdout)
	assert.Contains(t, r.stdout, "result: OK")

	bad := "170.10.128.0/22\n207.211.30.0/23\n170.10.132.5/24\n213.167.75.0/24\n"
	r = cliRun(bad, "audit", "--region", "us")
	assert.Equal(t, ExitFinding, r.code)
	for _, want := range []string{"line 2", "FOREIGN", "207.211.31.128/25", "NON-CANONICAL", "retired", "other-region", "MISSING", "216.205.24.0/24", "result: FAIL"} {
		assert.Contains(t, r.stdout, want)
	}

	// warnings only: exit 0
	warn := cliRun("", "export", "--format", "plain", "--region", "eu").stdout + "213.167.75.0/24\n170.10.128.0/24\n"
	r = cliRun(warn, "audit", "--region", "eu")
	assert.Equal(t, ExitOK, r.code, r.stdout)
	assert.Contains(t, r.stdout, "retired")
	assert.Contains(t, r.stdout, "other-region")

	file := filepath.Join(t.TempDir(), "allow.txt")
	require.NoError(t, os.WriteFile(file, []byte(bad), 0o644))
	r = cliRun("", "audit", "--json", file)
	assert.Equal(t, ExitFinding, r.code)
	var rep struct {
		File     string   `json:"file"`
		Regions  []string `json:"regions"`
		Inferred bool     `json:"regions_inferred"`
		OK       bool     `json:"ok"`
		Entries  []struct {
			Line   int    `json:"line"`
			Status string `json:"status"`
		} `json:"entries"`
		Missing []struct {
			Prefix string `json:"prefix"`
		} `json:"missing_ranges"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &rep), r.stdout)
	assert.Equal(t, file, rep.File)
	assert.Equal(t, []string{"us"}, rep.Regions)
	assert.True(t, rep.Inferred)
	assert.False(t, rep.OK)
	require.Len(t, rep.Entries, 4)
	assert.Equal(t, "foreign", rep.Entries[1].Status)
	assert.NotEmpty(t, rep.Missing)

	r = cliRun("no addresses\n", "audit")
	assert.Equal(t, ExitUsage, r.code)
	assert.Contains(t, r.stderr, "no IP address")
}

func TestRegionsCLI(t *testing.T) {
	r := cliRun("", "regions")
	assert.Equal(t, ExitOK, r.code)
	for _, want := range []string{"CUSA...", "us._netblocks.mimecast.com", "https://login-us.mimecast.com", "SMTP", "Dataset 2026-"} {
		assert.Contains(t, r.stdout, want)
	}
	r = cliRun("", "regions", "--json", "--region", "CUK1")
	assert.Equal(t, ExitOK, r.code)
	var out struct {
		Version string       `json:"version"`
		Regions []regionJSON `json:"regions"`
		Ports   []struct {
			Port int `json:"Port"`
		} `json:"ports"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &out))
	require.Len(t, out.Regions, 1)
	assert.Equal(t, "eu", out.Regions[0].Region)
	assert.Equal(t, "eu._netblocks.mimecast.com", out.Regions[0].SPFInclude)
	assert.Positive(t, out.Regions[0].MailRanges)
	assert.NotEmpty(t, out.Ports)
}

// TestBinary builds the real command and runs a pipeline through it.
func TestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command")
	}
	bin := filepath.Join(t.TempDir(), "mimecastip")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/seed-b311f21d/go-mimecastip/cmd/mimecastip").CombinedOutput()
	require.NoError(t, err, "%s", out)

	cmd := exec.Command(bin, "lookup", "170.10.128.5")
	got, err := cmd.Output()
	require.NoError(t, err)
	assert.Contains(t, string(got), "mimecast")

	cmd = exec.Command(bin, "lookup", "8.8.8.8")
	_, err = cmd.Output()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, ExitFinding, ee.ExitCode())

	cmd = exec.Command(bin, "scan", "--count")
	cmd.Stdin = strings.NewReader(scanLog)
	got, err = cmd.Output()
	require.NoError(t, err)
	assert.Contains(t, string(got), "total")

	cmd = exec.Command(bin, "export", "--bogus")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err = cmd.Run()
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, ExitUsage, ee.ExitCode())
	assert.Contains(t, stderr.String(), "bogus")
}

const testData = `@version 2030-01-02
@source t 2030 test source
11.22.33.0/24   us  gateway  active   2030 2030 t
11.22.34.0/24   us  gateway  retired  2029 2029 t
44.55.66.0/25   eu  gateway  active   2030 2030 t
44.55.66.8/29   eu  non-spf  active   2030 2030 t
@end 4
`

func TestDataFlag(t *testing.T) {
	data := filepath.Join(t.TempDir(), "ranges.txt")
	require.NoError(t, os.WriteFile(data, []byte(testData), 0o644))

	r := cliRun("", "lookup", "--data", data, "11.22.33.7", "44.55.66.9", "11.22.34.1", "170.10.128.5")
	assert.Equal(t, ExitFinding, r.code)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	require.Len(t, lines, 4)
	assert.Equal(t, "mimecast", strings.Fields(lines[0])[1])
	assert.Equal(t, "non-spf", strings.Fields(lines[1])[1])
	assert.Equal(t, "foreign", strings.Fields(lines[2])[1], "retired ranges never match")
	assert.Equal(t, "foreign", strings.Fields(lines[3])[1], "the embedded data is not used")

	r = cliRun("", "export", "--data", data, "--format", "plain", "--region", "eu")
	assert.Equal(t, ExitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "dataset 2030-01-02, regions eu")
	assert.Contains(t, r.stdout, "\n44.55.66.0/25\n")
	assert.NotContains(t, r.stdout, "44.55.66.8/29")

	r = cliRun("x 11.22.33.1\ny 44.55.66.1\n", "scan", "--data", data, "--region", "us")
	assert.Equal(t, "x 11.22.33.1\n", r.stdout)

	r = cliRun("11.22.33.0/24\n11.22.34.0/24\n", "audit", "--data", data)
	assert.Equal(t, ExitOK, r.code, r.stdout)
	assert.Contains(t, r.stdout, "retired")

	r = cliRun("", "regions", "--data", data, "--region", "us")
	assert.Contains(t, r.stdout, "Dataset 2030-01-02")

	bad := filepath.Join(t.TempDir(), "bad.txt")
	require.NoError(t, os.WriteFile(bad, []byte("@version 2030-01-02\n10.0.0.0/8 us gateway active 2030 2030 t\n"), 0o644))
	for _, sub := range mySubcommands {
		r = cliRun("1.2.3.4\n", sub, "--data", bad, "--format", "plain")
		if sub != "export" {
			r = cliRun("1.2.3.4\n", sub, "--data", bad)
		}
		assert.Equal(t, ExitUsage, r.code, sub)
		assert.Contains(t, r.stderr, "line 2", "%s: the data file error names its line", sub)
	}
}
