package logscan

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b311f21d/go-mimecastip/cmd/mimecastip/internal/logscan/logtest"
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
	assert.Equal(t, Group{mimecastip.Mimecast, regions.SetOf(regions.US), 1, 1, 1}, g[0])
	assert.Equal(t, Group{mimecastip.Mimecast, regions.SetOf(regions.EU), 1, 1, 1}, g[1])
	assert.Equal(t, Group{mimecastip.NonSPF, regions.SetOf(regions.US), 1, 1, 1}, g[2])

	s.Want = MaskOf(mimecastip.Foreign)
	got = got[:0]
	require.NoError(t, s.Scan(strings.NewReader(in), func(l *Line) error { got = append(got, string(l.Text)); return nil }))
	assert.Equal(t, []string{"b 8.8.8.8\n", "c 207.211.30.45 and 8.8.4.4\n"}, got)
}

func TestScanLongLineSkipped(t *testing.T) {
	long := strings.Repeat("x", 3*MaxLineLength) + " 170.10.133.5\nshort 170.10.128.1\n"
	s := &Scanner{Classifier: mimecastip.Default(), Want: MaskOf(mimecastip.Mimecast)}
	var nums []int
	err := s.Scan(strings.NewReader(long), func(l *Line) error { nums = append(nums, l.Num); return nil })
	var le *LineError
	require.ErrorAs(t, err, &le, "without a LongLine handler the skipped line is an error")
	assert.Equal(t, 1, le.Line)
	assert.ErrorIs(t, err, ErrLineTooLong)
	assert.Equal(t, []int{2}, nums, "the other lines are still scanned")

	var skipped []string
	s.LongLine = func(num int, length int64) { skipped = append(skipped, fmt.Sprint(num, ":", length)) }
	nums = nil
	in := "a 170.10.133.5\n" + strings.Repeat("1.2.3.4 ", MaxLineLength/4) + "\nb 170.10.133.6\n" +
		strings.Repeat("y", MaxLineLength) + "170.10.133.7" // a long last line without newline
	require.NoError(t, s.Scan(iotest.HalfReader(strings.NewReader(in)), func(l *Line) error {
		nums = append(nums, l.Num)
		return nil
	}))
	assert.Equal(t, []int{1, 3}, nums)
	assert.Equal(t, []string{fmt.Sprint(2, ":", 2*MaxLineLength+1), fmt.Sprint(4, ":", MaxLineLength+12)}, skipped)
}

// repeatReader yields a prefix and then a pattern over and over, n bytes
// in all, without holding them.
type repeatReader struct {
	pat []byte
	n   int64
	off int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, io.EOF
	}
	k := 0
	for k < len(p) && r.n > 0 {
		c := copy(p[k:], r.pat[r.off:])
		if int64(c) > r.n {
			c = int(r.n)
		}
		k += c
		r.n -= int64(c)
		r.off = (r.off + c) % len(r.pat)
	}
	return k, nil
}

// TestScanHostileLineMemory: one 60 MB line full of Mimecast addresses
// (which once took 1.7 GB) is skipped in bounded memory, and the line
// after it is still found.
func TestScanHostileLineMemory(t *testing.T) {
	s := &Scanner{Classifier: mimecastip.Default(), Want: MaskOf(mimecastip.Mimecast), Workers: 2}
	var skipped []int
	s.LongLine = func(num int, _ int64) { skipped = append(skipped, num) }
	in := io.MultiReader(&repeatReader{pat: []byte("170.10.133.5 "), n: 60 << 20}, strings.NewReader("\nok 170.10.133.9\n"))
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var nums []int
	require.NoError(t, s.Scan(in, func(l *Line) error { nums = append(nums, l.Num); return nil }))
	runtime.ReadMemStats(&after)
	assert.Equal(t, []int{1}, skipped)
	assert.Equal(t, []int{2}, nums)
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(16<<20), "bytes allocated for a 60 MB line")
}

// TestScanChunkBoundaries: tiny chunks and reads of a few bytes select the
// same lines, with the same numbers and texts, as one big chunk.
func TestScanChunkBoundaries(t *testing.T) {
	var log bytes.Buffer
	hits := []netipPrefix{}
	for _, r := range mailPrefixes() {
		hits = append(hits, r.Prefix)
	}
	require.NoError(t, logtest.Write(&log, 3000, 11, hits))
	log.WriteString("last 170.10.133.5") // no final newline
	collect := func(s *Scanner, r io.Reader) []string {
		var out []string
		require.NoError(t, s.Scan(r, func(l *Line) error {
			out = append(out, fmt.Sprint(l.Num, " ", l.Wanted, " ", string(l.Text)))
			return nil
		}))
		return out
	}
	want := collect(&Scanner{Classifier: mimecastip.Default(), Want: MaskOf(mimecastip.Mimecast), Workers: 1}, bytes.NewReader(log.Bytes()))
	require.Greater(t, len(want), 100)
	assert.Equal(t, "3001 1 last 170.10.133.5", want[len(want)-1])
	for _, w := range []int{1, 2, 3, 8} {
		s := &Scanner{Classifier: mimecastip.Default(), Want: MaskOf(mimecastip.Mimecast), Workers: w, MaxLine: 512}
		assert.Equal(t, want, collect(s, iotest.OneByteReader(bytes.NewReader(log.Bytes()))), "workers %d, one byte reads", w)
		assert.Equal(t, want, collect(s, bytes.NewReader(log.Bytes())), "workers %d", w)
	}
}

