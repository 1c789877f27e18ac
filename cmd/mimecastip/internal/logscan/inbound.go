package logscan

import (
	"bytes"
	"fmt"
	"net/netip"
	"strings"
)

// Inbound selects, in each line, the address of the client that connected
// to this MTA from outside (an inbound SMTP session), in the log formats
// of [Formats]. Other lines, and the other addresses of a selected line
// (the server's own, a relay=, a HELO literal), hold nothing. Loopback
// clients (a content filter's return hop, local submission) never count.
//
// An Inbound is given to one [Scanner]; its state is the layout of a CSV
// file that names its columns in a header (Microsoft 365 message trace),
// read from the first lines of each input.
type Inbound struct {
	// Format is the name of the only format read (--log-format); "" or
	// "auto" detects the format of each line.
	Format string
	// Auth also counts authenticated submission sessions: Postfix
	// lines with sasl_username=, disconnect lines that count a successful
	// auth= and the lines of the submission, submissions and smtps
	// services; Exim "<=" lines with A=. (Without Auth, the connect line
	// of a session authenticated on port 25 still counts: the
	// authentication is logged after it.)
	Auth bool

	force int8       // index in formats, or -1
	csv   *csvLayout // the current file's M365 header, or nil
}

// Format is a log format read by [Inbound].
type Format struct {
	Name    string // the --log-format value
	Title   string // the MTA and its log
	Lines   string // which lines count and where the client address is
	Example string // an inbound line of the format (client 192.0.2.10)
	// detect reads a line (without its terminator and prefixes) whose
	// head is h.
	detect func(in *Inbound, line []byte, h head) verdict
}

// verdict is what a format says of a line: its kind, and the span of
// the client address (or of the text in doubt). It holds no netip.Addr
// and no message: three words, which the compiler keeps in registers
// through the calls of the detection (a larger struct is copied through
// memory at each return, which cost more than reading the line). The
// client parses the address and writes the messages.
type verdict struct {
	kind vkind
	s, e int
}

// vkind is the kind of a verdict.
type vkind uint8

const (
	vNone        vkind = iota // the line is not of this format
	vMine                     // it is, and holds no inbound client
	vFound                    // it is an inbound session line whose client address is line[s:e]
	vAt                       // the same, with the client in the brackets at line[s:] (see clientAt)
	vDoubtAddr                // the client address line[s:e] is not an address
	vDoubtRemote              // the remote endpoint line[s:e] is not an address
	vDoubtEximH               // several H= or A= fields in an Exim line
	vDoubtRelay               // several relay= fields in a Sendmail line
	vDoubtRow                 // a CSV row of s fields where the header has another number
	vErrTracking              // a #Fields header that is not a message tracking or protocol log layout
	vErrReceive               // the same, read as the protocol log format
)

// message returns the error or doubt of v on line.
func (v verdict) message(in *Inbound, line []byte) string {
	const tell = "the client cannot be told; read this line yourself"
	switch v.kind {
	case vDoubtAddr:
		return doubtful("client address", line[v.s:v.e])
	case vDoubtRemote:
		return doubtful("remote endpoint", line[v.s:v.e])
	case vDoubtEximH:
		return "several H= or A= fields (a crafted sender?): " + tell
	case vDoubtRelay:
		return "several relay= fields (a crafted address?): " + tell
	case vDoubtRow:
		cols := 0
		if in.csv != nil {
			cols = in.csv.cols
		}
		return fmt.Sprintf("a row of %d fields where the header has %d (a quoted field with a line break in it?): "+tell, v.s, cols)
	case vErrTracking:
		return fieldsError(exchangeTrackingFields, exchangeProtocolFields)
	case vErrReceive:
		return fieldsError(exchangeProtocolFields, exchangeTrackingFields)
	}
	return ""
}

var formats []Format

func init() {
	formats = []Format{
		{"postfix", "Postfix (syslog, journal)",
			"smtpd: connect from, disconnect from, client=, NOQUEUE: reject: / reject: (and the hold:, discard:, redirect:, filter:, warn:, info: actions, and milter-reject:, milter-hold:, milter-discard:) ... from, lost connection / timeout / too many errors / improper command pipelining after ... from, SSL_accept error from, ... TLS connection established from NAME[ADDR]; the warnings about the client (hostname NAME does not resolve to address ADDR, ADDR: address not listed for hostname, NAME[ADDR]: SASL ... authentication failed, non-SMTP command from, connection rate and concurrency limits); postscreen: CONNECT from [ADDR]:PORT and its other client events. Not smtp/lmtp (relay= is our delivery), not sasl_username=, a disconnect with auth=1 or the submission/submissions/smtps services unless --authenticated.",
			"Nov 22 07:14:45 mx postfix/smtpd[4242]: connect from mail.example.net[192.0.2.10]", detectPostfix},
		{"exim", "Exim main log (or its syslog copy)",
			"<= lines: the [ADDR] of H=NAME (HELO) [ADDR]:PORT (not with A=, authenticated, unless --authenticated); lines that start with H= (rejections, incomplete transactions) and other rejected lines (from [ADDR]); SMTP connection from, SMTP call from, unexpected disconnection / SMTP command timeout / TLS error ... from, SMTP protocol / syntax / synchronization errors (H=), no host name found for IP address ADDR. Not => -> ** == deliveries.",
			"2026-11-22 07:14:45 1vBxyz-000Abc-7Q <= alice@example.net H=mail.example.net (helo.example.net) [192.0.2.10]:52344 P=esmtp S=1834", detectExim},
		{"sendmail", "Sendmail (syslog)",
			"from= lines and reject= lines: the [ADDR] of relay=NAME [ADDR]; the session lines NAME [ADDR] did not issue MAIL/EXPN/VRFY/ETRN, [ADDR]: possible SMTP attack, lost input channel from, timeout waiting for input from, rejecting commands from NAME [ADDR]. Not to= lines (our deliveries).",
			"Nov 22 07:14:45 mx sm-mta[4242]: 5AM7EjXa004242: from=<alice@example.net>, size=1834, class=0, nrcpts=1, msgid=<1@example.net>, proto=ESMTP, daemon=MTA-v4, relay=mail.example.net [192.0.2.10]", detectSendmail},
		{"exchange-tracking", "Exchange Server message tracking log (CSV)",
			"RECEIVE events of source SMTP: the client-ip column (2nd, after date-time).",
			"2026-11-22T07:14:45.123Z,192.0.2.10,mail.example.net,10.0.0.5,EXCH01,08DE2A1B3C4D5E6F;250 2.6.0,EXCH01\\Default Frontend EXCH01,SMTP,RECEIVE,1234,<1@example.net>", detectExchangeTracking},
		{"exchange-receive", "Exchange Server SMTP receive protocol log (CSV)",
			"every line whose local-endpoint (5th column) is port 25: the remote-endpoint (6th column) ADDR:PORT.",
			"2026-11-22T07:14:45.123Z,EXCH01\\Default Frontend EXCH01,08DE2A1B3C4D5E6F,0,10.0.0.5:25,192.0.2.10:52344,+,,", detectExchangeReceive},
		{"m365-trace", "Microsoft 365 message trace export (CSV with a header)",
			"every row: the FromIP column (Get-MessageTrace | Export-Csv), or original_client_ip (historical search reports; rows with directionality Originating are skipped). The file is recognised by its header line (the first, or the second after PowerShell's #TYPE line).",
			"\"2026-11-22T07:14:45.123Z\",\"alice@example.net\",\"bob@example.org\",\"Hello\",\"Delivered\",\"\",\"192.0.2.10\",\"1834\"", detectM365},
	}
	for i, f := range formats {
		if f.Name == "m365-trace" {
			m365Index = i
		}
	}
}

