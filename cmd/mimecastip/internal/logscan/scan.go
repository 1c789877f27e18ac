package logscan

import (
	"bytes"
	"errors"
	"io"
	"math/bits"
	"net/netip"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

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
	Matches []Match             // every address in the line (with Inbound: the client address only)
	Results []mimecastip.Result // the classification of each match
	Wanted  int                 // how many matches are of a wanted class
	Format  string              // with Inbound: the name of the line's log format
	Time    []byte              // the line's time stamp as written, or nil (see [Timestamp])
}

// Scanner reads text and reports the lines that hold addresses of the
// wanted classes. Lines are cut into chunks that Workers goroutines scan
// in parallel; the callback runs on the goroutine that called Scan, for
// one line at a time, in input order. A Scanner reuses its buffers across
// calls to Scan; it is not safe for concurrent use.
//
// Memory is bounded whatever the input: 2*Workers+2 chunks of 256 KiB
// (a chunk grows, up to MaxLine bytes, to hold a longer line) with their bit
// maps, plus the matches of the lines in flight. A line longer than
// MaxLine is skipped without being held in memory, and reported.
type Scanner struct {
	Classifier *mimecastip.Classifier
	Want       ClassMask

	// Inbound, when set, restricts each line to the connecting client of
	// an inbound SMTP session (see [Formats]); other lines hold nothing.
	Inbound *Inbound

	// OpenRelay, when set (and Inbound is not), restricts each line to
	// the server of a Postfix smtp delivery that answered "Open relay not
	// allowed" (Mimecast refusing a sender that is not an authorized
	// outbound address); other lines hold nothing.
	OpenRelay bool

	// Workers is the number of scanning goroutines; 0 means GOMAXPROCS,
	// at most MaxWorkers.
	Workers int

	// MaxLine is the longest line, terminator included, that is scanned;
	// 0 means MaxLineLength.
	MaxLine int

	// LongLine is called, in input order between the lines around it,
	// for every line longer than MaxLine, with its number and length.
	// Such lines are skipped; the other lines are still scanned. When
	// LongLine is nil, Scan reads to the end and then returns the first
	// such line as a *LineError wrapping ErrLineTooLong.
	LongLine func(num int, length int64)

	// Doubt is called, in input order, for each line of a known format
	// whose client address cannot be told for sure (a crafted address
	// that imitates a field); such a line selects nothing. When Doubt is
	// nil, Scan reads to the end and then returns the first as a
	// *LineError.
	Doubt func(num int, msg string)

	// Flush, when set, is called after the lines of each chunk have been
	// given to the callback (a chunk is what one read brought, at most
	// MaxLine bytes), so that output can follow a growing log; an error
	// stops Scan like an error of the callback.
	Flush func() error

	pool    []*chunk
	free    chan *chunk
	maxLine int
	stats   Stats
}

// Stats are counts of the last call to Scan.
type Stats struct {
	Lines      int // lines read, skipped ones included
	Recognized int // with Inbound: lines of a known log format (with a client or not)
	// With Inbound: lines of no known layout that name an MTA's SMTP
	// server program (postfix/smtpd, postscreen, sm-mta, sendmail,
	// exim), such as syslog lines with a <PRI> prefix or in RFC 5424
	// layout, whose clients were not read; and the number of the
	// first.
	Unread, FirstUnread int
}

// Stats returns the counts of the last call to Scan.
func (s *Scanner) Stats() Stats { return s.stats }

// MaxWorkers bounds the default number of scanning goroutines, and so the
// memory of the chunks in flight (2*MaxWorkers+2 of MaxLine bytes): one
// reader does not feed more.
const MaxWorkers = 8

// BufferSize is the size of the output buffer the command uses.
const BufferSize = 1 << 20

// MaxLineLength is the default longest line: 1 MiB, newline included.
// Syslog lines are at most a few kB (rsyslog's default is 8 kB).
const MaxLineLength = 1 << 20

