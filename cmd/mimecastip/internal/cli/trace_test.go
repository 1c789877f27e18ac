package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// traceFixtures is the trace package's testdata directory (with a
// trailing slash), found by walking up from the test's directory, so the
// tests keep working when the command's packages move (module split).
var traceFixtures = func() string {
	dir, err := os.Getwd()
	if err != nil {
		panic(err)
	}
	for {
		p := filepath.Join(dir, "mimecastip", "trace", "testdata")
		if fi, err := os.Stat(p); err == nil && fi.IsDir() {
			rel, err := filepath.Rel(mustGetwd(), p)
			if err != nil {
				panic(err)
			}
			return rel + string(filepath.Separator)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			panic("mimecastip/trace/testdata not found above the test directory")
		}
		dir = parent
	}
}()

func mustGetwd() string {
	d, err := os.Getwd()
	if err != nil {
		panic(err)
	}
	return d
}

func traceJSONLines(t *testing.T, out string) []map[string]any {
	t.Helper()
	var objs []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l == "" {
			continue
		}
		var o map[string]any
		require.NoError(t, json.Unmarshal([]byte(l), &o), l)
		objs = append(objs, o)
	}
	return objs
}

// TestTraceDoneWhen: the checks of the issue, through the command line.
func TestTraceDoneWhen(t *testing.T) {
	for _, c := range []struct {
		file, verdict, addr, class string
		regions                    []any
		prefix                     string
		code                       int
	}{
		{"us-gateway.eml", "mimecast", "170.10.129.124", "mimecast", []any{"us"}, "170.10.129.0/24", ExitOK},
		{"bypass.eml", "bypass", "209.85.219.71", "foreign", []any{}, "", ExitFinding},
		{"forged.eml", "forged", "198.51.100.77", "foreign", []any{}, "", ExitFinding},
		{"eu-gateway.eml", "other-region", "185.58.85.151", "foreign", []any{"eu"}, "185.58.85.0/24", ExitFinding},
		{"nonspf.eml", "mimecast", "207.211.30.44", "non-spf", []any{"us"}, "207.211.30.40/29", ExitOK},
	} {
		t.Run(c.file, func(t *testing.T) {
			r := cliRun("", "trace", "--json", "--region", "us", traceFixtures+c.file)
			assert.Equal(t, c.code, r.code, r.stderr)
			assert.Empty(t, r.stderr)
			objs := traceJSONLines(t, r.stdout)
			require.Len(t, objs, 1)
			o := objs[0]
			assert.Equal(t, c.verdict, o["verdict"])
			assert.Equal(t, c.addr, o["address"])
			assert.Equal(t, c.class, o["class"])
			assert.Equal(t, c.regions, o["regions"])
			assert.Equal(t, c.prefix, o["prefix"])
			assert.NotEmpty(t, o["reasons"])
		})
	}
	// The forged message carries the header and hop the issue names.
	b, err := os.ReadFile(traceFixtures + "forged.eml")
	require.NoError(t, err)
	assert.Contains(t, string(b), "X-Mimecast-Spam-Score:")
	assert.Contains(t, string(b), "by relay.mimecast.com")
}

func TestTraceByAndInternal(t *testing.T) {
	f := traceFixtures + "internal-relays.eml"
	for _, c := range []struct {
		args    []string
		verdict string
		hop     float64
		code    int
	}{
		{nil, "undetermined", 1, ExitFinding},
		{[]string{"--by", "filter.example.com"}, "mimecast", 3, ExitOK},
		{[]string{"--by", "mx1.example.com", "--internal", "10.20.0.9"}, "mimecast", 3, ExitOK},
		{[]string{"--internal", "10.20.0.0/16,192.0.2.0/24"}, "mimecast", 3, ExitOK},
		{[]string{"--by", "mx1.example.com"}, "undetermined", 2, ExitFinding},
	} {
		r := cliRun("", append(append([]string{"trace", "--json", "--region", "us"}, c.args...), f)...)
		assert.Equal(t, c.code, r.code, "%v %s", c.args, r.stderr)
		o := traceJSONLines(t, r.stdout)[0]
		assert.Equal(t, c.verdict, o["verdict"], c.args)
		assert.Equal(t, c.hop, o["hop"].(map[string]any)["index"], c.args)
	}
}

