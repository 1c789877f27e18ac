package trace

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
)

// DefaultMaxHeaderBytes is the size limit of one message's header block
// when [Reader.MaxHeaderBytes] is 0: 256 KiB, counting line endings.
// (Postfix's header_size_limit is 100 KiB, so mail Postfix stored fits.)
const DefaultMaxHeaderBytes = 256 << 10

// Field is one header field of a message.
type Field struct {
	Name string // the field name as written, without the colon
	// Value is the unfolded value: the line breaks of folded lines are
	// removed (the white space that starts a continuation line is kept)
	// and leading and trailing white space is trimmed.
	Value string
	Line  int // line of the field's first line in the input (1-based)
}

// Message is the header block of one message.
type Message struct {
	Index int // position of the message in its input, 1-based
	// Line is the line of the message's first line in the input: the mbox
	// "From " line, or else its first header field.
	Line int
	// Envelope is the mbox separator line without its "From " (the
	// envelope sender and date), or "" outside an mbox.
	Envelope string
	Fields   []Field // in the order of the input, the topmost first
}

// Values returns the values of the fields named name (case-insensitive),
// topmost first.
func (m *Message) Values(name string) []string {
	var out []string
	for _, f := range m.Fields {
		if strings.EqualFold(f.Name, name) {
			out = append(out, f.Value)
		}
	}
	return out
}

// Error is a parse error. It names the message (1-based) and the line of
// the input where the problem is.
type Error struct {
	Message int
	Line    int
	Msg     string
}

// Error formats e as "message N, line L: what".
func (e *Error) Error() string {
	return fmt.Sprintf("message %d, line %d: %s", e.Message, e.Line, e.Msg)
}

// Reader reads the header blocks of the messages in an input: one message
// in RFC 5322 form (an .eml file, or headers pasted without a body), or
// every message of an mbox file (messages that start with a "From " line
// at the start of the input or after an empty line, or with a "From "
// line that carries its date anywhere else, as in a header block without
// an empty line after it). Line endings may be CRLF, LF or, when the
// first line ends so, CR alone. Bodies are skipped without being kept in memory; a header
// block larger than MaxHeaderBytes is an error, so memory is bounded
// whatever the input.
//
// After an error in one message of an mbox, Next goes on with the next
// message; outside an mbox, the error ends the input.
type Reader struct {
	// MaxHeaderBytes limits the size of one header block, line endings
	// included; 0 means [DefaultMaxHeaderBytes].
	MaxHeaderBytes int

	br        *bufio.Reader
	line      int  // lines read so far
	index     int  // messages begun so far
	started   bool // the first line was read
	mbox      bool
	pending   []byte // a "From " line read while skipping a body, or nil
	havePend  bool
	pendLine  int
	done      bool
	stickyErr error
}

// NewReader returns a Reader on r.
func NewReader(r io.Reader) *Reader {
	return &Reader{br: bufio.NewReaderSize(r, 16<<10)}
}

func (r *Reader) limit() int {
	if r.MaxHeaderBytes > 0 {
		return r.MaxHeaderBytes
	}
	return DefaultMaxHeaderBytes
}

// errTooLong is readLine's answer for a line over its budget.
var errTooLong = errors.New("line too long")

// readLine reads one line without its line ending into buf (reset), at
// most max bytes of it (a longer line gives errTooLong, with the rest of
// the line consumed). n is the number of bytes the line took in the input.
// At the end of the input it returns io.EOF with no line.
func (r *Reader) readLine(buf *[]byte, max int) (line []byte, n int, err error) {
	*buf = (*buf)[:0]
	tooLong := false
	for {
		frag, e := r.br.ReadSlice('\n')
		n += len(frag)
		if !tooLong {
			if len(*buf)+len(frag) > max+2 { // +2: the line ending does not count
				tooLong = true
			} else {
				*buf = append(*buf, frag...)
			}
		}
		if e == bufio.ErrBufferFull {
			continue
		}
		if e != nil && e != io.EOF {
			return nil, n, e
		}
		if n == 0 {
			return nil, 0, io.EOF
		}
		r.line++
		if tooLong {
			return nil, n, errTooLong
		}
		l := *buf
		l = bytes.TrimSuffix(l, []byte("\n"))
		l = bytes.TrimSuffix(l, []byte("\r"))
		if len(l) > max {
			return nil, n, errTooLong
		}
		return l, n, nil
	}
}