// ErrLineTooLong reports a line longer than the Scanner's MaxLine.
var ErrLineTooLong = errors.New("line too long")

// chunk is a run of whole lines read from the input, with what a worker
// found in them.
//
// Line numbers in a chunk count from 1 at its first line: the lines of
// the chunks before it are known only when they have been scanned, and
// the callback loop adds them.
type chunk struct {
	buf  []byte // at most maxLine bytes; starts at chunkSize and grows for a long line
	data []byte // whole lines (the last line of the input may lack its newline)
	nls  int    // newlines in data
	// a line skipped because it is too long, after data (skipLen > 0);
	// its number is nls+1
	skipLen int64
	err     error       // a read error after data and skip (at line nls+1)
	ferr    *LineError  // the first line of a known format that cannot be read
	doubts  []LineError // lines of a known format whose client is in doubt
	lines   int         // lines in data
	known   int         // lines of a known format (with Inbound)
	unread  int         // lines of no known layout that name an MTA program
	unread1 int         // the first of them

	sel     []selected
	matches []Match
	results []mimecastip.Result
	done    chan struct{}

	// bit maps of data (see chunkMasks); cand is dot4 with the colons
	// that may be in IPv6 addresses added
	cand, colon, nl []uint64
}

// chunkSize is the size a chunk starts at: what the two bit maps and
// the data of one chunk keep in a core's cache.
const chunkSize = 256 << 10

type selected struct {
	num, start, end int // line number, data[start:end]
	m0, m1          int // matches[m0:m1]
	wanted          int
	t0, t1          int // data[t0:t1] is the time stamp
	format          int8
}

func (s *Scanner) setup() {
	w := s.Workers
	if w <= 0 {
		w = min(runtime.GOMAXPROCS(0), MaxWorkers)
	}
	ml := s.MaxLine
	if ml <= 0 {
		ml = MaxLineLength
	}
	n := 2*w + 2
	if len(s.pool) == n && s.maxLine == ml {
		return
	}
	s.maxLine = ml
	s.pool = make([]*chunk, n)
	s.free = make(chan *chunk, n)
	for i := range s.pool {
		s.pool[i] = &chunk{buf: make([]byte, min(ml, chunkSize)), done: make(chan struct{}, 1)}
	}
}

// Scan reads r to the end and calls fn for every line holding at least one
// address of a wanted class. It stops at the first error of fn or of r and
// returns it; a read error is wrapped with the line number in a *LineError.
func (s *Scanner) Scan(r io.Reader, fn func(*Line) error) error {
	if s.Inbound != nil {
		if err := s.Inbound.Validate(); err != nil {
			return err
		}
	}
	s.setup()
	workers := len(s.pool)/2 - 1
	for len(s.free) > 0 {
		<-s.free
	}
	for _, c := range s.pool {
		s.free <- c
	}
	// Each worker in turn reads the next chunk (so that its bytes are in
	// the cache of the core that scans them) and queues it for the
	// callback loop, then scans it while another worker reads.
	order := make(chan *chunk, len(s.pool))
	var stop atomic.Bool
	var turn sync.Mutex
	f := &feeder{r: r}
	var wg sync.WaitGroup
	wg.Add(workers)
	for range workers {
		go func() {
			defer wg.Done()
			for {
				turn.Lock()
				if stop.Load() || !f.more() {
					turn.Unlock()
					return
				}
				c := <-s.free
				s.fill(f, c)
				order <- c
				turn.Unlock()
				s.scanChunk(c)
				c.done <- struct{}{}
			}
		}()
	}
	go func() { wg.Wait(); close(order) }()
	var first error
	var long *LineError
	l := &Line{}
	s.stats = Stats{}
	base := 0 // lines before the chunk
	for c := range order {
		<-c.done
		s.stats.Lines += c.lines
		s.stats.Recognized += c.known
		if c.unread > 0 {
			if s.stats.Unread == 0 {
				s.stats.FirstUnread = base + c.unread1
			}
			s.stats.Unread += c.unread
		}
		if c.skipLen > 0 {
			s.stats.Lines++
		}
		if first == nil {
			for _, sl := range c.sel {
				l.Num, l.Text = base+sl.num, c.data[sl.start:sl.end]
				l.Matches, l.Results = c.matches[sl.m0:sl.m1], c.results[sl.m0:sl.m1]
				l.Wanted, l.Format, l.Time = sl.wanted, "", c.data[sl.t0:sl.t1]
				if sl.format >= 0 {
					l.Format = formats[sl.format].Name
				}
				if err := fn(l); err != nil {
					first = err
					stop.Store(true)
					break
				}
			}
		}
		if first == nil && s.Flush != nil && len(c.sel) > 0 {
			if err := s.Flush(); err != nil {
				first = err
				stop.Store(true)
			}
		}
		for i := range c.doubts {
			if first != nil {
				break
			}
			if s.Doubt != nil {
				s.Doubt(base+c.doubts[i].Line, c.doubts[i].Err.Error())
			} else if long == nil {
				e := c.doubts[i]
				e.Line += base
				long = &e
			}
		}
		if first == nil && c.ferr != nil {
			first = &LineError{base + c.ferr.Line, c.ferr.Err}
			stop.Store(true)
		}
		if first == nil && c.skipLen > 0 {
			if s.LongLine != nil {
				s.LongLine(base+c.nls+1, c.skipLen)
			} else if long == nil {
				long = &LineError{base + c.nls + 1, ErrLineTooLong}
			}
		}
		if first == nil && c.err != nil {
			first = &LineError{base + c.nls + 1, c.err}
		}
		base += c.nls
		if c.skipLen > 0 {
			base++
		}
		s.free <- c
	}
	if first == nil && long != nil {
		return long
	}
	return first
}

