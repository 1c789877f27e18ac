package logscan

import (
	"bufio"
	"errors"
	"io"
	"unicode/utf8"
)

// ErrOddUTF16 reports UTF-16 text that ends in the middle of a 16-bit
// code unit.
var ErrOddUTF16 = errors.New("UTF-16 text ends in the middle of a character (odd number of bytes)")

// utf16Order returns the byte order of UTF-16 text at the start of b
// and the length of its byte-order mark: a BOM (FF FE little-endian,
// FE FF big-endian), or, without one, text whose first characters are
// ASCII with a zero byte after (or before) each (Windows tools and
// PowerShell's Out-File write UTF-16 CSV files and logs). ok is false for
// anything else, a run of zero bytes (a log truncated under its writer)
// included.
func utf16Order(b []byte) (bigEndian bool, bom int, ok bool) {
	if len(b) >= 2 && b[0] == 0xFF && b[1] == 0xFE {
		return false, 2, true
	}
	if len(b) >= 2 && b[0] == 0xFE && b[1] == 0xFF {
		return true, 2, true
	}
	n := len(b) &^ 1
	if n < 8 {
		return false, 0, false
	}
	le, be := true, true
	for i := 0; i < n; i += 2 {
		lo, hi := b[i], b[i+1]
		le = le && hi == 0 && lo != 0 && lo < 0x80
		be = be && lo == 0 && hi != 0 && hi < 0x80
	}
	switch {
	case le:
		return false, 0, true
	case be:
		return true, 0, true
	}
	return false, 0, false
}

// utf16Reader transcodes UTF-16 text to UTF-8; an unpaired surrogate
// becomes U+FFFD, as in Go strings.
type utf16Reader struct {
	r     io.Reader
	be    bool
	in    [16 << 10]byte
	carry int // bytes of an incomplete code unit at the start of in
	hi    rune
	out   []byte
	err   error
}

// maybeUTF16 returns a reader of br's text in UTF-8 when it is UTF-16
// (see utf16Order), or br.
func maybeUTF16(br *bufio.Reader) io.Reader {
	// Look at what has arrived without waiting for more (a pipe that
	// follows a log must not be held up).
	head, _ := br.Peek(2)
	if n := min(br.Buffered(), 64); n > len(head) {
		head, _ = br.Peek(n)
	}
	be, bom, ok := utf16Order(head)
	if !ok {
		return br
	}
	br.Discard(bom)
	return &utf16Reader{r: br, be: be}
}

func (u *utf16Reader) Read(p []byte) (int, error) {
	for len(u.out) == 0 {
		if u.err != nil {
			return 0, u.err
		}
		n, err := u.r.Read(u.in[u.carry:])
		n += u.carry
		even := n &^ 1
		u.out = u.out[:0]
		for i := 0; i < even; i += 2 {
			v := rune(u.in[i]) | rune(u.in[i+1])<<8
			if u.be {
				v = rune(u.in[i])<<8 | rune(u.in[i+1])
			}
			u.unit(v)
		}
		u.carry = copy(u.in[:], u.in[even:n])
		if err != nil {
			if u.hi != 0 {
				u.out = utf8.AppendRune(u.out, utf8.RuneError)
				u.hi = 0
			}
			u.err = err
			if err == io.EOF && u.carry > 0 {
				u.err = ErrOddUTF16
			}
		}
	}
	n := copy(p, u.out)
	u.out = u.out[n:]
	return n, nil
}

func (u *utf16Reader) unit(v rune) {
	switch {
	case v >= 0xD800 && v < 0xDC00: // high surrogate
		if u.hi != 0 {
			u.out = utf8.AppendRune(u.out, utf8.RuneError)
		}
		u.hi = v
		return
	case v >= 0xDC00 && v < 0xE000: // low surrogate
		if u.hi != 0 {
			u.out = utf8.AppendRune(u.out, (u.hi-0xD800)<<10|(v-0xDC00)+0x10000)
			u.hi = 0
			return
		}
		v = utf8.RuneError
	}
	if u.hi != 0 {
		u.out = utf8.AppendRune(u.out, utf8.RuneError)
		u.hi = 0
	}
	if v < utf8.RuneSelf {
		u.out = append(u.out, byte(v))
		return
	}
	u.out = utf8.AppendRune(u.out, v)
}
