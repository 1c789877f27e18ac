package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func runClassify(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func TestArgs(t *testing.T) {
	code, out, errs := runClassify(t, "", "170.10.128.5", "[207.211.30.45]:25", "::ffff:185.58.84.93", "146.101.202.134", "8.8.8.8", "2001:db8::1")
	assert.Equal(t, 0, code, "stderr: %s", errs)
	assert.Empty(t, errs)
	assert.Equal(t, ""+
		"170.10.128.5\tmimecast\tus\tgateway\t170.10.128.0/24\n"+
		"[207.211.30.45]:25\tnon-spf\tus\tnon-spf\t207.211.30.40/29\n"+
		"::ffff:185.58.84.93\tmimecast\tus\tgateway\t185.58.84.93/32\n"+
		"146.101.202.134\tforeign\tglobal\twebsite\t146.101.202.134/32\n"+
		"8.8.8.8\tforeign\t-\t-\t-\n"+
		"2001:db8::1\tforeign\t-\t-\t-\n", out)
}

func TestStdin(t *testing.T) {
	in := "# addresses from the log\n170.10.156.1\n\n  205.139.111.50  \nnot-an-address\r\n1.2.3.4:99999\n185.58.84.94\n"
	code, out, errs := runClassify(t, in)
	assert.Equal(t, 2, code)
	assert.Equal(t, ""+
		"170.10.156.1\tmimecast\tus,usb\tgateway\t170.10.156.0/24\n"+
		"205.139.111.50\tmimecast\tus\tgateway\t205.139.111.0/24\n"+
		"185.58.84.94\tmimecast\teu\tgateway\t185.58.84.0/22\n", out)
	assert.Contains(t, errs, `line 5:`)
	assert.Contains(t, errs, `"not-an-address"`)
	assert.Contains(t, errs, `line 6:`)
	assert.Contains(t, errs, `"1.2.3.4:99999"`)
	assert.Equal(t, 2, strings.Count(errs, "\n"), "one line per bad input: %q", errs)
}

func TestBadArg(t *testing.T) {
	code, out, errs := runClassify(t, "", "170.10.128.5", "1.2.3")
	assert.Equal(t, 2, code)
	assert.Contains(t, out, "170.10.128.5\tmimecast")
	assert.Contains(t, errs, `argument 2`)
	assert.Contains(t, errs, `"1.2.3"`)
}

func TestRegion(t *testing.T) {
	code, out, errs := runClassify(t, "", "-region", "CUK12A345", "170.10.128.5", "91.220.42.1", "185.58.84.93")
	assert.Equal(t, 0, code, "stderr: %s", errs)
	assert.Equal(t, ""+
		"170.10.128.5\tforeign\t-\t-\t-\n"+
		"91.220.42.1\tmimecast\teu\tgateway\t91.220.42.0/24\n"+
		"185.58.84.93\tmimecast\teu\tgateway\t185.58.84.0/22\n", out)

	code, _, errs = runClassify(t, "", "-region", "mars", "1.2.3.4")
	assert.Equal(t, 2, code)
	assert.Contains(t, errs, `"mars"`)
}

func TestData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ranges.txt")
	require.NoError(t, os.WriteFile(path, []byte("@version 2026-01-01\n@source mine 2026 ours\n1.2.3.0/24 eu gateway active 2026 2026 mine\n@end 1\n"), 0o600))
	code, out, errs := runClassify(t, "1.2.3.4\n170.10.128.5\n", "-data", path)
	assert.Equal(t, 0, code, "stderr: %s", errs)
	assert.Equal(t, "1.2.3.4\tmimecast\teu\tgateway\t1.2.3.0/24\n170.10.128.5\tforeign\t-\t-\t-\n", out)

	bad := filepath.Join(t.TempDir(), "bad.txt")
	require.NoError(t, os.WriteFile(bad, []byte("@version 2026-01-01\n@source mine 2026 ours\n10.0.0.0/24 eu gateway active 2026 2026 mine\n"), 0o600))
	code, _, errs = runClassify(t, "", "-data", bad, "1.2.3.4")
	assert.Equal(t, 2, code)
	assert.Contains(t, errs, "line 3")
}

func TestUsage(t *testing.T) {
	code, _, errs := runClassify(t, "", "-nosuchflag")
	assert.Equal(t, 2, code)
	assert.Contains(t, errs, "usage: classify")
}