// skipLine consumes one line and reports whether it was empty and its
// first bytes (up to 256, without the line ending), enough to spot and
// keep a "From " separator.
func (r *Reader) skipLine() (empty bool, head []byte, err error) {
	const keep = 256
	var h []byte
	total := 0
	for {
		frag, e := r.br.ReadSlice('\n')
		if room := keep - len(h); room > 0 {
			h = append(h, frag[:min(room, len(frag))]...)
		}
		total += len(frag)
		if e == bufio.ErrBufferFull {
			continue
		}
		if e != nil && e != io.EOF {
			return false, nil, e
		}
		if total == 0 {
			return false, nil, io.EOF
		}
		r.line++
		h = bytes.TrimSuffix(h, []byte("\n"))
		h = bytes.TrimSuffix(h, []byte("\r"))
		return len(h) == 0 && total <= 2, h, nil
	}
}

// envelopeLine is an mbox separator with its ctime date ("From
// a@example.com Tue Feb 14 22:35:40 2023"). Writers quote a body line
// that starts with "From " (">From "), so such a line ends the message
// even without an empty line before it, rather than hiding the next
// message in this one's body.
var envelopeLine = regexp.MustCompile(`^From \S+ +(Mon|Tue|Wed|Thu|Fri|Sat|Sun) +(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) +[0-9]`)

// skipBody skips to the next "From " line after an empty line, or to a
// line that is an mbox separator with its date, (mbox) or to the end of
// the input, and keeps that line pending.
func (r *Reader) skipBody() error {
	if !r.mbox {
		r.done = true
		return nil
	}
	prevEmpty := true // the empty line that ended the header block
	for {
		empty, head, err := r.skipLine()
		if err == io.EOF {
			r.done = true
			return nil
		}
		if err != nil {
			return err
		}
		if bytes.HasPrefix(head, []byte("From ")) && (prevEmpty || envelopeLine.Match(head)) {
			// The envelope is informational: its first 256 bytes
			// are kept.
			r.pending, r.havePend, r.pendLine = head, true, r.line
			return nil
		}
		prevEmpty = empty
	}
}

// Next returns the header block of the next message, or io.EOF after the
// last. A parse error is an *[Error]; an error of the underlying reader
// is returned as it is and ends the input.
func (r *Reader) Next() (*Message, error) {
	if r.stickyErr != nil {
		return nil, r.stickyErr
	}
	if r.done {
		return nil, io.EOF
	}
	m, err := r.next()
	if err != nil {
		var pe *Error
		if !errors.As(err, &pe) {
			r.stickyErr = err
			return nil, err
		}
		if r.mbox {
			if serr := r.skipBody(); serr != nil {
				r.stickyErr = serr
			}
		} else {
			r.done = true
		}
		return nil, err
	}
	return m, nil
}

func (r *Reader) next() (*Message, error) {
	max := r.limit()
	var buf []byte
	m := &Message{}
	var line []byte
	var err error
	if r.havePend {
		r.havePend = false
		r.index++
		m.Index, m.Line = r.index, r.pendLine
		m.Envelope = strings.TrimPrefix(string(r.pending), "From ")
	} else {
		if !r.started && r.line == 0 {
			r.detectCR()
		}
		// Blank lines before the first message are not a message.
		for {
			line, _, err = r.readLine(&buf, max)
			if err == io.EOF {
				r.done = true
				return nil, io.EOF
			}
			if err == errTooLong {
				r.index++
				return nil, &Error{r.index, r.line, fmt.Sprintf("line longer than the header limit of %d bytes", max)}
			}
			if err != nil {
				return nil, err
			}
			if !r.started && r.line == 1 {
				// A UTF-8 byte-order mark, as Windows tools save files.
				line = bytes.TrimPrefix(line, []byte("\xef\xbb\xbf"))
			}
			if len(bytes.TrimSpace(line)) != 0 || r.started {
				break
			}
		}
		r.index++
		m.Index, m.Line = r.index, r.line
		if !r.started {
			r.started = true
			r.mbox = bytes.HasPrefix(line, []byte("From "))
		}
		if r.mbox {
			if !bytes.HasPrefix(line, []byte("From ")) {
				return nil, &Error{m.Index, r.line, "mbox message does not start with a \"From \" line"}
			}
			m.Envelope = string(line[5:])
		} else {
			// line is the first header line.
			size := len(line) + 2
			return r.fields(m, line, size, max, &buf)
		}
	}
	line, n, err := r.readLine(&buf, max)
	if err == io.EOF {
		r.done = true
		return m, nil
	}
	if err == errTooLong {
		return nil, &Error{m.Index, r.line, fmt.Sprintf("header block larger than %d bytes", max)}
	}
	if err != nil {
		return nil, err
	}
	return r.fields(m, line, n, max, &buf)
}