// Formats returns the log formats Inbound reads, in detection order. To
// add one, add a row and its detection function.
func Formats() []Format { return formats }

// FormatNames returns the names of [Formats].
func FormatNames() []string {
	var out []string
	for _, f := range formats {
		out = append(out, f.Name)
	}
	return out
}

// Validate checks Format; call it before scanning.
func (in *Inbound) Validate() error {
	in.force = -1
	if in.Format == "" || in.Format == "auto" {
		return nil
	}
	for i, f := range formats {
		if f.Name == in.Format {
			in.force = int8(i)
			return nil
		}
	}
	return fmt.Errorf("unknown log format %q (known: auto, %s)", in.Format, strings.Join(FormatNames(), ", "))
}

type client struct {
	m      Match
	format int8
	t0, t1 int
	err    string
	doubt  string
	mine   bool // the line is of a known format (whether or not it has a client)
}

// head is what the formats read at the start of a line, parsed once: the
// time stamp, and the fields of a syslog line "TIMESTAMP HOST
// TAG[PID]: MESSAGE".
//
// It is four ints, so that the compiler keeps it in registers (a larger
// struct is copied through memory on each call).
type head struct {
	ts           int // len(Timestamp(line)); 0 when there is none
	msg          int // where MESSAGE starts; 0 when the line is not a syslog line
	prog0, prog1 int // line[prog0:prog1] is TAG without the pid
}

// sys reports whether the line is a syslog line.
func (h head) sys() bool { return h.msg > 0 }

// prog returns the syslog program name of line (nil if h is not a
// syslog line).
func (h head) prog(line []byte) []byte { return line[h.prog0:h.prog1] }

// parseHead reads the head of line.
func parseHead(line []byte) head {
	var h head
	h.ts = len(Timestamp(line))
	i := h.ts
	if i == 0 || i >= len(line) || line[i] != ' ' {
		return h
	}
	i++
	sp := 0 // after the host, a short word: no bytes.IndexByte
	for sp < 16 && i+sp < len(line) && line[i+sp] != ' ' {
		sp++
	}
	if sp == 16 || i+sp == len(line) {
		sp = bytes.IndexByte(line[i:], ' ')
	}
	if sp <= 0 {
		return h
	}
	i += sp + 1
	e := bytes.IndexByte(line[i:], ' ')
	if e < 2 || line[i+e-1] != ':' {
		return h
	}
	h.prog0, h.prog1, h.msg = i, i+e-1, i+e+1
	if b := bytes.IndexByte(line[i:i+e-1], '['); b >= 0 {
		h.prog1 = i + b
	}
	return h
}

// client returns the inbound client of line, if any.
func (in *Inbound) client(line []byte) (client, bool) {
	var c client
	ok := in.clientTo(&c, line)
	return c, ok
}

// clientTo is client, with the result stored in *c (all of it). A
// caller with c on its stack saves the copy of the result: client is a
// hundred bytes, returned through memory, whose copy at the caller
// stalls on the stores of the call (a read of two stores at once).
func (in *Inbound) clientTo(c *client, line []byte) bool {
	// Step over the prefixes (each time after the line terminator), and
	// keep the offsets.
	skip, levels := 0, 0
	for {
		if n := len(line); n > 0 && line[n-1] == '\n' { // TrimEOL
			line = line[:n-1]
		}
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		p := prefixLen(line)
		if p == 0 {
			break
		}
		line = line[p:]
		skip += p
		levels++
	}
	h := parseHead(line)
	var v verdict
	i := int(in.force)
	switch {
	case in.force >= 0:
		v = formats[i].detect(in, line, h)
	case in.csv != nil:
		i = m365Index
		v = formats[i].detect(in, line, h)
	default:
		for i = 0; i < len(formats); i++ {
			if i == m365Index {
				continue
			}
			if v = formats[i].detect(in, line, h); v.kind != vNone {
				break
			}
		}
	}
	if v.kind == vNone {
		c.set(Match{}, 0, -1, -1, "", "", false)
		return false
	}
	// the address: parsed here, once, for the usual verdict vAt
	a, ok := netip.Addr{}, false
	switch v.kind {
	case vAt:
		var s, e int
		if a, s, e, ok = bracket(line, v.s); ok {
			v = verdict{vFound, s, e}
		} else {
			v = clientAt(line, v.s) // no address: mine, or in doubt
		}
	case vFound:
		a, ok = addrAt(line, v.s, v.e)
	}
	switch v.kind {
	case vMine:
		c.set(Match{}, 0, -1, -1, "", "", true)
		return false
	case vFound:
	case vErrTracking, vErrReceive:
		c.set(Match{}, int8(i), -1, -1, v.message(in, line), "", true)
		return true
	default:
		c.set(Match{}, int8(i), -1, -1, "", v.message(in, line), true)
		return true
	}
	if !ok || a.IsLoopback() || a.Is4In6() && a.Unmap().IsLoopback() {
		c.set(Match{}, 0, -1, -1, "", "", true)
		return false
	}
	// The time stamp: the CSV column of a Microsoft 365 row; else the one
	// at the line's start, which Scanner.line1 would look for again
	// (after one prefix: after two, it finds none, so -1 leaves that to
	// it).
	t0, t1 := -1, -1
	switch {
	case i == m365Index:
		if s, e, ok := m365Time(in, line); ok {
			t0, t1 = skip+s, skip+e
		}
	case levels <= 1 && h.ts > 0:
		t0, t1 = skip, skip+h.ts
	}
	c.set(Match{a, skip + v.s, skip + v.e}, int8(i), t0, t1, "", "", true)
	return true
}

