//go:build amd64 && !purego

package logscan

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestMasksAssembly checks both assembly paths (whichever chunkMasks
// uses on this machine) against the portable one.
func TestMasksAssembly(t *testing.T) {
	t.Logf("AVX2: %v", useAVX2)
	r := rand.New(rand.NewPCG(9, 10))
	for words := 1; words < 20; words++ {
		for range 20 {
			buf := randomText(r, 64*words+2)
			wd, wc, wl := make([]uint64, words), make([]uint64, words), make([]uint64, words)
			masksSWAR(buf, wd, wc, wl)
			paths := map[string]func(p *byte, words int, dot4, colon, nl *uint64){"SSE2": masksSSE2}
			if useAVX2 {
				paths["AVX2"] = masksAVX2
			}
			for name, f := range paths {
				gd, gc, gl := make([]uint64, words), make([]uint64, words), make([]uint64, words)
				f(&buf[1], words, &gd[0], &gc[0], &gl[0])
				require.Equal(t, wd, gd, "%s dot4", name)
				require.Equal(t, wc, gc, "%s colon", name)
				require.Equal(t, wl, gl, "%s nl", name)
			}
		}
	}
}

// TestNewlinesAssembly checks both assembly paths of the newline bit map
// against the portable one.
func TestNewlinesAssembly(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	for words := 1; words < 20; words++ {
		for range 20 {
			buf := randomText(r, 64*words)
			want := make([]uint64, words)
			newlinesSWAR(buf, want)
			paths := map[string]func(p *byte, words int, nl *uint64){"SSE2": newlinesSSE2}
			if useAVX2 {
				paths["AVX2"] = newlinesAVX2
			}
			for name, f := range paths {
				got := make([]uint64, words)
				f(&buf[0], words, &got[0])
				require.Equal(t, want, got, name)
			}
		}
	}
}
