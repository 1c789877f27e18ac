package regions_test

import (
	"bytes"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/seed-b311f21d/go-mimecastip/regions"
)

// FuzzParse checks that Parse never panics and that whatever it accepts
// survives Format then Parse unchanged (apart from Line). The checked-in
// corpus is in testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"",
		header,
		header + goodRow,
		header + "8.0.0.0/8 us gateway active 2025 2026 src # broad: x\n",
		header + "2a00:1450::/32 de,global website retired 2026-01 2026-01-01 src # c # d\n",
		header + "1.1.1.0/24 uk,CUSA1 non-spf active 2025 2026 src,src\n",
		header + "10.0.0.0/24 us gateway active 2025 2026 src\n",
		"@version 2026-01-01\n@source a#b 2026 x # y\n1.1.1.0/24 us gateway active 2025 2026 a\n",
		"@version 2026-01-01 # v\n\t@source src undated text\t with\ttabs\n1.1.1.0/24\tus\tgateway\tactive\t2025\t2026\tsrc\n",
		"\x00\xff@version",
	} {
		f.Add([]byte(s))
	}
	if b, err := os.ReadFile("ranges.txt"); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := regions.Parse(bytes.NewReader(data))
		if err != nil {
			require.Nil(t, d)
			return
		}
		require.NotNil(t, d)
		for _, r := range d.Ranges {
			if r.Retired {
				continue
			}
			require.Equal(t, r.Prefix, r.Prefix.Masked(), "Parse accepted a non-canonical prefix")
		}
		var buf bytes.Buffer
		require.NoError(t, d.Format(&buf))
		d2, err := regions.Parse(&buf)
		require.NoError(t, err, "Parse(Format(Parse(%q)))", data)
		equalIgnoringLine(t, d, d2, "Format round trip of %q", data)
	})
}