// set stores the fields of c one by one (not a struct copy: see
// clientTo).
func (c *client) set(m Match, format int8, t0, t1 int, err, doubt string, mine bool) {
	c.m.Addr, c.m.Start, c.m.End = m.Addr, m.Start, m.End
	c.format, c.t0, c.t1 = format, t0, t1
	c.err, c.doubt, c.mine = err, doubt, mine
}

// m365Index is the index of the Microsoft 365 format in formats: it is
// read only in a file that starts with its header.
var m365Index int

// --- helpers

// namesMTA reports whether line, which no format claims, names the SMTP
// server program of an MTA [Inbound] reads: a line in a layout it does
// not read (a <PRI> prefix, RFC 5424), whose client would go unseen. It
// looks for "/smtpd" or "/postscreen" followed by '[', ':' or ' ', and
// for "sm-mta[", "sendmail[", "exim[" and "exim4[".
func namesMTA(line []byte) bool {
	for i := 0; i < len(line); {
		k := bytes.IndexByte(line[i:], '/')
		if k < 0 {
			break
		}
		i += k + 1
		r := line[i:]
		if len(r) > 5 && string(r[:5]) == "smtpd" && progEnd(r[5]) ||
			len(r) > 10 && string(r[:10]) == "postscreen" && progEnd(r[10]) {
			return true
		}
	}
	for i := 0; i < len(line); {
		k := bytes.IndexByte(line[i:], '[')
		if k < 0 {
			break
		}
		b := line[:i+k]
		i += k + 1
		if hasSuffix(b, "sm-mta") || hasSuffix(b, "sendmail") || hasSuffix(b, "exim") || hasSuffix(b, "exim4") {
			return true
		}
	}
	return false
}

func progEnd(c byte) bool { return c == '[' || c == ':' || c == ' ' }

// prefixLen returns the length of what precedes the text of a line: a
// UTF-8 byte-order mark (Windows tools write one), or zero bytes (a log
// truncated by copytruncate while its writer kept its offset starts with
// a run of them).
func prefixLen(line []byte) int {
	if len(line) == 0 || line[0] != 0 && line[0] != 0xEF {
		return 0
	}
	if len(line) >= 3 && line[0] == 0xEF && line[1] == 0xBB && line[2] == 0xBF {
		return 3
	}
	n := 0
	for n < len(line) && line[n] == 0 {
		n++
	}
	return n
}

// syslog splits "TIMESTAMP HOST TAG[PID]: MESSAGE" into its program name
// (TAG without the pid) and the offset of the message.
func syslog(line []byte) (prog []byte, msg int, ok bool) {
	h := parseHead(line)
	if !h.sys() {
		return nil, 0, false
	}
	return h.prog(line), h.msg, true
}

// bracket parses the address in line[i:], which starts with '[' and ends
// at the next ']'; an "IPv6:" tag is skipped. It returns the address and
// its span.
func bracket(line []byte, i int) (a netip.Addr, s, end int, ok bool) {
	if i >= len(line) || line[i] != '[' {
		return netip.Addr{}, 0, 0, false
	}
	// an IPv4 address right up to the ']' (the usual case), without
	// looking for the ']' first
	if x, k, ok := scanV4(line, i+1); ok && k < len(line) && line[k] == ']' {
		return addrFrom4(x), i + 1, k, true
	}
	e := bytes.IndexByte(line[i+1:], ']')
	if e < 0 {
		return netip.Addr{}, 0, 0, false
	}
	s, end = i+1, i+1+e
	if end-s > 5 && (line[s] == 'I' || line[s] == 'i') && (line[s+1] == 'P' || line[s+1] == 'p') &&
		(line[s+2] == 'V' || line[s+2] == 'v') && line[s+3] == '6' && line[s+4] == ':' {
		s += 5
	}
	a, ok = addrAt(line, s, end)
	return a, s, end, ok
}

// clientAt reads the client address in brackets at line[i:]. A session
// line whose brackets hold no address is in doubt (a corrupted or cut
// line: its client cannot be told), except "[unknown]", which Postfix
// writes when the client's address was never known.
func clientAt(line []byte, i int) verdict {
	if _, s, e, ok := bracket(line, i); ok {
		return verdict{vFound, s, e}
	}
	if i >= len(line) || line[i] != '[' {
		return verdict{kind: vMine}
	}
	e := len(line)
	if k := bytes.IndexByte(line[i:], ']'); k >= 0 {
		e = i + k + 1
		if string(line[i:e]) == "[unknown]" {
			return verdict{kind: vMine}
		}
	}
	return verdict{vDoubtAddr, i, e}
}

// clientField reads the client address of a CSV field line[s:end]: an
// empty field holds none (an outbound row), any other text that is not
// an address puts the line in doubt.
func clientField(line []byte, s, end int) verdict {
	if _, ok := addrAt(line, s, end); ok {
		return verdict{vFound, s, end}
	}
	if len(bytes.TrimSpace(line[s:end])) == 0 {
		return verdict{kind: vMine}
	}
	return verdict{vDoubtAddr, s, end}
}