// TestScanEndOfInput: the delimiter checks hold at the very last byte of
// the input, with and without a final newline.
func TestScanEndOfInput(t *testing.T) {
	s := &Scanner{Classifier: mimecastip.Default(), Want: MaskOf(mimecastip.Mimecast)}
	for in, want := range map[string]int{
		"x 170.10.133.5q":    0,
		"x 170.10.133.5q\n":  0,
		"x 170.10.133.5":     1,
		"x 170.10.133.5\n":   1,
		"x 170.10.133.5.":    1,
		"x 170.10.133.5.6":   0,
		"x 170.10.133.5:":    1,
		"x 1170.10.133.5":    0,
		"170.10.133.5":       1,
		"\n\n170.10.133.50q": 0,
	} {
		n := 0
		require.NoError(t, s.Scan(strings.NewReader(in), func(*Line) error { n++; return nil }))
		assert.Equal(t, want, n, "%q", in)
	}
}

func TestScanCallbackErrorStops(t *testing.T) {
	var log bytes.Buffer
	for i := 0; i < 100000; i++ {
		fmt.Fprintf(&log, "%d 170.10.133.5\n", i)
	}
	s := &Scanner{Classifier: mimecastip.Default(), Want: MaskOf(mimecastip.Mimecast), MaxLine: 4096}
	boom := errors.New("boom")
	n := 0
	err := s.Scan(bytes.NewReader(log.Bytes()), func(*Line) error {
		n++
		if n == 10 {
			return boom
		}
		return nil
	})
	assert.ErrorIs(t, err, boom)
	assert.Equal(t, 10, n)
	n = 0
	require.NoError(t, s.Scan(strings.NewReader("170.10.133.5\n"), func(*Line) error { n++; return nil }), "the Scanner is reusable")
	assert.Equal(t, 1, n)
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

// TestScanNoAllocsPerLine: a scan allocates a fixed number of times (its
// goroutines and channels), whatever the number of lines.
func TestScanNoAllocsPerLine(t *testing.T) {
	hits := []netipPrefix{}
	for _, r := range mailPrefixes() {
		hits = append(hits, r.Prefix)
	}
	var inbound *Inbound
	allocs := func(lines int) float64 {
		var log bytes.Buffer
		require.NoError(t, logtest.Write(&log, lines, 3, hits))
		s := &Scanner{Classifier: mimecastip.Default(), Want: MaskOf(mimecastip.Mimecast, mimecastip.NonSPF), Workers: 2, MaxLine: 8192, Inbound: inbound}
		rd := bytes.NewReader(log.Bytes())
		fn := func(*Line) error { return nil }
		require.NoError(t, s.Scan(rd, fn)) // warm up the buffers
		return testing.AllocsPerRun(5, func() {
			rd.Reset(log.Bytes())
			_ = s.Scan(rd, fn)
		})
	}
	small, big := allocs(2000), allocs(20000)
	assert.LessOrEqual(t, big, small+1, "allocations per scan of 20000 lines against 2000")
	assert.Less(t, small, 20.0)
	inbound = &Inbound{}
	small, big = allocs(2000), allocs(20000)
	assert.LessOrEqual(t, big, small+1, "with Inbound: allocations per scan of 20000 lines against 2000")
	assert.Less(t, small, 20.0, "with Inbound")
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

// TestScanStreams: a line is reported as soon as it is read, so that
// "tail -f mail.log | mimecastip scan" prints as the log grows: the writer
// sends the next line only after the callback saw the previous one.
func TestScanStreams(t *testing.T) {
	pr, pw := io.Pipe()
	seen := make(chan int)
	go func() {
		for i := 1; i <= 3; i++ {
			fmt.Fprintf(pw, "line %d 170.10.133.%d\n", i, i)
			select {
			case n := <-seen:
				if n != i {
					pw.CloseWithError(fmt.Errorf("saw line %d, want %d", n, i))
					return
				}
			case <-time.After(30 * time.Second):
				pw.CloseWithError(errors.New("line not reported before more input came"))
				return
			}
		}
		pw.Close()
	}()
	s := &Scanner{Classifier: mimecastip.Default(), Want: MaskOf(mimecastip.Mimecast)}
	n := 0
	require.NoError(t, s.Scan(pr, func(l *Line) error {
		n++
		seen <- l.Num
		return nil
	}))
	assert.Equal(t, 3, n)
}