func TestTraceText(t *testing.T) {
	r := cliRun("", "trace", "--region", "us", traceFixtures+"nonspf.eml", traceFixtures+"eu-gateway.eml")
	assert.Equal(t, ExitFinding, r.code)
	assert.Contains(t, r.stdout, "nonspf.eml: message 1 (line 1): mimecast\n  address 207.211.30.44  class non-spf  regions us  prefix 207.211.30.40/29\n")
	assert.Contains(t, r.stdout, "eu-gateway.eml: message 1 (line 1): other-region\n  address 185.58.85.151  class foreign  regions eu  prefix 185.58.85.0/24\n")
	assert.Contains(t, r.stdout, "a Mimecast gateway of eu (185.58.85.0/24), outside the configured regions (us)")
	assert.Contains(t, r.stdout, "grid: us (agrees with the hop's regions)")

	// Every region: the EU gateway is Mimecast.
	r = cliRun("", "trace", traceFixtures+"eu-gateway.eml")
	assert.Equal(t, ExitOK, r.code)
}

func TestTraceStdinAndMbox(t *testing.T) {
	b, err := os.ReadFile(traceFixtures + "three.mbox")
	require.NoError(t, err)
	r := cliRun(string(b), "trace", "--json")
	assert.Equal(t, ExitFinding, r.code, r.stderr)
	objs := traceJSONLines(t, r.stdout)
	require.Len(t, objs, 3)
	for i, want := range []string{"mimecast", "bypass", "forged"} {
		assert.Equal(t, want, objs[i]["verdict"])
		assert.Equal(t, "stdin", objs[i]["file"])
		assert.Equal(t, float64(i+1), objs[i]["message"])
	}
}

func TestTraceInputErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.mbox")
	require.NoError(t, os.WriteFile(bad, []byte("From a\nSubject: x\n\nbody\n\nFrom b\nnot a header\n\n\nFrom c\nReceived: from x (x [170.10.129.5]) by mx.example.com; d\n\n"), 0o644))
	big := filepath.Join(dir, "big.eml")
	require.NoError(t, os.WriteFile(big, []byte("Subject: "+strings.Repeat("x", 2000)+"\n\n"), 0o644))
	empty := filepath.Join(dir, "empty.eml")
	require.NoError(t, os.WriteFile(empty, nil, 0o644))

	r := cliRun("", "trace", "--json", bad)
	assert.Equal(t, ExitUsage, r.code)
	assert.Contains(t, r.stderr, "mimecastip trace: "+bad+": message 2, line 7: not a header field")
	objs := traceJSONLines(t, r.stdout)
	require.Len(t, objs, 3)
	assert.Equal(t, "undetermined", objs[0]["verdict"])
	assert.Contains(t, objs[1]["error"], "not a header field")
	assert.Equal(t, "mimecast", objs[2]["verdict"])

	r = cliRun("", "trace", "--max-header-bytes", "1000", big)
	assert.Equal(t, ExitUsage, r.code)
	assert.Contains(t, r.stderr, big+": message 1, line 1: line longer than the header limit of 1000 bytes")

	r = cliRun("", "trace", empty)
	assert.Equal(t, ExitUsage, r.code)
	assert.Contains(t, r.stderr, empty+": no message")

	r = cliRun("", "trace", filepath.Join(dir, "missing.eml"), traceFixtures+"us-gateway.eml")
	assert.Equal(t, ExitUsage, r.code)
	assert.Contains(t, r.stderr, "missing.eml")
	assert.Contains(t, r.stdout, "us-gateway.eml: message 1 (line 1): mimecast")

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"trace", "--internal", "10.0.0.0/33"}, `--internal: "10.0.0.0/33" is not a CIDR prefix or address`},
		{[]string{"trace", "--by", "a b"}, `bad By host name "a b"`},
		{[]string{"trace", "--region", "mars"}, `unknown region "mars"`},
		{[]string{"trace", "--max-header-bytes", "0"}, "--max-header-bytes"},
		{[]string{"trace", "--bogus"}, "flag provided but not defined"},
	} {
		r := cliRun("", c.args...)
		assert.Equal(t, ExitUsage, r.code, c.args)
		assert.Contains(t, r.stderr, c.want, c.args)
	}
	r = cliRun("", "trace", "--help")
	assert.Equal(t, ExitOK, r.code)
	assert.Contains(t, r.stdout, "Usage: mimecastip trace")
	assert.Contains(t, r.stdout, "Exit status")
}