// doubtful is the doubt on a session line whose client field is not an
// address.
func doubtful(what string, text []byte) string {
	if len(text) > 64 {
		text = text[:64]
	}
	return fmt.Sprintf("the %s %q is not an address (a corrupted or cut line?): the client cannot be told; read this line yourself", what, text)
}

// addrAt parses line[s:end] as one address. It is not
// mimecastip.ParseAddr: it works on the line's bytes without a copy, and
// the brackets, tags and ports of each log format are its callers' rules.
func addrAt(line []byte, s, end int) (netip.Addr, bool) {
	if s >= end {
		return netip.Addr{}, false
	}
	if a, ok := parseV4(line, s, end); ok {
		return a, true
	}
	if a, ok := parse6(line[s:end]); ok {
		return a, true
	}
	return netip.Addr{}, false
}

// parseV4 parses line[s:end] as an IPv4 address: parse4 (four decimal
// octets without leading zeros) that ends at end. It builds the address
// in a register: parse4's byte array, read back as a word, stalls.
func parseV4(line []byte, s, end int) (netip.Addr, bool) {
	if end > len(line) {
		return netip.Addr{}, false
	}
	if x, k, ok := scanV4(line[:end], s); ok && k == end {
		return addrFrom4(x), true
	}
	return netip.Addr{}, false
}

// endpoint parses "ADDR:PORT" or "[ADDR]:PORT" in line[s:end] and
// returns the span of the address and the port text.
func endpoint(line []byte, s, end int) (as, ae int, port []byte, ok bool) {
	if s < end && line[s] == '[' {
		_, as, ae, ok := bracket(line[:end], s)
		if !ok {
			return 0, 0, nil, false
		}
		p := ae + 1
		if p < end && line[p] == ':' {
			return as, ae, line[p+1 : end], true
		}
		return as, ae, nil, true
	}
	c := bytes.LastIndexByte(line[s:end], ':')
	if c < 0 {
		_, ok := addrAt(line, s, end)
		return s, end, nil, ok
	}
	if _, ok := addrAt(line, s, s+c); ok {
		return s, s + c, line[s+c+1 : end], true
	}
	// a bare IPv6 address without port
	_, ok = addrAt(line, s, end)
	return s, end, nil, ok
}

func hasPrefix(b []byte, p string) bool { return len(b) >= len(p) && string(b[:len(p)]) == p }

func hasSuffix(b []byte, s string) bool { return len(b) >= len(s) && string(b[len(b)-len(s):]) == s }

func index(b []byte, s string) int { return bytes.Index(b, []byte(s)) }

// anchored is a text looked for in a line by its byte at k, which is
// rare in a log line: bytes.Index tries every position of a short line
// (and, on a long one, every space of " from ").
type anchored struct {
	text string
	k    int
}

var (
	textFrom = anchored{" from ", 2}         // 'r'
	textAuth = anchored{" auth=", 2}         // 'u'
	textSASL = anchored{"sasl_username=", 4} // '_'
)

// index returns the index of the first a.text in b, or -1.
func (a anchored) index(b []byte) int {
	c := a.text[a.k]
	for i := a.k; i < len(b); {
		j := bytes.IndexByte(b[i:], c)
		if j < 0 {
			return -1
		}
		if p := i + j - a.k; p+len(a.text) <= len(b) && string(b[p:p+len(a.text)]) == a.text {
			return p
		}
		i += j + 1
	}
	return -1
}

// --- Postfix

func detectPostfix(in *Inbound, line []byte, h head) verdict {
	if !h.sys() {
		return verdict{}
	}
	// the daemon is what follows the last '/'
	prog := h.prog(line)
	var slash int
	postscreen := false
	switch {
	case hasSuffix(prog, "/smtpd"):
		slash = len(prog) - len("/smtpd")
	case hasSuffix(prog, "/postscreen"):
		slash, postscreen = len(prog)-len("/postscreen"), true
	default:
		if hasPrefix(prog, "postfix") && bytes.IndexByte(prog, '/') >= 0 {
			return verdict{kind: vMine}
		}
		return verdict{}
	}
	mine := verdict{kind: vMine}
	if !in.Auth && string(prog[:slash]) != "postfix" {
		for rest := prog[:slash]; len(rest) > 0; {
			part := rest
			if k := bytes.IndexByte(rest, '/'); k >= 0 {
				part, rest = rest[:k], rest[k+1:]
			} else {
				rest = nil
			}
			switch string(part) {
			case "submission", "submissions", "smtps":
				return mine
			}
		}
	}
	msg := h.msg
	body := line[msg:]
	if postscreen {
		if len(body) == 0 || body[0] < 'A' || body[0] > 'Z' {
			return mine
		}
		b := bytes.IndexByte(body, '[')
		if b < 0 {
			return mine
		}
		return verdict{kind: vAt, s: msg + b}
	}
	if hasPrefix(body, "warning: ") { // not a queue ID
		return postfixWarning(line, msg+len("warning: "))
	}
	// smtpd: an optional queue ID, then the event
	off := msg
	if q := queueIDLen(body); q > 0 {
		off += q + 2
		body = line[off:]
	}
	from := postfixFrom(in, body) // where NAME[ADDR] starts
	if from < 0 {
		return mine
	}
	host := line[off+from:]
	b := bytes.IndexByte(host, '[')
	if b < 0 || bytes.IndexByte(host[:b], ' ') >= 0 {
		return mine
	}
	return verdict{kind: vAt, s: off + from + b}
}

// queueIDLen returns the length of the Postfix queue ID that body starts
// with, followed by ": ", or 0. A queue ID (short: hex; long: base 52 and
// digits) is 6 to 20 letters and digits, and not "NOQUEUE" (the event of
// a rejected session, which has none).
func queueIDLen(body []byte) int {
	q := 0
	for q < len(body) && q <= 20 && alnum[body[q]] {
		q++
	}
	if q >= 6 && q <= 20 && q+1 < len(body) && body[q] == ':' && body[q+1] == ' ' && string(body[:q]) != "NOQUEUE" {
		return q
	}
	return 0
}

// alnum holds the letters and digits.
var alnum = func() (t [256]bool) {
	for c := range t {
		t[c] = c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z'
	}
	return t
}()

