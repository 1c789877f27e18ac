package logscan

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"slices"

	"github.com/seed-b311f21d/go-mimecastip/mimecastip"
	"github.com/seed-b311f21d/go-mimecastip/regions"
)

// ClassMask is a set of [mimecastip.Class] values.
type ClassMask uint8

// MaskOf returns the mask holding cs.
func MaskOf(cs ...mimecastip.Class) ClassMask {
	var m ClassMask
	for _, c := range cs {
		m |= 1 << c
	}
	return m
}

// Has reports whether c is in m.
func (m ClassMask) Has(c mimecastip.Class) bool { return m&(1<<c) != 0 }

// Line is a line holding at least one address of a wanted class. Its
// slices are reused: they are valid only during the callback.
type Line struct {
	Num     int                 // 1-based line number
	Text    []byte              // the line as read, with its line terminator (none on a last line without one)
	Matches []Match             // every address in the line
	Results []mimecastip.Result // the classification of each match
	Wanted  int                 // how many matches are of a wanted class
}

// Scanner reads text and reports the lines that hold addresses of the
// wanted classes. A Scanner reuses its buffers across lines and calls to
// Scan; it is not safe for concurrent use.
type Scanner struct {
	Classifier *mimecastip.Classifier
	Want       ClassMask

	br   *bufio.Reader
	long []byte
	line Line
}

// BufferSize is the read buffer of a Scanner.
const BufferSize = 1 << 20

// MaxLineLength is the longest line Scan accepts.
const MaxLineLength = 64 << 20

// ErrLineTooLong is returned by Scan for a line longer than MaxLineLength.
var ErrLineTooLong = errors.New("line too long")

// Scan reads r to the end and calls fn for every line holding at least one
// address of a wanted class. It stops at the first error of fn or of r and
// returns it; a read error is wrapped with the line number in a *LineError.
func (s *Scanner) Scan(r io.Reader, fn func(*Line) error) error {
	if s.br == nil {
		s.br = bufio.NewReaderSize(r, BufferSize)
	} else {
		s.br.Reset(r)
	}
	n := 0
	for {
		text, err := s.br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			s.long = append(s.long[:0], text...)
			for errors.Is(err, bufio.ErrBufferFull) {
				text, err = s.br.ReadSlice('\n')
				s.long = append(s.long, text...)
				if len(s.long) > MaxLineLength {
					return &LineError{n + 1, ErrLineTooLong}
				}
			}
			text = s.long
		}
		if len(text) > 0 {
			n++
			if e := s.line1(n, text, fn); e != nil {
				return e
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return &LineError{n + 1, err}
		}
	}
}

func (s *Scanner) line1(n int, text []byte, fn func(*Line) error) error {
	l := &s.line
	l.Matches = Find(l.Matches[:0], text)
	if len(l.Matches) == 0 {
		return nil
	}
	l.Results = l.Results[:0]
	l.Wanted = 0
	for _, m := range l.Matches {
		res := s.Classifier.Lookup(m.Addr)
		if s.Want.Has(res.Class) {
			l.Wanted++
		}
		l.Results = append(l.Results, res)
	}
	if l.Wanted == 0 {
		return nil
	}
	l.Num, l.Text = n, text
	return fn(l)
}

// LineError is a read error at a line.
type LineError struct {
	Line int
	Err  error
}

func (e *LineError) Error() string { return "line " + itoa(e.Line) + ": " + e.Err.Error() }

// Unwrap returns the underlying error.
func (e *LineError) Unwrap() error { return e.Err }

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			break
		}
	}
	return string(b[i:])
}

// TrimEOL returns text without its trailing "\n" or "\r\n".
func TrimEOL(text []byte) []byte {
	text = bytes.TrimSuffix(text, []byte{'\n'})
	return bytes.TrimSuffix(text, []byte{'\r'})
}

// Group is a count of addresses of one class published by one set of
// regions (an empty set for foreign addresses Mimecast does not publish).
type Group struct {
	Class     mimecastip.Class
	Regions   regions.Set
	Addresses int // occurrences of wanted addresses
	Lines     int // lines holding at least one of them
}

// Counter totals the wanted addresses of lines by class and regions.
type Counter struct {
	Want  ClassMask // the classes to count; normally the Scanner's Want
	Lines int       // lines holding at least one wanted address
	Total int       // wanted addresses

	groups  []Group
	lastSeq []int
	seq     int
}

// Add counts the wanted addresses of l.
func (c *Counter) Add(l *Line) {
	c.seq++
	c.Lines++
	for _, r := range l.Results {
		if !c.Want.Has(r.Class) {
			continue
		}
		c.Total++
		g := c.group(r.Class, r.Regions)
		c.groups[g].Addresses++
		if c.lastSeq[g] != c.seq {
			c.lastSeq[g] = c.seq
			c.groups[g].Lines++
		}
	}
}

func (c *Counter) group(cl mimecastip.Class, set regions.Set) int {
	for i, g := range c.groups {
		if g.Class == cl && g.Regions == set {
			return i
		}
	}
	c.groups = append(c.groups, Group{Class: cl, Regions: set})
	c.lastSeq = append(c.lastSeq, 0)
	return len(c.groups) - 1
}

// Groups returns the totals, ordered by class (mimecast, non-spf,
// foreign) and then by region set.
func (c *Counter) Groups() []Group {
	out := slices.Clone(c.groups)
	rank := func(cl mimecastip.Class) int {
		if cl == mimecastip.Foreign {
			return 9
		}
		return int(cl)
	}
	slices.SortFunc(out, func(a, b Group) int {
		if d := rank(a.Class) - rank(b.Class); d != 0 {
			return d
		}
		return int(a.Regions) - int(b.Regions)
	})
	return out
}
