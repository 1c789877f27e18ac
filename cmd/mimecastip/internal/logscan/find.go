// Package logscan finds IPv4 and IPv6 addresses in lines of log text with
// a hand-written byte scanner (no regular expressions, no allocation per
// line) and selects the lines that hold addresses of wanted classes.
// A [Scanner] cuts its input into chunks that several goroutines scan, in
// bounded memory; [Decompress] reads gzip, bzip2, xz and zstd input;
// [Inbound] restricts each line to the connecting client of an inbound
// SMTP session in the mail log formats of [Formats].
//
// # What counts as an address
//
// An address is a maximal run of address characters that is delimited on
// both sides:
//
//   - IPv4: four decimal octets 0-255 without leading zeros. The byte
//     before must not be a digit or '.', so "1170.10.133.5" holds no
//     address; a letter before is fine ("x170.10.133.5", "h[1.2.3.4]",
//     "client=1.2.3.4"). The byte after must not be a letter or digit, and
//     a '.' after must not be followed by a digit: "170.10.133.5.6" (an OID
//     or version string) holds no address, but "from 170.10.133.5." does.
//     A port or prefix length after it ("1.2.3.4:25", "1.2.3.4/24") is
//     fine.
//   - IPv6: the usual text forms, "::" compression and a trailing dotted
//     IPv4 part (::ffff:1.2.3.4) included, not glued to a word on either
//     side ("Foo::Bar" is not an address). The RFC 5321 tag "IPv6:" (as in
//     "[IPv6:2001:db8::1]") and the SPF tag "ip6:" are skipped; a zone ("%eth0") ends the address;
//     one trailing ':' or '.' (end of a sentence, "addr: message") is
//     dropped.
//
// IPv4-mapped IPv6 addresses are returned as written; classifiers unmap
// them. This matches grepcidr on ordinary log lines; grepcidr also
// finds 170.10.133.5 in "1170.10.133.5" and ignores an address followed by
// a full stop.
package logscan

import (
	"encoding/binary"
	"math/bits"
	"net/netip"
)

// Match is one address found in a line: its value and its position.
type Match struct {
	Addr       netip.Addr
	Start, End int // line[Start:End] is the address text
}

// character classes
const (
	cDigit = 1 << iota // 0-9
	cHex               // a-f A-F
	cColon             // :
	cDot               // .
	cWord              // other letters and '_'

	cRun = cDigit | cHex | cColon | cDot
)

var class = func() (t [256]uint8) {
	for c := '0'; c <= '9'; c++ {
		t[c] = cDigit
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = cWord
		t[c-'a'+'A'] = cWord
	}
	for c := 'a'; c <= 'f'; c++ {
		t[c] = cHex
		t[c-'a'+'A'] = cHex
	}
	t[':'] = cColon
	t['.'] = cDot
	t['_'] = cWord
	return
}()

// Find appends the addresses in line to dst and returns the extended slice.
// It allocates only when dst must grow.
func Find(dst []Match, line []byte) []Match {
	n := len(line)
	// Every address holds a '.' (IPv4, or IPv6 with a dotted tail) or a
	// ':' (IPv6): jump from one to the next, eight bytes at a time, then
	// back up to the start of its run of address characters.
	for i := 0; i < n; {
		p := nextDotColon(line, i)
		if p >= n {
			break
		}
		// A '.' not between two digits is in no IPv4 address (nor in the
		// dotted tail of an IPv6 one, which its colons find): skip it
		// without reading its run. Another '.' or ':' of the same run
		// still brings the whole run in.
		if line[p] == '.' && (p == 0 || p+1 >= n || class[line[p-1]] != cDigit || class[line[p+1]] != cDigit) {
			i = p + 1
			continue
		}
		// p is the first '.' or ':' of its run that is not skipped (the
		// runs before were read to their ends), so a ':' that ends its
		// run is the run's only colon, with no usable '.' before it: no
		// address ("QID: ", "]: ").
		if line[p] == ':' && (p+1 >= n || class[line[p+1]]&cRun == 0) {
			i = p + 1
			continue
		}
		dst, i = runAt(dst, line, p)
	}
	return dst
}