// postfixFrom returns where the NAME[ADDR] of the client starts in the
// event body of an smtpd line (after the queue ID), or -1 when the event
// does not name the client (or, without in.Auth, is authenticated).
func postfixFrom(in *Inbound, body []byte) int {
	if len(body) == 0 {
		return -1
	}
	switch body[0] {
	case 'c':
		if hasPrefix(body, "connect from ") {
			return len("connect from ")
		}
		if hasPrefix(body, "client=") {
			if !in.Auth && textSASL.index(body) >= 0 {
				return -1
			}
			return len("client=")
		}
	case 'd':
		if hasPrefix(body, "disconnect from ") {
			if !in.Auth && authenticated(body) {
				return -1
			}
			return len("disconnect from ")
		}
		if hasPrefix(body, "discard: ") {
			return fromAfterPrefix(body, len("discard: "))
		}
	case 'N':
		if hasPrefix(body, "NOQUEUE: reject: ") {
			return fromAfterPrefix(body, len("NOQUEUE: reject: "))
		}
		if hasPrefix(body, "NOQUEUE: reject_warning: ") {
			return fromAfterPrefix(body, len("NOQUEUE: reject_warning: "))
		}
		if hasPrefix(body, "NOQUEUE: milter-reject: ") {
			return fromAfterPrefix(body, len("NOQUEUE: milter-reject: "))
		}
	case 'r':
		if hasPrefix(body, "reject: ") {
			return fromAfterPrefix(body, len("reject: "))
		}
		if hasPrefix(body, "reject_warning: ") {
			return fromAfterPrefix(body, len("reject_warning: "))
		}
		if hasPrefix(body, "redirect: ") {
			return fromAfterPrefix(body, len("redirect: "))
		}
	case 'h':
		if hasPrefix(body, "hold: ") {
			return fromAfterPrefix(body, len("hold: "))
		}
	case 'f':
		if hasPrefix(body, "filter: ") {
			return fromAfterPrefix(body, len("filter: "))
		}
	case 'w':
		if hasPrefix(body, "warn: ") {
			return fromAfterPrefix(body, len("warn: "))
		}
	case 'i':
		if hasPrefix(body, "info: ") {
			return fromAfterPrefix(body, len("info: "))
		}
		if hasPrefix(body, "improper command pipelining after ") {
			return fromAfterPrefix(body, len("improper command pipelining after "))
		}
	case 'm':
		if hasPrefix(body, "milter-reject: ") {
			return fromAfterPrefix(body, len("milter-reject: "))
		}
		if hasPrefix(body, "milter-hold: ") {
			return fromAfterPrefix(body, len("milter-hold: "))
		}
		if hasPrefix(body, "milter-discard: ") {
			return fromAfterPrefix(body, len("milter-discard: "))
		}
	case 'l':
		if hasPrefix(body, "lost connection after ") {
			return fromAfterPrefix(body, len("lost connection after "))
		}
	case 't':
		if hasPrefix(body, "timeout after ") {
			return fromAfterPrefix(body, len("timeout after "))
		}
		if hasPrefix(body, "too many errors after ") {
			return fromAfterPrefix(body, len("too many errors after "))
		}
	case 'S':
		if hasPrefix(body, "SSL_accept error from ") {
			return len("SSL_accept error from ")
		}
	}
	// "Anonymous TLS connection established from", "Trusted ...": the
	// text must start in the first 16 bytes
	const tls = " TLS connection established from "
	if index(body[:min(len(body), 15+len(tls))], tls) >= 0 {
		return fromAfter(body)
	}
	return -1
}

// fromAfterPrefix is fromAfter for a body that starts with an event
// prefix of n bytes, which ends with a space and holds no "from": the
// first " from " is then the one right after the stage word that
// follows the prefix ("RCPT from"), found without a search.
func fromAfterPrefix(body []byte, n int) int {
	w := body[n:]
	if hasPrefix(w, "from ") { // " from " starts at the prefix's space
		return n + len("from ")
	}
	for k := 0; k < len(w) && k < 32; k++ {
		if w[k] == ' ' {
			if hasPrefix(w[k:], " from ") {
				return n + k + len(" from ")
			}
			break
		}
	}
	return fromAfter(body)
}

// fromAfter returns where the text after the first " from " of body
// starts, or -1.
func fromAfter(body []byte) int {
	f := textFrom.index(body)
	if f < 0 {
		return -1
	}
	return f + len(" from ")
}

// postfixWarnFrom are the smtpd warnings about a client that name it
// after " from ".
var postfixWarnFrom = []string{"non-SMTP command from ", "Illegal address syntax from ",
	"Connection concurrency limit exceeded: ", "Connection rate limit exceeded: ",
	"Message delivery request rate limit exceeded: ", "New TLS session rate limit exceeded: ",
	"Number of command limit exceeded: ", "TLS library problem"}

// postfixWarning reads the client of the smtpd warnings about it, at
// line[i:] after "warning: ": the reverse-DNS checks made when it
// connects ("hostname NAME does not resolve to address ADDR", "ADDR:
// address not listed for hostname NAME", "ADDR: hostname NAME
// verification failed"), a failed SASL login ("NAME[ADDR]: SASL LOGIN
// authentication failed", not an authenticated session) and the
// warnings of postfixWarnFrom.
func postfixWarning(line []byte, i int) verdict {
	mine := verdict{kind: vMine}
	w := line[i:]
	// a bare address, up to ": " or the end
	bare := func(s int) verdict {
		end := len(line)
		if e := bytes.Index(line[s:], []byte(": ")); e >= 0 {
			end = s + e
		}
		if _, ok := addrAt(line, s, end); ok {
			return verdict{vFound, s, end}
		}
		return verdict{vDoubtAddr, s, end}
	}
	if hasPrefix(w, "hostname ") {
		const r = " does not resolve to address "
		// (an empty NAME: the space of "hostname " starts r)
		if k := index(w, r); k >= 0 && bytes.IndexByte(w[len("hostname "):max(k, len("hostname "))], ' ') < 0 {
			return bare(i + k + len(r))
		}
		return mine
	}
	if c := index(w, ": "); c > 0 && bytes.IndexByte(w[:c], ' ') < 0 {
		after := w[c+2:]
		switch {
		case w[c-1] == ']' && (hasPrefix(after, "SASL ") && index(after, " authentication failed") >= 0):
			if b := bytes.IndexByte(w[:c], '['); b > 0 {
				return clientAt(line, i+b)
			}
		case hasPrefix(after, "address not listed for hostname "),
			hasPrefix(after, "hostname ") && index(after, " verification failed") >= 0:
			return bare(i)
		}
		return mine
	}
	for _, p := range postfixWarnFrom {
		if hasPrefix(w, p) {
			f := index(w, " from ")
			if f < 0 {
				return mine
			}
			s := f + len(" from ")
			b := bytes.IndexByte(w[s:], '[')
			if b < 0 || bytes.IndexByte(w[s:s+b], ' ') >= 0 {
				return mine
			}
			return clientAt(line, i+s+b)
		}
	}
	return mine
}

