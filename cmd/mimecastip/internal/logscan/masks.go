package logscan

import (
	"encoding/binary"
	"math/bits"
)

// Bit maps of a chunk: bit k%64 of word k/64 describes data[k].
//
//   - dot4: data[k] is a '.' between two digits (every IPv4 address
//     holds three);
//   - colon: data[k] is a ':';
//   - nl: data[k] is a '\n'.
//
// chunkMasks fills them for all of data, reading it once, sixteen bytes
// at a time where the machine can (masks_amd64.s); the candidates of
// [findChunk] are derived from them.

// maskWords returns the number of words the bit maps of n bytes need.
func maskWords(n int) int { return (n + 63) / 64 }

// chunkMasks fills dot4, colon and nl (each at least maskWords(len(data))
// long) for data.
func chunkMasks(data []byte, dot4, colon, nl []uint64) {
	n := len(data)
	words := maskWords(n)
	if words == 0 {
		return
	}
	_, _, _ = dot4[words-1], colon[words-1], nl[words-1]
	// Words 1 .. hi-1 have a byte before and after them in data: the
	// fast path reads data[64w-1 : 64w+65].
	hi := 1
	if n > 64 {
		hi = (n - 1) / 64
	}
	if hi > 1 {
		masksFast(data[64-1:64*hi+1], dot4[1:hi], colon[1:hi], nl[1:hi])
	} else {
		hi = 1
	}
	masksBytes(data, 0, 1, dot4, colon, nl)
	masksBytes(data, hi, words, dot4, colon, nl)
}

// newlines fills nl (at least maskWords(len(data)) long) with the
// newline bit map of data.
func newlines(data []byte, nl []uint64) {
	full := len(data) / 64
	if full > 0 {
		newlinesFast(data[:64*full], nl[:full])
	}
	if full < maskWords(len(data)) {
		var l uint64
		for k := 64 * full; k < len(data); k++ {
			if data[k] == '\n' {
				l |= 1 << (k & 63)
			}
		}
		nl[full] = l
	}
}

// newlinesSWAR is the portable newlinesFast: buf holds len(nl) words of
// 64 bytes.
func newlinesSWAR(buf []byte, nl []uint64) {
	_ = buf[64*len(nl)-1]
	for w := range nl {
		var l uint64
		for k := 0; k < 64; k += 8 {
			x := binary.LittleEndian.Uint64(buf[64*w+k:])
			l |= gather(zeroBytes(x^('\n'*lsb))) << k
		}
		nl[w] = l
	}
}

// masksBytes fills words lo .. hi-1 of the bit maps one byte at a time.
func masksBytes(data []byte, lo, hi int, dot4, colon, nl []uint64) {
	for w := lo; w < hi; w++ {
		var d, c, l uint64
		end := min(64*w+64, len(data))
		for k := 64 * w; k < end; k++ {
			b := uint64(1) << (k & 63)
			switch data[k] {
			case '.':
				if k > 0 && k+1 < len(data) && class[data[k-1]] == cDigit && class[data[k+1]] == cDigit {
					d |= b
				}
			case ':':
				c |= b
			case '\n':
				l |= b
			}
		}
		dot4[w], colon[w], nl[w] = d, c, l
	}
}

// masksSWAR is the portable fast path: buf holds a byte, then len(nl)
// words of 64 bytes, then a byte; it fills one word of each bit map per
// 64 bytes, eight bytes at a time.
func masksSWAR(buf []byte, dot4, colon, nl []uint64) {
	_ = buf[64*len(nl)+1]
	for w := range nl {
		var d, c, l uint64
		for k := 0; k < 64; k += 8 {
			o := 64*w + k + 1 // buf[o] is the first byte of the group
			x := binary.LittleEndian.Uint64(buf[o:])
			xm := binary.LittleEndian.Uint64(buf[o-1:])
			xp := binary.LittleEndian.Uint64(buf[o+1:])
			d |= gather(zeroBytes(x^('.'*lsb))&digitBytes(xm)&digitBytes(xp)) << k
			c |= gather(zeroBytes(x^(':'*lsb))) << k
			l |= gather(zeroBytes(x^('\n'*lsb))) << k
		}
		dot4[w], colon[w], nl[w] = d, c, l
	}
}