// feeder is the state of the input between chunks.
type feeder struct {
	r       io.Reader
	pending []byte // the start of a line, at the end of the previous buffer
	rerr    error  // the reader's error (io.EOF at the end)
	started bool   // a chunk of lines was read
	ended   bool   // no chunk follows (a read error)
}

// more reports whether another chunk is to be read.
func (f *feeder) more() bool { return !f.ended && (f.rerr == nil || len(f.pending) > 0) }

// fill reads the next chunk of whole lines of f into c.
func (s *Scanner) fill(f *feeder, c *chunk) {
	r := f.r
	c.data, c.sel, c.matches, c.results = nil, c.sel[:0], c.matches[:0], c.results[:0]
	c.skipLen, c.err, c.ferr, c.lines, c.nls, c.known, c.unread = 0, nil, nil, 0, 0, 0, 0
	c.doubts = c.doubts[:0]
	if len(f.pending) > len(c.buf) {
		c.buf = make([]byte, s.grown(len(c.buf), len(f.pending)))
	}
	n := copy(c.buf, f.pending)
	f.pending = nil
	for {
		// Read until a newline arrives (so that a pipe is scanned as it
		// comes), the buffer is full, or the input ends.
		for f.rerr == nil && n < len(c.buf) {
			k, err := r.Read(c.buf[n:])
			n += k
			if err != nil {
				f.rerr = err
			} else if k > 0 && bytes.IndexByte(c.buf[n-k:n], '\n') >= 0 {
				break
			}
		}
		if f.rerr != nil || n < len(c.buf) || len(c.buf) >= s.maxLine || bytes.LastIndexByte(c.buf[:n], '\n') >= 0 {
			break
		}
		// A full buffer with no newline, shorter than MaxLine: grow it.
		b := make([]byte, s.grown(len(c.buf), n+1))
		copy(b, c.buf[:n])
		c.buf = b
	}
	if f.rerr != nil {
		c.data = c.buf[:n] // all that is left; the last line may lack its newline
		if !f.started && s.Inbound != nil {
			s.Inbound.header(c.data)
		}
		if f.rerr != io.EOF {
			c.err = f.rerr
		}
		f.ended = true
		return
	}
	if last := bytes.LastIndexByte(c.buf[:n], '\n'); last >= 0 {
		c.data, f.pending = c.buf[:last+1], c.buf[last+1:n]
		if !f.started && s.Inbound != nil {
			s.Inbound.header(c.data)
		}
		f.started = true
		return
	}
	// The buffer is full and holds no newline: a line longer than
	// MaxLine. Read on to its end without keeping it.
	length := int64(n)
	for f.rerr == nil {
		k, err := r.Read(c.buf)
		if i := bytes.IndexByte(c.buf[:k], '\n'); i >= 0 {
			length += int64(i + 1)
			f.pending = c.buf[i+1 : k] // read only by the next chunk's copy
			if err != nil {
				f.rerr = err
			}
			break
		}
		length += int64(k)
		if err != nil {
			f.rerr = err
		}
	}
	c.skipLen = length
	if f.rerr != nil && f.rerr != io.EOF {
		c.err = f.rerr
		f.ended = true
	}
}