// authenticated reports whether a Postfix disconnect line counts a
// successful AUTH command ("auth=1", "auth=1/2"; "auth=0/1" failed).
func authenticated(body []byte) bool {
	a := textAuth.index(body)
	if a < 0 {
		return false
	}
	n := 0
	for _, c := range body[a+len(" auth="):] {
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + int(c-'0')
		if n > 0 {
			return true
		}
	}
	return false
}

// --- Exim

func detectExim(in *Inbound, line []byte, h head) verdict {
	var body int
	if isDate(line) && len(line) > 19 && line[10] == ' ' {
		if h.ts == 0 || h.ts >= len(line) || line[h.ts] != ' ' {
			return verdict{}
		}
		body = h.ts + 1
	} else if prog := h.prog(line); h.sys() && (string(prog) == "exim" || string(prog) == "exim4") {
		body = h.msg
	} else {
		return verdict{}
	}
	mine := verdict{kind: vMine}
	rest := line[body:]
	if len(rest) > 0 && rest[0] == '[' { // log_selector +pid
		if e := bytes.IndexByte(rest, ']'); e > 0 && e+1 < len(rest) && rest[e+1] == ' ' {
			rest = rest[e+2:]
			body = len(line) - len(rest)
		}
	}
	if id := bytes.IndexByte(rest, ' '); id > 0 && isEximID(rest[:id]) {
		flag := rest[id+1:]
		switch {
		case hasPrefix(flag, "<= "):
			// The sender comes before H= and may be a quoted local part
			// holding " H=" or " A=": such a line is in doubt, so that a
			// crafted sender can neither stand in for the client nor
			// pass it off as authenticated.
			nH, nA, hf, af := eximFields(flag)
			if nH > 1 || nA > 1 {
				return verdict{kind: vDoubtEximH}
			}
			if hf < 0 {
				return mine
			}
			from := body + id + 1
			v := eximHostAt(line, from+hf+len(" H="))
			if !in.Auth && v.kind == vFound && af >= 0 && from+af >= v.e {
				// A= (the authenticator) is logged after the client
				if bytes.IndexByte(line[v.e:from+af], '"') < 0 {
					return mine
				}
			}
			return v
		case hasPrefix(flag, "H=") && index(flag, " F=<") >= 0 && index(flag, " rejected ") >= 0 &&
			index(flag, "remote") < 0:
			// "H=(helo) [ADDR]:PORT F=<sender> rejected after DATA"; not a
			// delivery error ("H=mx [ADDR]: SMTP error from remote mail
			// server ... rejected")
			return eximHost(line, body+id+1)
		}
		return mine // deliveries (=> -> *> ** ==), Completed, ...
	}
	for _, p := range eximFrom {
		if hasPrefix(rest, p) {
			return eximHostAt(line, body+len(p))
		}
	}
	if hasPrefix(rest, "no host name found for IP address ") {
		s := body + len("no host name found for IP address ")
		if _, ok := addrAt(line, s, len(line)); ok {
			return verdict{vFound, s, len(line)}
		}
		return verdict{vDoubtAddr, s, len(line)}
	}
	switch {
	case hasPrefix(rest, "SMTP protocol error in "), hasPrefix(rest, "SMTP syntax error in "),
		hasPrefix(rest, "SMTP protocol synchronization error "):
		return eximHost(line, body)
	case hasPrefix(rest, "H="): // rejections, incomplete transactions, ACL warnings of a session
		return eximHostAt(line, body+len("H="))
	case index(rest, "rejected") >= 0:
		if v := eximHost(line, body); v.kind == vFound {
			return v
		}
		if f := index(rest, " from ["); f >= 0 {
			return clientAt(line, body+f+len(" from "))
		}
	}
	return mine
}

// eximFrom are the starts of Exim session lines that name the client
// right after them.
var eximFrom = []string{
	"SMTP connection from ",
	"SMTP call from ",
	"unexpected disconnection while reading SMTP command from ",
	"SMTP command timeout on connection from ",
	"SMTP data timeout (message abandoned) on connection from ",
	"TLS error on connection from ",
}

// eximFields counts the " H=" and " A=" fields of the text of an Exim
// "<=" line, and returns where the first of each starts (-1 if none):
// one pass over its '=' signs.
func eximFields(flag []byte) (nH, nA, h, a int) {
	h, a = -1, -1
	for i := 2; i < len(flag); {
		k := bytes.IndexByte(flag[i:], '=')
		if k < 0 {
			break
		}
		p := i + k // a field " X=" starts at p-2
		if flag[p-2] == ' ' {
			switch flag[p-1] {
			case 'H':
				if nH++; h < 0 {
					h = p - 2
				}
			case 'A':
				if nA++; a < 0 {
					a = p - 2
				}
			}
		}
		i = p + 1
	}
	return nH, nA, h, a
}

// isEximID reports whether b looks like an Exim message ID
// ("1vBxyz-000Abc-7Q", three base-62 parts).
func isEximID(b []byte) bool {
	if len(b) < 14 || len(b) > 24 || bytes.Count(b, []byte{'-'}) != 2 {
		return false
	}
	for _, c := range b {
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c == '-') {
			return false
		}
	}
	return true
}