// runAt reads the run of address characters around line[p] (a '.' or
// ':'), appends the addresses in it to dst and returns the extended slice
// and the index after the run. A run gives the same addresses whichever
// of its bytes p is.
func runAt(dst []Match, line []byte, p int) ([]Match, int) {
	n := len(line)
	if line[p] == '.' {
		// The common case, a run that is one IPv4 address and nothing
		// else: parse it at once (the general reading below gives the
		// same match).
		i := p
		for i > 0 && class[line[i-1]] == cDigit {
			i--
		}
		if i < p && (i == 0 || class[line[i-1]]&cRun == 0) {
			a, e, ok := parse4(line, i)
			if ok && (e == n || class[line[e]]&(cRun|cWord) == 0) {
				return append(dst, Match{a, i, e}), e
			}
			if !ok {
				// A run of digits and dots that does not start with an
				// address ("5.7.1", "2.0.0", "1.2.3.999") holds none.
				j := p
				for j < n && class[line[j]]&(cDigit|cDot) != 0 {
					j++
				}
				if j == n || class[line[j]]&cRun == 0 {
					return dst, j
				}
			}
		}
	}
	i := p
	for i > 0 && class[line[i-1]]&cRun != 0 {
		i--
	}
	j, colons, dots, double := i, 0, 0, false
	for ; j < n; j++ {
		c := class[line[j]]
		if c&cRun == 0 {
			break
		}
		if c == cColon {
			colons++
			if j > i && line[j-1] == ':' {
				double = true
			}
		} else if c == cDot {
			dots++
		}
	}
	// An IPv6 address has "::" or seven colons (a timestamp has two).
	if colons >= 7 || double && colons >= 2 {
		if m, ok := find6(line, i, j); ok {
			return append(dst, m), j
		}
	}
	if dots >= 3 {
		dst = find4(dst, line, i, j)
	}
	return dst, j
}

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// nextDotColon returns the index of the first '.' or ':' in line[i:], or
// len(line), reading eight bytes at a time.
func nextDotColon(line []byte, i int) int {
	for ; i+8 <= len(line); i += 8 {
		x := binary.LittleEndian.Uint64(line[i:])
		d, c := x^('.'*lsb), x^(':'*lsb)
		// the lowest set bit marks the first zero byte of d or c (borrows
		// only make higher bits wrong)
		if m := ((d-lsb)&^d | (c-lsb)&^c) & msb; m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
	}
	for ; i < len(line); i++ {
		if line[i] == '.' || line[i] == ':' {
			return i
		}
	}
	return len(line)
}

func isWord(c byte) bool { return class[c]&(cWord|cHex|cDigit) != 0 }

// find6 tries the run line[i:j] as one IPv6 address.
func find6(line []byte, i, j int) (Match, bool) {
	start := i
	if i > 0 && isWord(line[i-1]) {
		// "IPv6:2001:db8::1" (RFC 5321) or "ip6:2001:db8::/32" (SPF): the
		// run starts at the '6' of the tag.
		if j-i > 2 && line[i] == '6' && line[i+1] == ':' && tagBefore(line, i) {
			start = i + 2
		} else {
			return Match{}, false
		}
	}
	if j < len(line) && class[line[j]]&cWord != 0 {
		return Match{}, false
	}
	end := j
	a, ok := parse6(line[start:end])
	if !ok && end-start > 2 && (line[end-1] == ':' || line[end-1] == '.') {
		end--
		a, ok = parse6(line[start:end])
	}
	if !ok {
		return Match{}, false
	}
	return Match{a, start, end}, true
}

func lower(c byte) byte { return c | 0x20 }

// tagBefore reports whether "IPv" or "ip" (a whole word) ends at line[i].
func tagBefore(line []byte, i int) bool {
	k := i
	if k >= 1 && lower(line[k-1]) == 'v' {
		k--
	}
	if k < 2 || lower(line[k-2]) != 'i' || lower(line[k-1]) != 'p' {
		return false
	}
	return k == 2 || !isWord(line[k-3])
}

