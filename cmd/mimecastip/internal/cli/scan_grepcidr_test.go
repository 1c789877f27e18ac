package cli

import (
	"bytes"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b311f21d/go-mimecastip/cmd/mimecastip/internal/logscan/logtest"
	"github.com/seed-b311f21d/go-mimecastip/internal/testenv"
	"github.com/seed-b311f21d/go-mimecastip/regions"
)

// scanFixture writes a generated mail log of n lines and our plain export
// for region (all regions when "") into dir.
func scanFixture(t testing.TB, dir string, n int, region string) (logPath, listPath string) {
	t.Helper()
	var hits []netip.Prefix
	for _, r := range regions.Ranges() {
		if !r.Retired && r.Service.Mail() {
			hits = append(hits, r.Prefix)
		}
	}
	var log bytes.Buffer
	require.NoError(t, logtest.Write(&log, n, 42, hits))
	logPath = filepath.Join(dir, "maillog")
	require.NoError(t, os.WriteFile(logPath, log.Bytes(), 0o644))
	args := []string{"export", "--format", "plain"}
	if region != "" {
		args = append(args, "--region", region)
	}
	r := cliRun("", args...)
	require.Equal(t, ExitOK, r.code, r.stderr)
	listPath = filepath.Join(dir, "list-"+region)
	require.NoError(t, os.WriteFile(listPath, []byte(r.stdout), 0o644))
	return logPath, listPath
}

// TestScanMatchesGrepcidr: on a clean generated log, "scan" selects
// exactly the lines "grepcidr -f LIST" does, LIST being our plain export.
func TestScanMatchesGrepcidr(t *testing.T) {
	testenv.RequireCommands(t, "grepcidr")
	dir := t.TempDir()
	for _, region := range []string{"", "eu", "us"} {
		logPath, list := scanFixture(t, dir, 20000, region)
		args := []string{"scan", logPath}
		if region != "" {
			args = append(args, "--region", region)
		}
		ours := cliRun("", args...)
		require.Equal(t, ExitOK, ours.code, ours.stderr)
		theirs, err := exec.Command("grepcidr", "-f", list, logPath).Output()
		require.NoError(t, err)
		require.NotEmpty(t, theirs)
		if ours.stdout != string(theirs) {
			o, g := strings.Split(ours.stdout, "\n"), strings.Split(string(theirs), "\n")
			t.Errorf("region %q: scan selected %d lines, grepcidr %d", region, len(o), len(g))
			for i := 0; i < len(o) && i < len(g); i++ {
				if o[i] != g[i] {
					t.Fatalf("first difference at selected line %d:\nscan:     %s\ngrepcidr: %s", i+1, o[i], g[i])
				}
			}
		}
	}
}

// BenchmarkScanVsGrepcidr runs "mimecastip scan" (in process) and grepcidr
// on the same generated log and list, and reports both times and their
// ratio. The log is small so that CI's -benchtime 1x stays quick; for the
// 1M-line comparison run bench/scan.sh.
func BenchmarkScanVsGrepcidr(b *testing.B) {
	testenv.RequireCommands(b, "grepcidr")
	logPath, list := scanFixture(b, b.TempDir(), 100000, "")
	st, err := os.Stat(logPath)
	require.NoError(b, err)
	b.SetBytes(st.Size())
	var ours, theirs time.Duration
	for b.Loop() {
		t0 := time.Now()
		if code := Main([]string{"scan", logPath}, &Env{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: io.Discard}); code != ExitOK {
			b.Fatalf("scan: exit %d", code)
		}
		t1 := time.Now()
		cmd := exec.Command("grepcidr", "-f", list, logPath) // stdout to /dev/null
		if err := cmd.Run(); err != nil {
			b.Fatal(err)
		}
		ours += t1.Sub(t0)
		theirs += time.Since(t1)
	}
	n := float64(b.N)
	b.ReportMetric(float64(ours.Nanoseconds())/n, "scan-ns/op")
	b.ReportMetric(float64(theirs.Nanoseconds())/n, "grepcidr-ns/op")
	b.ReportMetric(float64(theirs)/float64(ours), "grepcidr/scan")
}

var _ = assert.Equal

// BenchmarkScanVsCat runs "mimecastip scan" (in process) and
// "cat FILE >/dev/null" on the same generated log and reports the ratio of
// their times (the target: at most 4.5), and "scan --inbound"
// against plain scan (target: at most 1.3). cat is a process of its own,
// whose start-up counts on this small log: bench/scan.sh gives the
// 1M-line figures.
func BenchmarkScanVsCat(b *testing.B) {
	testenv.RequireCommands(b, "cat")
	logPath, _ := scanFixture(b, b.TempDir(), 100000, "")
	st, err := os.Stat(logPath)
	require.NoError(b, err)
	b.SetBytes(st.Size())
	env := func() *Env { return &Env{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: io.Discard} }
	var scan, inbound, cat time.Duration
	for b.Loop() {
		t0 := time.Now()
		if code := Main([]string{"scan", logPath}, env()); code != ExitOK {
			b.Fatalf("scan: exit %d", code)
		}
		t1 := time.Now()
		if code := Main([]string{"scan", "--inbound", logPath}, env()); code != ExitOK {
			b.Fatalf("scan --inbound: exit %d", code)
		}
		t2 := time.Now()
		if err := exec.Command("cat", logPath).Run(); err != nil { // stdout to /dev/null
			b.Fatal(err)
		}
		scan += t1.Sub(t0)
		inbound += t2.Sub(t1)
		cat += time.Since(t2)
	}
	b.ReportMetric(float64(scan)/float64(cat), "scan/cat")
	b.ReportMetric(float64(inbound)/float64(scan), "inbound/scan")
}