// eximHost finds "H=" at line[from:] or " H=" after it and returns its
// client address.
func eximHost(line []byte, from int) verdict {
	if hasPrefix(line[from:], "H=") {
		return eximHostAt(line, from+len("H="))
	}
	h := index(line[from:], " H=")
	if h < 0 {
		return verdict{kind: vMine}
	}
	return eximHostAt(line, from+h+len(" H="))
}

// eximHostAt parses "NAME (HELO) [ADDR]", "(HELO) [ADDR]" or "[ADDR]" at
// line[i:]. The HELO can be an address literal: it is skipped.
func eximHostAt(line []byte, i int) verdict {
	mine := verdict{kind: vMine}
	if i < len(line) && line[i] != '[' && line[i] != '(' { // the host name
		sp := bytes.IndexByte(line[i:], ' ')
		if sp < 0 {
			return mine
		}
		i += sp + 1
	}
	if i < len(line) && line[i] == '(' {
		e := bytes.IndexByte(line[i:], ')')
		if e < 0 || i+e+2 >= len(line) || line[i+e+1] != ' ' {
			return mine
		}
		i += e + 2
	}
	return clientAt(line, i)
}

// --- Sendmail

func detectSendmail(in *Inbound, line []byte, h head) verdict {
	if prog := h.prog(line); !h.sys() || string(prog) != "sm-mta" && string(prog) != "sendmail" {
		return verdict{}
	}
	mine := verdict{kind: vMine}
	body := line[h.msg:]
	if q := queueIDLen(body); q > 0 {
		body = body[q+2:]
	}
	if !hasPrefix(body, "from=") && index(body, ", reject=") < 0 && !hasPrefix(body, "ruleset=") {
		return sendmailSession(line, len(line)-len(body))
	}
	if hasPrefix(body, "to=") {
		return mine
	}
	r := index(body, "relay=")
	if r < 0 {
		return mine
	}
	if bytes.Count(body, []byte("relay=")) > 1 {
		// a sender or recipient address can hold "relay=name [addr]" in
		// quotes: which one Sendmail wrote cannot be told
		return verdict{kind: vDoubtRelay}
	}
	i := len(line) - len(body) + r + len("relay=")
	if i < len(line) && line[i] != '[' {
		sp := bytes.IndexByte(line[i:], ' ')
		if sp < 0 {
			return mine
		}
		if c := bytes.IndexByte(line[i:i+sp], ','); c >= 0 { // relay=user@localhost, ...
			return mine
		}
		i += sp + 1
	}
	return clientAt(line, i)
}

// sendmailFrom are the starts of Sendmail session lines that name the
// client (NAME [ADDR]) after them.
var sendmailFrom = []string{"lost input channel from ", "timeout waiting for input from ", "rejecting commands from ",
	"too many long lines from "}

// sendmailSession reads the client of the Sendmail session lines
// without from= at line[i:]: "NAME [ADDR] did not issue
// MAIL/EXPN/VRFY/ETRN during connection to MTA", "NAME [ADDR]: possible
// SMTP attack: ...", "lost input channel from NAME [ADDR] to MTA after
// ...", "timeout waiting for input from NAME [ADDR] during ...",
// "rejecting commands from NAME [ADDR] due to pre-greeting traffic".
func sendmailSession(line []byte, i int) verdict {
	mine := verdict{kind: vMine}
	body := line[i:]
	for _, p := range sendmailFrom {
		if hasPrefix(body, p) {
			return sendmailHost(line, i+len(p))
		}
	}
	if index(body, " did not issue ") > 0 || index(body, ": possible SMTP attack: ") > 0 {
		// the client must be what the line starts with
		v := sendmailHost(line, i)
		if v.kind != vFound {
			return v
		}
		after := line[v.e:]
		if e := bytes.IndexByte(after, ']'); e >= 0 {
			after = after[e+1:]
		}
		after = bytes.TrimPrefix(after, []byte(" (may be forged)"))
		if hasPrefix(after, " did not issue ") || hasPrefix(after, ": possible SMTP attack: ") {
			return v
		}
		return mine
	}
	return mine
}

// sendmailHost parses "NAME [ADDR]" or "[ADDR]" at line[i:].
func sendmailHost(line []byte, i int) verdict {
	if i < len(line) && line[i] != '[' {
		sp := bytes.IndexByte(line[i:], ' ')
		if sp < 0 || bytes.IndexByte(line[i:i+sp], ',') >= 0 || bytes.IndexByte(line[i:i+sp], '=') >= 0 {
			return verdict{kind: vMine}
		}
		i += sp + 1
	}
	return clientAt(line, i)
}

// --- Exchange

// csvFields stores the spans of the first len(dst) fields of line in dst
// (without quotes) and returns how many were found.
func csvFields(line []byte, dst [][2]int) int {
	n, i := 0, 0
	for n < len(dst) && i <= len(line) {
		if i < len(line) && line[i] == '"' {
			j := i + 1
			for j < len(line) {
				if line[j] == '"' {
					if j+1 < len(line) && line[j+1] == '"' {
						j += 2
						continue
					}
					break
				}
				j++
			}
			if j >= len(line) {
				return n // unterminated quote
			}
			dst[n] = [2]int{i + 1, j}
			n++
			i = j + 1
			if i < len(line) && line[i] != ',' {
				return n
			}
			i++
			continue
		}
		e := bytes.IndexByte(line[i:], ',')
		if e < 0 {
			dst[n] = [2]int{i, len(line)}
			return n + 1
		}
		dst[n] = [2]int{i, i + e}
		n++
		i += e + 1
	}
	return n
}

var exchangeTrackingFields = []string{"date-time", "client-ip", "client-hostname", "server-ip", "server-hostname", "source-context", "connector-id", "source", "event-id"}
var exchangeProtocolFields = []string{"date-time", "connector-id", "session-id", "sequence-number", "local-endpoint", "remote-endpoint", "event"}

