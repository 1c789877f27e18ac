package mimecastip

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"net/netip"
	"strings"
)

// ParseAddr parses s in any of the forms mail logs and headers carry, the
// forms [LookupString] accepts:
//
//	192.0.2.1              IPv4
//	2001:db8::1            IPv6, also with a zone (fe80::1%eth0)
//	::ffff:192.0.2.1       IPv4-mapped IPv6 (returned as is; lookups unmap it)
//	IPv6:2001:db8::1       the RFC 5321 address literal tag
//	[192.0.2.1], [2001:db8::1], [IPv6:2001:db8::1]
//	192.0.2.1:25, [2001:db8::1]:25
//
// A port must be decimal, 0-65535. Anything else is an error that quotes
// s; no surrounding space is trimmed. It allocates nothing for an address
// without a zone, except for the error.
func ParseAddr(s string) (netip.Addr, error) {
	if a, ok := parseQuad(s); ok {
		return a, nil
	}
	if a, ok := parseQuadForms(s); ok {
		return a, nil
	}
	if a, ok := parseAddr(s); ok {
		return a, nil
	}
	return netip.Addr{}, &addrError{s}
}

type addrError struct{ in string }

// Error implements the error interface.
func (e *addrError) Error() string {
	return fmt.Sprintf("mimecastip: %q is not an IP address (want a.b.c.d, an IPv6 address, [address] or address:port)", e.in)
}

// parseAddr accepts the forms documented on LookupString. It picks the form
// before parsing, so no failed attempt allocates an error.
func parseAddr(s string) (netip.Addr, bool) {
	h := s
	if len(h) > 0 && h[0] == '[' {
		end := strings.IndexByte(h, ']')
		if end < 0 {
			return netip.Addr{}, false
		}
		if rest := h[end+1:]; rest != "" && (rest[0] != ':' || !validPort(rest[1:])) {
			return netip.Addr{}, false
		}
		h = trimTag(h[1:end])
	} else if colons := strings.Count(h, ":"); colons == 1 {
		i := strings.IndexByte(h, ':')
		if !validPort(h[i+1:]) {
			return netip.Addr{}, false
		}
		h = h[:i]
		if strings.IndexByte(h, '.') < 0 {
			return netip.Addr{}, false
		}
	} else if colons > 1 {
		h = trimTag(h)
	}
	a, err := netip.ParseAddr(h)
	if err != nil {
		return netip.Addr{}, false
	}
	return a, true
}

func trimTag(h string) string {
	if len(h) > 5 && strings.EqualFold(h[:5], "IPv6:") {
		return h[5:]
	}
	return h
}

func validPort(p string) bool {
	if p == "" || len(p) > 5 {
		return false
	}
	n := 0
	for i := 0; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return false
		}
		n = n*10 + int(p[i]-'0')
	}
	return n <= 65535
}

// parseQuadForms parses the forms of a dotted quad with a port or
// brackets: a.b.c.d:port, [a.b.c.d] and [a.b.c.d]:port, where a.b.c.d is
// exactly what netip.ParseAddr accepts as IPv4 and port what validPort
// accepts. For these it returns what parseAddr returns; for any other
// input it returns false and parseAddr decides (FuzzParseAddrFast checks
// both halves, with parseQuad).
func parseQuadForms(s string) (netip.Addr, bool) {
	h := s
	if len(h) > 0 && h[0] == '[' {
		end := strings.IndexByte(h, ']')
		if end < 0 {
			return netip.Addr{}, false
		}
		if rest := h[end+1:]; rest != "" && (rest[0] != ':' || !validPort(rest[1:])) {
			return netip.Addr{}, false
		}
		h = h[1:end]
	} else if i := strings.IndexByte(h, ':'); i >= 0 {
		if !validPort(h[i+1:]) {
			return netip.Addr{}, false
		}
		h = h[:i]
	} else {
		return netip.Addr{}, false
	}
	return parseQuad(h)
}