// zeroBytes sets the high bit of each zero byte of x, and only those.
func zeroBytes(x uint64) uint64 {
	const low7 = ^uint64(msb)
	return ^((x&low7 + low7) | x) & msb
}

// digitBytes sets the high bit of each byte of x that is an ASCII digit.
func digitBytes(x uint64) uint64 {
	lo7 := x &^ msb
	ge := lo7 + (0x80-'0')*lsb // high bit: lo7 >= '0'
	le := (0x80+'9')*lsb - lo7 // high bit: lo7 <= '9'
	return ge & le &^ x & msb
}

// gather packs the high bits of the eight bytes of m (nothing else set)
// into the low eight bits, byte 0 first.
func gather(m uint64) uint64 {
	return ((m >> 7) * 0x0102040810204080) >> 56
}

// shr returns the bits of the stream (cur, then next) from s on: bit k of
// the result is bit k+s of the stream, 0 < s < 64.
func shr(cur, next uint64, s uint) uint64 { return cur>>s | next<<(64-s) }

// near returns the bits of the stream (cur, then next) that have a set
// bit two to five places after them.
func near(cur, next uint64) uint64 {
	x := cur>>2 | cur>>3 | next<<62 | next<<61
	return x | x>>2 | next<<60 | next<<59
}

// v6Marks adds to cand the colons that may be in an IPv6 address: the
// first of "::", or a colon followed within two to five bytes by another
// that is followed within two to five bytes by a third (eight groups of
// one to four hex digits hold seven colons so spaced). A clock
// ("07:14:45") has neither.
func v6Marks(cand, colon []uint64) {
	w := len(colon)
	at := func(i int) uint64 {
		if i < w {
			return colon[i]
		}
		return 0
	}
	cur, next := at(0), at(1)
	t1 := cur & near(cur, next) // colons with another two to five bytes on
	for i := range colon {
		next2 := at(i + 2)
		t1n := next & near(next, next2)
		if cur != 0 {
			cand[i] |= cur&shr(cur, next, 1) | t1&near(t1, t1n)
		}
		cur, next, t1 = next, next2, t1n
	}
}

// nextBit returns the index of the first set bit at or after from in m
// (a bit map of n bits), or -1.
func nextBit(m []uint64, from, n int) int {
	if from >= n {
		return -1
	}
	w := from >> 6
	x := m[w] >> (from & 63)
	if x != 0 {
		if i := from + bits.TrailingZeros64(x); i < n {
			return i
		}
		return -1
	}
	for w++; w < len(m) && w<<6 < n; w++ {
		if m[w] != 0 {
			if i := w<<6 + bits.TrailingZeros64(m[w]); i < n {
				return i
			}
			return -1
		}
	}
	return -1
}

// prevBit returns the index of the last set bit before i in m, or -1.
func prevBit(m []uint64, i int) int {
	if i <= 0 {
		return -1
	}
	i--
	w := i >> 6
	x := m[w] << (63 - i&63)
	if x != 0 {
		return i - bits.LeadingZeros64(x)
	}
	for w--; w >= 0; w-- {
		if m[w] != 0 {
			return w<<6 + 63 - bits.LeadingZeros64(m[w])
		}
	}
	return -1
}

// countBits returns the number of set bits in m at indexes [from, to).
func countBits(m []uint64, from, to int) int {
	if from >= to {
		return 0
	}
	wf, wt := from>>6, (to-1)>>6
	lo := ^uint64(0) << (from & 63)
	hi := ^uint64(0) >> (63 - (to-1)&63)
	if wf == wt {
		return bits.OnesCount64(m[wf] & lo & hi)
	}
	n := bits.OnesCount64(m[wf]&lo) + bits.OnesCount64(m[wt]&hi)
	for w := wf + 1; w < wt; w++ {
		n += bits.OnesCount64(m[w])
	}
	return n
}