// exchangeHeader checks a "#Fields:" line against the layout the
// detection relies on; bad is the verdict on another layout.
func exchangeHeader(line []byte, want []string, other []string, bad vkind) verdict {
	mine := verdict{kind: vMine}
	if !hasPrefix(line, "#Fields: ") {
		return mine
	}
	got := strings.Split(string(line[len("#Fields: "):]), ",")
	prefix := func(w []string) bool {
		if len(got) < len(w) {
			return false
		}
		for i := range w {
			if !strings.EqualFold(strings.TrimSpace(got[i]), w[i]) {
				return false
			}
		}
		return true
	}
	if prefix(want) || prefix(other) {
		return mine
	}
	return verdict{kind: bad}
}

// fieldsError is the error on a #Fields header that has neither layout.
func fieldsError(want, other []string) string {
	return "unsupported #Fields layout: the columns must start with " + strings.Join(want, ",") + " (message tracking) or " + strings.Join(other, ",") + " (protocol log)"
}

func isExchangeLine(line []byte, h head) bool {
	return isDate(line) && len(line) >= 20 && line[10] == 'T' && h.ts < len(line) && line[h.ts] == ','
}

func detectExchangeTracking(in *Inbound, line []byte, h head) verdict {
	if len(line) > 0 && line[0] == '#' {
		return exchangeHeader(line, exchangeTrackingFields, exchangeProtocolFields, vErrTracking)
	}
	if !isExchangeLine(line, h) {
		return verdict{}
	}
	var f [9][2]int
	n := csvFields(line, f[:])
	if n < 9 {
		if n >= 7 {
			return verdict{} // perhaps a protocol log line
		}
		return verdict{kind: vMine}
	}
	ev, src := line[f[8][0]:f[8][1]], line[f[7][0]:f[7][1]]
	if n7 := f[6][1] - f[6][0]; n7 == 1 && isProtoEvent(line[f[6][0]]) {
		return verdict{} // a protocol log line
	}
	if string(ev) != "RECEIVE" || string(src) != "SMTP" {
		return verdict{kind: vMine}
	}
	return clientField(line, f[1][0], f[1][1])
}

func isProtoEvent(c byte) bool { return c == '+' || c == '-' || c == '*' || c == '<' || c == '>' }

func detectExchangeReceive(in *Inbound, line []byte, h head) verdict {
	if len(line) > 0 && line[0] == '#' {
		return exchangeHeader(line, exchangeProtocolFields, exchangeTrackingFields, vErrReceive)
	}
	if !isExchangeLine(line, h) {
		return verdict{}
	}
	var f [7][2]int
	if csvFields(line, f[:]) < 7 || f[6][1]-f[6][0] != 1 || !isProtoEvent(line[f[6][0]]) {
		return verdict{}
	}
	_, _, lport, ok := endpoint(line, f[4][0], f[4][1])
	if !ok || string(lport) != "25" {
		return verdict{kind: vMine}
	}
	as, ae, _, ok := endpoint(line, f[5][0], f[5][1])
	if !ok {
		return verdict{vDoubtRemote, f[5][0], f[5][1]}
	}
	return verdict{vFound, as, ae}
}

// --- Microsoft 365 message trace

type csvLayout struct {
	ip, time, dir int // column indexes; -1 when absent
	cols          int
	headerLine    int
}

// header reads the first lines of an input (data, starting at line 1)
// for a Microsoft 365 message trace header.
func (in *Inbound) header(data []byte) {
	in.csv = nil
	if in.force >= 0 && formats[in.force].Name != "m365-trace" {
		return
	}
	for n := 1; n <= 2 && len(data) > 0; n++ {
		e := bytes.IndexByte(data, '\n')
		line := data
		if e >= 0 {
			line = data[:e]
		}
		line = TrimEOL(line)
		if n == 1 {
			line = bytes.TrimPrefix(line, []byte("\xEF\xBB\xBF"))
		}
		if n == 1 && hasPrefix(line, "#TYPE ") {
			data = data[e+1:]
			continue
		}
		if len(line) > 8192 {
			return
		}
		var f [64][2]int
		k := csvFields(line, f[:])
		l := &csvLayout{ip: -1, time: -1, dir: -1, cols: k, headerLine: n}
		for i := 0; i < k; i++ {
			name := strings.ToLower(strings.TrimSpace(string(line[f[i][0]:f[i][1]])))
			switch name {
			case "fromip", "original_client_ip":
				l.ip = i
			case "received", "origin_timestamp_utc", "date_time_utc":
				l.time = i
			case "directionality":
				l.dir = i
			}
		}
		if l.ip >= 0 {
			in.csv = l
		}
		return
	}
}

func detectM365(in *Inbound, line []byte, h head) verdict {
	l := in.csv
	if l == nil {
		return verdict{}
	}
	if len(bytes.TrimSpace(line)) == 0 || hasPrefix(line, "#TYPE ") {
		return verdict{kind: vMine}
	}
	var f m365Row
	k := csvFields(line, f[:])
	if k != l.cols {
		// A quoted field with a line break in it (Export-Csv keeps a
		// subject's) splits its row: the client of neither part can be
		// told by its column.
		return verdict{kind: vDoubtRow, s: k}
	}
	if l.dir >= 0 && l.dir < k && strings.EqualFold(string(line[f[l.dir][0]:f[l.dir][1]]), "Originating") {
		return verdict{kind: vMine}
	}
	if h := bytes.TrimSpace(line[f[l.ip][0]:f[l.ip][1]]); bytes.EqualFold(h, []byte("FromIP")) || bytes.EqualFold(h, []byte("original_client_ip")) {
		return verdict{kind: vMine} // the header (again, in concatenated exports)
	}
	return clientField(line, f[l.ip][0], f[l.ip][1])
}

// m365Time returns the span of the time column of a row that
// detectM365 found a client in.
func m365Time(in *Inbound, line []byte) (t0, t1 int, ok bool) {
	l := in.csv
	if l == nil || l.time < 0 || l.time >= len(m365Row{}) {
		return 0, 0, false
	}
	var f m365Row
	if csvFields(line, f[:l.time+1]) <= l.time {
		return 0, 0, false
	}
	return f[l.time][0], f[l.time][1], true
}

// m365Row holds the field spans of a Microsoft 365 row.
type m365Row [64][2]int