// parseQuad parses s when it is exactly a dotted quad as netip.ParseAddr
// accepts it: four decimal fields 0-255, no leading zeros, nothing else.
//
// It has no branch that depends on the digits. A loop over the bytes
// (netip's way) mispredicts the end of most fields on random addresses,
// because field lengths vary; on the VM of bench/compare that costs about
// half of its 27 ns. Instead, the 7 to 15 bytes are loaded into two
// 64-bit words and handled 8 at a time (SWAR):
//
//  1. mark the dots, and check that every other byte is a digit;
//  2. gather the dot marks into a 16-bit mask and take the three dot
//     positions from it with trailing-zero counts;
//  3. read each field as its last three digits (bytes before the field
//     are weighted 0 by the field's length) and check the length (1-3),
//     the range (at most 255) and leading zeros (a value below the least
//     one of its length) with sign tests.
//
// All checks are folded into one test at the end.
func parseQuad(s string) (netip.Addr, bool) {
	n := uint(len(s))
	if n-7 > 15-7 {
		return netip.Addr{}, false
	}
	// lo holds bytes 0-7, hi bytes 8-15, little-endian; bytes past the
	// end of s are 0.
	var lo, hi uint64
	if n >= 8 {
		lo = load8(s)
		hi = load8(s[n-8:]) >> ((16 - n) * 8) // n == 8: a shift by 64 gives 0
	} else { // n == 7: two overlapping 4-byte loads
		lo = uint64(load4(s)) | uint64(load4(s[3:]))<<24
	}
	dl, dh := dotBytes(lo), dotBytes(hi)

	// 1. Dots become '0' and bytes past the end '0' too, then every byte
	// must be a digit.
	past := zeros &^ lowBytes(n) // '0' in the bytes of lo past the end
	yl := (lo + dl>>6) | past    // '.'+2 == '0'
	yh := (hi + dh>>6) | zeros&^lowBytes(n-8)
	notDigit := ((yl + 0x46*ones) | (yl - zeros) | yl | (yh + 0x46*ones) | (yh - zeros) | yh) & high

	// 2. The dot positions; bit n stands for the end of the last field.
	m := moveMask(dl) | moveMask(dh)<<8 | 1<<n
	e1 := uint(bits.TrailingZeros32(m))
	m &= m - 1
	e2 := uint(bits.TrailingZeros32(m))
	m &= m - 1
	e3 := uint(bits.TrailingZeros32(m))
	m &= m - 1 // exactly three dots: only bit n is left

	// 3. The digit values, 3 bytes to the right so that the three bytes
	// before a field that ends at e are buf[e:e+3].
	var buf [32]byte
	binary.LittleEndian.PutUint64(buf[3:], yl-zeros)
	binary.LittleEndian.PutUint64(buf[11:], yh-zeros)
	v1, bad1 := quadField(&buf, e1, e1)
	v2, bad2 := quadField(&buf, e2, e2-e1-1)
	v3, bad3 := quadField(&buf, e3, e3-e2-1)
	v4, bad4 := quadField(&buf, n, n-e3-1)
	if (bad1|bad2|bad3|bad4) < 0 || notDigit != 0 || m != 1<<n {
		return netip.Addr{}, false
	}
	return netip.AddrFrom4([4]byte{byte(v1), byte(v2), byte(v3), byte(v4)}), true
}

// quadField returns the value of the field of length l that ends at e, and
// a negative bad when l is not 1-3 or the value is over 255 or has a
// leading zero.
func quadField(buf *[32]byte, e, l uint) (v uint, bad int) {
	k := l & 3
	v = uint(buf[(e+2)&31]) + fieldTens[k]*uint(buf[(e+1)&31]) + fieldHundreds[k]*uint(buf[e&31])
	return v, int(l-1) | int(3-l) | int(255-v) | int(v-minField[k])
}

// Weights of the last three digits of a field, and the least value without
// a leading zero, by the field's length.
var (
	fieldTens     = [4]uint{0, 0, 10, 10}
	fieldHundreds = [4]uint{0, 0, 0, 100}
	minField      = [4]uint{0, 0, 10, 100}
)

const (
	ones  = 0x0101010101010101
	high  = 0x80 * ones
	low7  = 0x7f * ones
	dots  = '.' * ones
	zeros = '0' * ones
)

// load8 and load4 read s[:8] and s[:4] little-endian (the compiler merges
// the byte loads into one).
func load8(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

func load4(s string) uint32 {
	_ = s[3]
	return uint32(s[0]) | uint32(s[1])<<8 | uint32(s[2])<<16 | uint32(s[3])<<24
}

// dotBytes returns x with 0x80 in every byte that is '.' and 0 in the
// others (exactly: no carry crosses a byte).
func dotBytes(x uint64) uint64 {
	t := x ^ dots
	return ^((t&low7 + low7) | t | low7)
}

// moveMask gathers the top bits of the 8 bytes of z, which has no other
// bits set, into bits 0-7: the multiplication moves bit 8k+7 (shifted to
// 8k) to bit 56+k, and no other product reaches those bits.
func moveMask(z uint64) uint32 {
	return uint32((z >> 7) * 0x0102040810204080 >> 56)
}

// lowBytes returns a mask of the low n bytes of a word (all of them when n
// is 8 or more, none when n, as a uint, wrapped below zero).
func lowBytes(n uint) uint64 {
	if n > 64 { // wrapped: n-8 for n < 8
		return 0
	}
	return ^(^uint64(0) << (n * 8))
}