// grown returns the size of a chunk buffer of size n grown to hold at
// least need bytes: doubled, at most maxLine.
func (s *Scanner) grown(n, need int) int {
	for n < need {
		n *= 2
	}
	return min(n, s.maxLine)
}

// scanChunk finds the selected lines of c.
func (s *Scanner) scanChunk(c *chunk) {
	if s.Inbound == nil && !s.OpenRelay {
		s.scanAddresses(c)
		return
	}
	data := c.data
	nlm := c.masks(len(data))
	newlines(data, nlm)
	num, start := 1, 0
	for w, m := range nlm {
		for ; m != 0; m &= m - 1 {
			end := (w<<6 | bits.TrailingZeros64(m)) + 1
			s.line1(c, num, start, end)
			num++
			start = end
		}
	}
	c.nls = num - 1
	if start < len(data) {
		s.line1(c, num, start, len(data)) // the last line, without a newline
		num++
	}
	c.lines = num - 1
}

// masks returns c.nl for n bytes of data, the other bit maps grown with
// it.
func (c *chunk) masks(n int) []uint64 {
	words := maskWords(n)
	if cap(c.nl) < words {
		c.cand, c.colon, c.nl = make([]uint64, words), make([]uint64, words), make([]uint64, words)
	}
	return c.nl[:words]
}

// scanAddresses finds the lines of c that hold an address of a wanted
// class, visiting only the runs that [chunkMasks] marks: for each such
// line the addresses are those [Find] returns.
func (s *Scanner) scanAddresses(c *chunk) {
	data := c.data
	n := len(data)
	nlm := c.masks(n)
	words := len(nlm)
	cand, colon := c.cand[:words], c.colon[:words]
	chunkMasks(data, cand, colon, nlm)
	v6Marks(cand, colon)
	nls := 0
	for _, x := range nlm {
		nls += bits.OnesCount64(x)
	}
	c.nls = nls
	c.lines = c.nls
	if n > 0 && data[n-1] != '\n' {
		c.lines++
	}
	counted, num := 0, 1 // the line at data[counted] is line num
	start, end := 0, 0   // the line being read: data[start:end]
	next := 0            // candidates before next are in runs already read
	m0 := 0              // the line's matches are c.matches[m0:]
	for w, m := range cand {
		for ; m != 0; m &= m - 1 {
			p := w<<6 | bits.TrailingZeros64(m)
			if p < next {
				continue
			}
			if p >= end {
				if len(c.matches) > m0 && s.classify(c, 0, start, end, m0, -1, -1, -1) {
					num += countBits(nlm, counted, start)
					counted = start
					c.sel[len(c.sel)-1].num = num
				}
				start = prevBit(nlm, p) + 1
				if end = nextBit(nlm, p, n) + 1; end == 0 {
					end = n
				}
				m0 = len(c.matches)
			}
			var j int
			c.matches, j = runAt(c.matches, data[start:end], p-start)
			next = start + j
		}
	}
	if len(c.matches) > m0 && s.classify(c, 0, start, end, m0, -1, -1, -1) {
		num += countBits(nlm, counted, start)
		c.sel[len(c.sel)-1].num = num
	}
}

