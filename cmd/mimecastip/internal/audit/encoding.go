package audit

import (
	"bufio"
	"io"
	"unicode/utf16"
	"unicode/utf8"
)

// decodeBOM returns r as UTF-8 text: UTF-16 (with a byte-order mark, or
// without one when the text starts with an ASCII character, as allowlists
// do) is converted as it is read, a UTF-8 byte-order mark dropped. The
// error is always nil: read errors come from the returned reader.
func decodeBOM(r io.Reader) (io.Reader, error) {
	br := bufio.NewReaderSize(r, 64*1024)
	head, _ := br.Peek(3)
	switch {
	case len(head) >= 3 && head[0] == 0xEF && head[1] == 0xBB && head[2] == 0xBF:
		br.Discard(3)
		return br, nil
	case len(head) >= 2 && head[0] == 0xFF && head[1] == 0xFE:
		br.Discard(2)
		return &utf16Reader{r: br, le: true}, nil
	case len(head) >= 2 && head[0] == 0xFE && head[1] == 0xFF:
		br.Discard(2)
		return &utf16Reader{r: br}, nil
	case len(head) >= 2 && head[0] != 0 && head[0] < 0x80 && head[1] == 0:
		return &utf16Reader{r: br, le: true}, nil
	case len(head) >= 2 && head[0] == 0 && head[1] != 0 && head[1] < 0x80:
		return &utf16Reader{r: br}, nil
	}
	return br, nil
}

// utf16Reader decodes UTF-16 to UTF-8 as it is read, in constant memory.
// An unpaired surrogate becomes U+FFFD; so does an odd final byte.
type utf16Reader struct {
	r   *bufio.Reader
	le  bool
	out []byte // decoded, not yet returned
	err error
}

func (u *utf16Reader) unit() (uint16, error) {
	b0, err := u.r.ReadByte()
	if err != nil {
		return 0, err
	}
	b1, err := u.r.ReadByte()
	if err != nil {
		if err == io.EOF {
			return 0xFFFD, nil // odd length: one stray byte
		}
		return 0, err
	}
	if u.le {
		return uint16(b0) | uint16(b1)<<8, nil
	}
	return uint16(b0)<<8 | uint16(b1), nil
}

func (u *utf16Reader) Read(p []byte) (int, error) {
	for len(u.out) < len(p) && u.err == nil && len(u.out) < 4096 {
		c, err := u.unit()
		if err != nil {
			u.err = err
			break
		}
		r := rune(c)
		if utf16.IsSurrogate(r) {
			if r < 0xDC00 {
				// a high surrogate wants a low one next
				if b, _ := u.r.Peek(2); len(b) == 2 {
					var c2 uint16
					if u.le {
						c2 = uint16(b[0]) | uint16(b[1])<<8
					} else {
						c2 = uint16(b[0])<<8 | uint16(b[1])
					}
					if d := utf16.DecodeRune(r, rune(c2)); d != utf8.RuneError {
						u.r.Discard(2)
						r = d
					} else {
						r = utf8.RuneError
					}
				} else {
					r = utf8.RuneError
				}
			} else {
				r = utf8.RuneError
			}
		}
		u.out = utf8.AppendRune(u.out, r)
	}
	n := copy(p, u.out)
	u.out = u.out[:copy(u.out, u.out[n:])]
	if n == 0 && u.err != nil {
		return 0, u.err
	}
	return n, nil
}
