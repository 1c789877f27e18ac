package logscan

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b311f21d/go-mimecastip/internal/logscan/logtest"
	"github.com/seed-b311f21d/go-mimecastip/mimecastip"
	"github.com/seed-b311f21d/go-mimecastip/regions"
)

func mailPrefixes() []regions.Range {
	var out []regions.Range
	for _, r := range regions.Ranges() {
		if !r.Retired && r.Service.Mail() {
			out = append(out, r)
		}
	}
	return out
}

func TestScanSelectsLines(t *testing.T) {
	in := "a 170.10.133.5\nb 8.8.8.8\nc 207.211.30.45 and 8.8.4.4\nd nothing\ne 1170.10.133.5\nf 185.58.85.1" // no final newline
	s := &Scanner{Classifier: mimecastip.Default(), Want: MaskOf(mimecastip.Mimecast, mimecastip.NonSPF)}
	var got []string
	var c Counter
	c.Want = s.Want
	require.NoError(t, s.Scan(strings.NewReader(in), func(l *Line) error {
		got = append(got, string(l.Text))
		c.Add(l)
		return nil
	}))
	assert.Equal(t, []string{"a 170.10.133.5\n", "c 207.211.30.45 and 8.8.4.4\n", "f 185.58.85.1"}, got)
	assert.Equal(t, 3, c.Lines)
	assert.Equal(t, 3, c.Total)
	g := c.Groups()
	require.Len(t, g, 3)
	assert.Equal(t, Group{mimecastip.Mimecast, regions.SetOf(regions.US), 1, 1}, g[0])
	assert.Equal(t, Group{mimecastip.Mimecast, regions.SetOf(regions.EU), 1, 1}, g[1])
	assert.Equal(t, Group{mimecastip.NonSPF, regions.SetOf(regions.US), 1, 1}, g[2])

	s.Want = MaskOf(mimecastip.Foreign)
	got = got[:0]
	require.NoError(t, s.Scan(strings.NewReader(in), func(l *Line) error { got = append(got, string(l.Text)); return nil }))
	assert.Equal(t, []string{"b 8.8.8.8\n", "c 207.211.30.45 and 8.8.4.4\n"}, got)
}

func TestScanLongLine(t *testing.T) {
	long := strings.Repeat("x", 3*BufferSize) + " 170.10.133.5\nshort 170.10.128.1\n"
	s := &Scanner{Classifier: mimecastip.Default(), Want: MaskOf(mimecastip.Mimecast)}
	var nums []int
	require.NoError(t, s.Scan(strings.NewReader(long), func(l *Line) error { nums = append(nums, l.Num); return nil }))
	assert.Equal(t, []int{1, 2}, nums)
}

type failReader struct{ n int }

func (f *failReader) Read(p []byte) (int, error) {
	if f.n == 0 {
		f.n++
		return copy(p, "1.2.3.4\n5.6.7.8\n"), nil
	}
	return 0, io.ErrUnexpectedEOF
}

func TestScanReadError(t *testing.T) {
	s := &Scanner{Classifier: mimecastip.Default(), Want: MaskOf(mimecastip.Foreign)}
	err := s.Scan(&failReader{}, func(*Line) error { return nil })
	var le *LineError
	require.ErrorAs(t, err, &le)
	assert.Equal(t, 3, le.Line)
}

// TestScanMatchesReference compares the scanner with a plain
// strings-and-netip check on a generated log.
func TestScanMatchesReference(t *testing.T) {
	var ps []regions.Range = mailPrefixes()
	var log bytes.Buffer
	hits := make([]netipPrefix, 0, len(ps))
	for _, r := range ps {
		hits = append(hits, r.Prefix)
	}
	require.NoError(t, logtest.Write(&log, 5000, 7, hits))
	s := &Scanner{Classifier: mimecastip.Default(), Want: MaskOf(mimecastip.Mimecast, mimecastip.NonSPF)}
	var got []int
	require.NoError(t, s.Scan(bytes.NewReader(log.Bytes()), func(l *Line) error { got = append(got, l.Num); return nil }))
	var want []int
	for i, line := range strings.Split(strings.TrimSuffix(log.String(), "\n"), "\n") {
		if refLineMatches(line, ps) {
			want = append(want, i+1)
		}
	}
	require.NotEmpty(t, want)
	assert.Equal(t, want, got)
}

func TestScanNoAllocsPerLine(t *testing.T) {
	var log bytes.Buffer
	hits := []netipPrefix{}
	for _, r := range mailPrefixes() {
		hits = append(hits, r.Prefix)
	}
	require.NoError(t, logtest.Write(&log, 2000, 3, hits))
	s := &Scanner{Classifier: mimecastip.Default(), Want: MaskOf(mimecastip.Mimecast, mimecastip.NonSPF)}
	rd := bytes.NewReader(log.Bytes())
	fn := func(*Line) error { return nil }
	require.NoError(t, s.Scan(rd, fn)) // warm up the buffers
	allocs := testing.AllocsPerRun(5, func() {
		rd.Reset(log.Bytes())
		_ = s.Scan(rd, fn)
	})
	assert.Zero(t, allocs, "allocations per scan of 2000 lines")
}

func BenchmarkScan(b *testing.B) {
	var log bytes.Buffer
	hits := []netipPrefix{}
	for _, r := range mailPrefixes() {
		hits = append(hits, r.Prefix)
	}
	require.NoError(b, logtest.Write(&log, 20000, 3, hits))
	s := &Scanner{Classifier: mimecastip.Default(), Want: MaskOf(mimecastip.Mimecast, mimecastip.NonSPF)}
	rd := bytes.NewReader(log.Bytes())
	fn := func(*Line) error { return nil }
	b.SetBytes(int64(log.Len()))
	b.ReportAllocs()
	for b.Loop() {
		rd.Reset(log.Bytes())
		_ = s.Scan(rd, fn)
	}
}
