package logscan

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/seed-b311f21d/go-mimecastip/cmd/mimecastip/internal/logscan/logtest"
	"github.com/seed-b311f21d/go-mimecastip/mimecastip"
)

// masksRef is the definition of the bit maps, one byte at a time.
func masksRef(data []byte) (dot4, colon, nl []uint64) {
	w := maskWords(len(data))
	dot4, colon, nl = make([]uint64, w), make([]uint64, w), make([]uint64, w)
	isDigit := func(k int) bool { return k >= 0 && k < len(data) && data[k] >= '0' && data[k] <= '9' }
	for k, c := range data {
		b := uint64(1) << (k % 64)
		if c == '.' && isDigit(k-1) && isDigit(k+1) {
			dot4[k/64] |= b
		}
		if c == ':' {
			colon[k/64] |= b
		}
		if c == '\n' {
			nl[k/64] |= b
		}
	}
	return
}

// randomText is text rich in the bytes the masks look at (digits, dots,
// colons, newlines) and in bytes around them ('/', '9'+1, 0x80+'0', 0xff).
func randomText(r *rand.Rand, n int) []byte {
	const alphabet = "0123456789..::\n\n/;@`aAfFgG \x00\x7f\x80\xb0\xb9\xba\xff\xae\xba"
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return b
}

func TestChunkMasks(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for n := range 400 {
		for range 5 {
			data := randomText(r, n)
			d, c, l := masksRef(data)
			w := maskWords(n)
			// stale bits in the maps must be overwritten
			gd, gc, gl := make([]uint64, w+1), make([]uint64, w+1), make([]uint64, w+1)
			for i := range gd {
				gd[i], gc[i], gl[i] = ^uint64(0), ^uint64(0), ^uint64(0)
			}
			chunkMasks(data, gd, gc, gl)
			require.Equal(t, d, gd[:w], "dot4, %d bytes %q", n, data)
			require.Equal(t, c, gc[:w], "colon, %d bytes", n)
			require.Equal(t, l, gl[:w], "nl, %d bytes", n)
		}
	}
}

// TestMasksSWAR checks the portable fast path (used where there is no
// assembly) against the definition, on this machine too.
func TestMasksSWAR(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for words := 1; words < 20; words++ {
		for range 20 {
			buf := randomText(r, 64*words+2)
			d, c, l := masksRef(buf)
			gd, gc, gl := make([]uint64, words), make([]uint64, words), make([]uint64, words)
			masksSWAR(buf, gd, gc, gl)
			// buf[1:] is word 0 of the result: shift the reference by one byte
			for w := range words {
				ref := func(m []uint64) uint64 { return shr(m[w], m[w+1], 1) }
				require.Equal(t, ref(d), gd[w], "dot4 word %d", w)
				require.Equal(t, ref(c), gc[w], "colon word %d", w)
				require.Equal(t, ref(l), gl[w], "nl word %d", w)
			}
		}
	}
}

func TestBits(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for range 2000 {
		n := r.IntN(300)
		m := make([]uint64, maskWords(n)+1)
		var set []int
		for k := range n {
			if r.IntN(20) == 0 {
				m[k/64] |= 1 << (k % 64)
				set = append(set, k)
			}
		}
		if len(m) > 0 {
			m[len(m)-1] |= 1 << 63 // beyond n: never reported
		}
		from, to := r.IntN(n+1), r.IntN(n+1)
		if from > to {
			from, to = to, from
		}
		wantNext, wantPrev, wantCount := -1, -1, 0
		for _, k := range set {
			if k >= from && wantNext < 0 {
				wantNext = k
			}
			if k < to {
				wantPrev = k
			}
			if k >= from && k < to {
				wantCount++
			}
		}
		require.Equal(t, wantNext, nextBit(m, from, n), "nextBit(%d) of %v", from, set)
		require.Equal(t, wantPrev, prevBit(m, to), "prevBit(%d) of %v", to, set)
		require.Equal(t, wantCount, countBits(m, from, to), "countBits(%d, %d) of %v", from, to, set)
	}
}

func benchText(b *testing.B) []byte {
	var log bytes.Buffer
	hits := []netipPrefix{}
	for _, r := range mailPrefixes() {
		hits = append(hits, r.Prefix)
	}
	require.NoError(b, logtest.Write(&log, 2000, 3, hits))
	return log.Bytes()
}

// BenchmarkChunkMasks measures the bit maps of a chunk of generated log.
func BenchmarkChunkMasks(b *testing.B) {
	data := benchText(b)
	w := maskWords(len(data))
	d, c, l := make([]uint64, w), make([]uint64, w), make([]uint64, w)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		chunkMasks(data, d, c, l)
	}
}

// BenchmarkMasksSWAR measures the portable fast path on the same chunk.
func BenchmarkMasksSWAR(b *testing.B) {
	data := benchText(b)
	w := (len(data) - 2) / 64
	d, c, l := make([]uint64, w), make([]uint64, w), make([]uint64, w)
	b.SetBytes(int64(64 * w))
	for b.Loop() {
		masksSWAR(data, d, c, l)
	}
}

// BenchmarkScanChunk measures the scan of one chunk by a worker: bit
// maps, candidates, lookups.
func BenchmarkScanChunk(b *testing.B) {
	data := benchText(b)
	s := &Scanner{Classifier: mimecastip.Default(), Want: MaskOf(mimecastip.Mimecast, mimecastip.NonSPF)}
	c := &chunk{data: data}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		c.sel, c.matches, c.results, c.nls, c.lines = c.sel[:0], c.matches[:0], c.results[:0], 0, 0
		s.scanChunk(c)
	}
}

// TestNear checks near against its definition, bit by bit.
func TestNear(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for range 10000 {
		cur, next := r.Uint64()&r.Uint64(), r.Uint64()&r.Uint64()
		var want uint64
		for k := range 64 {
			for s := 2; s <= 5; s++ {
				j := k + s
				if j < 64 && cur>>j&1 == 1 || j >= 64 && next>>(j-64)&1 == 1 {
					want |= 1 << k
				}
			}
		}
		require.Equal(t, want, near(cur, next), "near(%#x, %#x)", cur, next)
	}
}

// TestNewlines checks the newline bit map (the fast path of this machine
// and the portable one) against the definition.
func TestNewlines(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	for n := range 300 {
		for range 5 {
			data := randomText(r, n)
			_, _, want := masksRef(data)
			got := make([]uint64, maskWords(n)+1)
			for i := range got {
				got[i] = ^uint64(0)
			}
			newlines(data, got)
			require.Equal(t, want, got[:maskWords(n)], "%d bytes", n)
			if full := n / 64; full > 0 {
				swar := make([]uint64, full)
				newlinesSWAR(data[:64*full], swar)
				require.Equal(t, want[:full], swar, "SWAR, %d bytes", n)
			}
		}
	}
}

// BenchmarkV6Marks measures the IPv6 colon marks of a chunk.
func BenchmarkV6Marks(b *testing.B) {
	data := benchText(b)
	w := maskWords(len(data))
	d, c, l := make([]uint64, w), make([]uint64, w), make([]uint64, w)
	chunkMasks(data, d, c, l)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		v6Marks(d, c)
	}
}
