package logscan

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/seed-b311f21d/go-mimecastip/mimecastip"
)

// perLine is the reference for a Scanner without Inbound: Find on each
// line, the line selected when an address is wanted.
func perLine(text []byte, want ClassMask) []string {
	var out []string
	for i, line := range bytes.SplitAfter(text, []byte{'\n'}) {
		if len(line) == 0 {
			continue
		}
		ms := findByteLoop(nil, line) // the byte-at-a-time loop, not Find's run reading
		if f := Find(nil, line); !slices.Equal(f, ms) {
			panic(fmt.Sprintf("Find(%q) = %v, the byte loop finds %v", line, f, ms))
		}
		wanted := 0
		for _, m := range ms {
			if want.Has(mimecastip.Default().Lookup(m.Addr).Class) {
				wanted++
			}
		}
		if wanted > 0 {
			out = append(out, fmt.Sprint(i+1, " ", wanted, " ", ms, " ", string(line)))
		}
	}
	return out
}

func scanned(t testing.TB, s *Scanner, text []byte) []string {
	var out []string
	require.NoError(t, s.Scan(bytes.NewReader(text), func(l *Line) error {
		for _, m := range l.Matches {
			if m.Start < 0 || m.End > len(l.Text) {
				t.Fatalf("match %v outside line %q", m, l.Text)
			}
			if a, err := netip.ParseAddr(string(l.Text[m.Start:m.End])); err != nil || a != m.Addr {
				t.Fatalf("line %q: text %q at %d:%d is not %v", l.Text, l.Text[m.Start:m.End], m.Start, m.End, m.Addr)
			}
		}
		out = append(out, fmt.Sprint(l.Num, " ", l.Wanted, " ", l.Matches, " ", string(l.Text)))
		return nil
	}))
	return out
}

// randomLog mixes address-like fragments, separators and newlines,
// including every delimiter case of Find next to line ends.
func randomLog(rng *rand.Rand, n int) []byte {
	frags := []string{"170.10.133.5", "207.211.30.45", "8.8.8.8", "1170.10.133.5", "170.10.133.5.6", "2001:db8::1",
		"::ffff:170.10.133.5", "IPv6:", "ip6:", "[", "]", ":", "::", ".", "q", "x", "v6", "ip", "0", "12", "255",
		" ", " ", " ", "\n", "\n", "\r\n", ",", "=", "a.b", "1.2.3", "fe80::1%eth0", "Nov 22 07:14:45 ",
		// IPv6 without "::" (seven colons two to five bytes apart), near misses, clocks
		"2001:db8:0:0:1:2:3:4", "1:2:3:4:5:6:7:8", "2001:0db8:85a3:0000:0000:8a2e:0370:7334", "a:bc:def:1234:5:6:7:8", "abcde:1:2:3:4:5:6:7", "1:2:3:4:5:6:7",
		"0:0:0:0:0:ffff:170.10.133.5", "2a01:4f8:c0c:1::", "07:14:45.123", "dead:beef", "f:", ":f", "1234", "1.2.3a", "5.7.1f", "e"}
	var b bytes.Buffer
	for i := 0; i < n; i++ {
		b.WriteString(frags[rng.IntN(len(frags))])
	}
	return b.Bytes()
}

// TestScanSameAsPerLine: the Scanner (chunks cut anywhere, several
// workers) selects the lines, numbers, addresses and positions that Find
// line by line does, on random text full of delimiter cases.
func TestScanSameAsPerLine(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	want := MaskOf(mimecastip.Mimecast, mimecastip.Foreign)
	for iter := 0; iter < 300; iter++ {
		text := randomLog(rng, 50+rng.IntN(3000))
		longest := 0
		for _, l := range bytes.SplitAfter(text, []byte{'\n'}) {
			longest = max(longest, len(l))
		}
		// chunks of a few lines: every line fits, chunk ends fall anywhere
		s := &Scanner{Classifier: mimecastip.Default(), Want: want, Workers: 1 + rng.IntN(3), MaxLine: longest + 1 + rng.IntN(200)}
		ref := perLine(text, want)
		got := scanned(t, s, text)
		require.Equal(t, ref, got, "input %q", text)
	}
}

func FuzzScanSameAsPerLine(f *testing.F) {
	f.Add([]byte("a 170.10.133.5\nIPv6:2001:db8::1\n170.10.133.5q\n1.2.3.4.\n5"))
	want := MaskOf(mimecastip.Mimecast, mimecastip.NonSPF, mimecastip.Foreign)
	s := &Scanner{Classifier: mimecastip.Default(), Want: want, Workers: 2}
	f.Fuzz(func(t *testing.T, text []byte) {
		if len(text) > 1<<16 {
			return
		}
		if ref, got := perLine(text, want), scanned(t, s, text); !slicesEqual(ref, got) {
			t.Fatalf("input %q:\nper line %q\nchunk    %q", text, ref, got)
		}
	})
}

func slicesEqual(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestScanGrowsChunks: lines longer than the size chunks start at are
// read whole (the chunk grows, up to MaxLine), also when such a line
// starts at the end of another chunk; a line over MaxLine is skipped and
// reported with its number, and the lines after it are still read.
func TestScanGrowsChunks(t *testing.T) {
	var b bytes.Buffer
	sizes := []int{10, chunkSize - 30, 5, chunkSize + 7, 3*chunkSize + 11, 20, MaxLineLength + 5, 40, 2*chunkSize - 1, 7}
	for i, n := range sizes {
		fmt.Fprintf(&b, "%d 170.10.133.%d %s end 207.211.30.%d\n", i+1, i, strings.Repeat("x", n), i)
	}
	text := b.Bytes()
	want := MaskOf(mimecastip.Mimecast)
	var long []int
	s := &Scanner{Classifier: mimecastip.Default(), Want: want, Workers: 2,
		LongLine: func(num int, length int64) { long = append(long, num) }}
	got := scanned(t, s, text)
	var ref []string
	for _, l := range perLine(text, want) {
		if !strings.HasPrefix(l, "7 ") { // line 7 is over MaxLine
			ref = append(ref, l)
		}
	}
	require.Len(t, ref, len(sizes)-1)
	require.Equal(t, ref, got)
	require.Equal(t, []int{7}, long)
	require.Equal(t, len(sizes), s.Stats().Lines)
}

var nl = []byte{'\n'}
