//go:build amd64 && !purego

package logscan

// masksSSE2 is masksSWAR sixteen bytes at a time (SSE2, which every
// amd64 processor has).
//
//go:noescape
func masksSSE2(p *byte, words int, dot4, colon, nl *uint64)

// masksAVX2 is masksSWAR thirty-two bytes at a time (AVX2).
//
//go:noescape
func masksAVX2(p *byte, words int, dot4, colon, nl *uint64)

// newlinesAVX2 and newlinesSSE2 write the newline masks of words
// 64-byte blocks.
//
//go:noescape
func newlinesAVX2(p *byte, words int, nl *uint64)

//go:noescape
func newlinesSSE2(p *byte, words int, nl *uint64)

func hasAVX2() bool

var useAVX2 = hasAVX2()

func masksFast(buf []byte, dot4, colon, nl []uint64) {
	n := len(nl)
	_, _, _ = buf[64*n+1], dot4[n-1], colon[n-1]
	if useAVX2 {
		masksAVX2(&buf[1], n, &dot4[0], &colon[0], &nl[0])
	} else {
		masksSSE2(&buf[1], n, &dot4[0], &colon[0], &nl[0])
	}
}

func newlinesFast(buf []byte, nl []uint64) {
	n := len(nl)
	_ = buf[64*n-1]
	if useAVX2 {
		newlinesAVX2(&buf[0], n, &nl[0])
	} else {
		newlinesSSE2(&buf[0], n, &nl[0])
	}
}