// find4 appends the IPv4 addresses in the run line[i:j].
func find4(dst []Match, line []byte, i, j int) []Match {
	for k := i; k < j; {
		if class[line[k]] != cDigit || k > 0 && class[line[k-1]]&(cDigit|cDot) != 0 {
			k++
			continue
		}
		a, e, ok := parse4(line, k)
		if ok && e < len(line) {
			c := line[e]
			if isWord(c) || c == '.' && e+1 < len(line) && class[line[e+1]] == cDigit {
				ok = false
			}
		}
		if ok {
			dst = append(dst, Match{a, k, e})
			k = e
			continue
		}
		// Skip the rest of this digit-and-dot run: no address can start
		// inside it.
		for k < j && class[line[k]]&(cDigit|cDot) != 0 {
			k++
		}
	}
	return dst
}

// parse4 parses a dotted quad at line[k:] and returns it and the index
// after it: four octets 0-255 of one to three digits, without leading
// zeros.
func parse4(line []byte, k int) (netip.Addr, int, bool) {
	x, e, ok := scanV4(line, k)
	if !ok {
		return netip.Addr{}, 0, false
	}
	return addrFrom4(x), e, true
}

// scanV4 reads the four decimal octets of an IPv4 address (no leading
// zeros) at line[k:] and returns it and where it ends.
func scanV4(line []byte, k int) (x uint32, end int, ok bool) {
	for o := 0; o < 4; o++ {
		if o > 0 {
			if k >= len(line) || line[k] != '.' {
				return 0, 0, false
			}
			k++
		}
		// one to three digits, no leading zero, at most 255
		if k >= len(line) || !isDigit(line[k]) {
			return 0, 0, false
		}
		v := uint32(line[k] - '0')
		k++
		if k < len(line) && isDigit(line[k]) {
			if v == 0 {
				return 0, 0, false
			}
			v = v*10 + uint32(line[k]-'0')
			k++
			if k < len(line) && isDigit(line[k]) {
				v = v*10 + uint32(line[k]-'0')
				k++
				if k < len(line) && isDigit(line[k]) || v > 255 {
					return 0, 0, false
				}
			}
		}
		x = x<<8 | v
	}
	return x, k, true
}

// addrFrom4 is netip.AddrFrom4 of the address x.
func addrFrom4(x uint32) netip.Addr {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], x) // one store, that the load of AddrFrom4 reads back
	return netip.AddrFrom4(b)
}

func hexVal(c byte) (int, bool) {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0'), true
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10, true
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10, true
	}
	return 0, false
}

// parse6 parses s, all of it, as an IPv6 address (without zone or brackets).
func parse6(s []byte) (netip.Addr, bool) {
	var ip [16]byte
	ellipsis := -1
	if len(s) >= 2 && s[0] == ':' && s[1] == ':' {
		ellipsis = 0
		s = s[2:]
		if len(s) == 0 {
			return netip.IPv6Unspecified(), true
		}
	}
	i := 0
	for i < 16 {
		off, acc := 0, 0
		for off < len(s) {
			v, ok := hexVal(s[off])
			if !ok {
				break
			}
			if off == 4 {
				return netip.Addr{}, false
			}
			acc = acc<<4 + v
			off++
		}
		if off == 0 {
			return netip.Addr{}, false
		}
		if off < len(s) && s[off] == '.' {
			if ellipsis < 0 && i != 12 || i+4 > 16 {
				return netip.Addr{}, false
			}
			a, e, ok := parse4(s, 0)
			if !ok || e != len(s) {
				return netip.Addr{}, false
			}
			b := a.As4()
			copy(ip[i:], b[:])
			i += 4
			s = s[e:]
			break
		}
		ip[i], ip[i+1] = byte(acc>>8), byte(acc)
		i += 2
		s = s[off:]
		if len(s) == 0 {
			break
		}
		if s[0] != ':' {
			return netip.Addr{}, false
		}
		s = s[1:]
		if len(s) == 0 {
			return netip.Addr{}, false
		}
		if s[0] == ':' {
			if ellipsis >= 0 {
				return netip.Addr{}, false
			}
			ellipsis = i
			s = s[1:]
			if len(s) == 0 {
				break
			}
		}
	}
	if len(s) != 0 {
		return netip.Addr{}, false
	}
	if i < 16 {
		if ellipsis < 0 {
			return netip.Addr{}, false
		}
		n := 16 - i
		for j := i - 1; j >= ellipsis; j-- {
			ip[j+n] = ip[j]
		}
		clear(ip[ellipsis : ellipsis+n])
	} else if ellipsis >= 0 {
		return netip.Addr{}, false
	}
	return netip.AddrFrom16(ip), true
}