func (s *Scanner) line1(c *chunk, num, start, end int) {
	text := c.data[start:end]
	m0 := len(c.matches)
	format := int8(-1)
	t0, t1 := -1, -1
	if s.Inbound != nil {
		var cl client
		ok := s.Inbound.clientTo(&cl, text)
		if cl.mine {
			c.known++
		} else if namesMTA(text) {
			if c.unread == 0 {
				c.unread1 = num
			}
			c.unread++
		}
		if !ok {
			return
		}
		if cl.err != "" {
			if c.ferr == nil {
				c.ferr = &LineError{num, errors.New(cl.err)}
			}
			return
		}
		if cl.doubt != "" {
			if len(c.doubts) < 64 {
				c.doubts = append(c.doubts, LineError{num, errors.New(cl.doubt)})
			}
			return
		}
		c.matches = append(c.matches, cl.m)
		format, t0, t1 = cl.format, cl.t0, cl.t1
	} else if s.OpenRelay {
		cl, ok := openRelay(text)
		if !ok {
			return
		}
		c.matches = append(c.matches, cl.m)
		format = cl.format
	} else {
		c.matches = Find(c.matches, text)
	}
	s.classify(c, num, start, end, m0, format, t0, t1)
}

// classify looks up c.matches[m0:], the addresses of line num
// (c.data[start:end]), and selects the line when one is wanted; it
// reports whether it did.
func (s *Scanner) classify(c *chunk, num, start, end, m0 int, format int8, t0, t1 int) bool {
	text := c.data[start:end]
	if len(c.matches) == m0 {
		return false
	}
	wanted := 0
	for _, m := range c.matches[m0:] {
		res := s.Classifier.Lookup(m.Addr)
		if s.Want.Has(res.Class) {
			wanted++
		}
		c.results = append(c.results, res)
	}
	if wanted == 0 {
		c.matches = c.matches[:m0]
		c.results = c.results[:m0]
		return false
	}
	if t0 < 0 {
		t0 = prefixLen(text)
		t1 = t0 + len(Timestamp(text[t0:]))
	}
	c.sel = append(c.sel, selected{num: num, start: start, end: end, m0: m0, m1: len(c.matches), wanted: wanted,
		t0: start + t0, t1: start + t1, format: format})
	return true
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
	Distinct  int // distinct wanted addresses
	Lines     int // lines holding at least one of them
}

// Counter totals the wanted addresses of lines by class and regions.
type Counter struct {
	Want  ClassMask // the classes to count; normally the Scanner's Want
	Lines int       // lines holding at least one wanted address
	Total int       // wanted addresses
	// Distinct is the number of distinct wanted addresses (an
	// IPv4-mapped IPv6 address is its IPv4 address), up to Max
	// (0 means MaxDistinct); Overflow reports that more were seen and
	// not counted as distinct.
	Distinct int
	Max      int
	Overflow bool

	groups  []Group
	lastSeq []int
	seq     int
	seen    map[netip.Addr]struct{}
}

// Add counts the wanted addresses of l.
func (c *Counter) Add(l *Line) {
	c.seq++
	c.Lines++
	for i, r := range l.Results {
		if !c.Want.Has(r.Class) {
			continue
		}
		c.Total++
		g := c.group(r.Class, r.Regions)
		c.groups[g].Addresses++
		key := l.Matches[i].Addr.Unmap() // ::ffff:1.2.3.4 is 1.2.3.4
		if _, ok := c.seen[key]; !ok {
			max := c.Max
			if max <= 0 {
				max = MaxDistinct
			}
			if c.seen == nil {
				c.seen = make(map[netip.Addr]struct{})
			}
			if len(c.seen) < max {
				c.seen[key] = struct{}{}
				c.groups[g].Distinct++
				c.Distinct++
			} else {
				c.Overflow = true
			}
		}
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