// detectCR switches the reader to CR-only line endings (classic Mac OS
// files) when the first line break of the input is a lone CR: every CR
// is then a line break (and an LF right after a CR is dropped). Without
// this, the whole input would read as one header field, and the fields
// after the first (the trail) would be lost.
func (r *Reader) detectCR() {
	b, _ := r.br.Peek(r.br.Size())
	cr := bytes.IndexByte(b, '\r')
	if cr < 0 || cr+1 >= len(b) && len(b) == r.br.Size() {
		return // no CR, or one at the end of the window: undecided, as LF
	}
	lf := bytes.IndexByte(b, '\n')
	if lf >= 0 && lf <= cr+1 {
		return // LF or CRLF endings
	}
	r.br = bufio.NewReaderSize(&crReader{src: r.br}, 16<<10)
}

// crReader turns CR line breaks into LF ones, dropping an LF that
// follows a CR (so that CRLF stays one line break).
type crReader struct {
	src    io.Reader
	lastCR bool
}

func (c *crReader) Read(p []byte) (int, error) {
	for {
		n, err := c.src.Read(p)
		w := 0
		for _, b := range p[:n] {
			switch {
			case b == '\n' && c.lastCR:
				c.lastCR = false
				continue
			case b == '\r':
				c.lastCR = true
				b = '\n'
			default:
				c.lastCR = false
			}
			p[w] = b
			w++
		}
		if w > 0 || err != nil || n == 0 {
			return w, err
		}
	}
}

// fields parses the header block whose first line is first (size bytes
// of it consumed so far), then skips the body.
func (r *Reader) fields(m *Message, first []byte, size, max int, buf *[]byte) (*Message, error) {
	line := first
	var cur *strings.Builder
	var curName string
	var curLine int
	flush := func() {
		if cur != nil {
			m.Fields = append(m.Fields, Field{Name: curName, Value: strings.TrimSpace(cur.String()), Line: curLine})
			cur = nil
		}
	}
	for {
		if len(line) == 0 { // the end of the header block
			flush()
			if err := r.skipBody(); err != nil {
				return nil, err
			}
			return m, nil
		}
		if _, _, isField := splitField(line); r.mbox && !isField && bytes.HasPrefix(line, []byte("From ")) {
			// The next message's separator: this message has no
			// body (and no empty line after its header).
			flush()
			r.pending, r.havePend, r.pendLine = append([]byte(nil), line[:min(len(line), 256)]...), true, r.line
			return m, nil
		}
		switch {
		case line[0] == ' ' || line[0] == '\t':
			if cur == nil {
				return nil, &Error{m.Index, r.line, "continuation line before the first header field"}
			}
			cur.Write(line)
		default:
			name, value, ok := splitField(line)
			if !ok {
				return nil, &Error{m.Index, r.line, fmt.Sprintf("not a header field (want NAME: value): %q", clip(line))}
			}
			flush()
			cur = &strings.Builder{}
			cur.Write(value)
			curName, curLine = name, r.line
		}
		next, n, err := r.readLine(buf, max-size)
		size += n
		if err == io.EOF {
			flush()
			r.done = true
			return m, nil
		}
		if err == errTooLong || size > max {
			return nil, &Error{m.Index, r.line, fmt.Sprintf("header block larger than %d bytes", max)}
		}
		if err != nil {
			return nil, err
		}
		line = next
	}
}

// splitField splits "Name: value". The name is printable US-ASCII
// without the colon; white space before the colon (obsolete syntax) is
// allowed and dropped.
func splitField(line []byte) (string, []byte, bool) {
	i := bytes.IndexByte(line, ':')
	if i <= 0 {
		return "", nil, false
	}
	name := bytes.TrimRight(line[:i], " \t")
	if len(name) == 0 {
		return "", nil, false
	}
	for _, c := range name {
		if c < 33 || c > 126 {
			return "", nil, false
		}
	}
	return string(name), line[i+1:], true
}

// clip shortens a quoted input line for an error message.
func clip(b []byte) string {
	const n = 60
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}

// ParseHeader parses the header block of one message held in b (an .eml
// file, with or without its body; an mbox "From " line first is allowed).
// Only the first message of b is read.
func ParseHeader(b []byte) (*Message, error) {
	m, err := NewReader(bytes.NewReader(b)).Next()
	if err == io.EOF {
		return nil, &Error{1, 1, "no header fields"}
	}
	return m, err
}
