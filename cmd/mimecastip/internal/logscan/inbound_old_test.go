package logscan

// This file is the scanner's per-line client detection as it was before
// it was made faster (as of commit 873072a): the reference that the
// differential tests in inbound_diff_test.go hold the new path to. Keep
// it as it is. One change: postfixWarning no longer panics on a
// "hostname does not resolve to address" warning without a NAME (found
// by FuzzInboundSameAsOld); both read the address after it.

import (
	"bytes"
	"fmt"
	"strings"
)

// detects are the detection functions of the formats table, in its
// order.
var oldDetects = []func(in *Inbound, line []byte) oldVerdict{oldDetectPostfix, oldDetectExim, oldDetectSendmail,
	oldDetectExchangeTracking, oldDetectExchangeReceive, oldDetectM365}

// verdict is what a format says of a line.
type oldVerdict struct {
	mine   bool // the line is of this format
	found  bool // it is an inbound session line with a oldClient address
	m      Match
	t0, t1 int    // the time stamp, when not the line's start (t1 > 0)
	err    string // the file cannot be read as this format
	doubt  string // the oldClient of this line cannot be told for sure
}

type oldClient struct {
	m      Match
	format int8
	t0, t1 int
	err    string
	doubt  string
	mine   bool // the line is of a known format (whether or not it has a oldClient)
}

// client returns the inbound client of line, if any.
func oldInboundClient(in *Inbound, line []byte) (oldClient, bool) {
	line = TrimEOL(line)
	if skip := oldPrefixLen(line); skip > 0 {
		// keep the offsets, step over the prefix
		c, ok := oldInboundClient(in, line[skip:])
		if ok {
			c.m.Start += skip
			c.m.End += skip
			if c.t1 > 0 {
				c.t0 += skip
				c.t1 += skip
			}
		}
		return c, ok
	}
	try := func(i int) (oldClient, bool, bool) {
		v := oldDetects[i](in, line)
		if !v.mine {
			return oldClient{}, false, false
		}
		if v.err != "" || v.doubt != "" {
			return oldClient{format: int8(i), err: v.err, doubt: v.doubt, mine: true}, true, true
		}
		if !v.found || v.m.Addr.IsLoopback() || v.m.Addr.Is4In6() && v.m.Addr.Unmap().IsLoopback() {
			return oldClient{mine: true}, false, true
		}
		c := oldClient{m: v.m, format: int8(i), t0: -1, t1: -1, mine: true}
		if v.t1 > 0 {
			c.t0, c.t1 = v.t0, v.t1
		}
		return c, true, true
	}
	if in.force >= 0 {
		c, ok, _ := try(int(in.force))
		return c, ok
	}
	if in.csv != nil {
		c, ok, _ := try(len(formats) - 1)
		return c, ok
	}
	for i := range formats {
		if formats[i].Name == "m365-trace" {
			continue
		}
		if c, ok, mine := try(i); mine {
			return c, ok
		}
	}
	return oldClient{}, false
}

// --- helpers

var oldMtaPrograms = [][]byte{[]byte("/smtpd["), []byte("/smtpd:"), []byte("/smtpd "), []byte("/postscreen["), []byte("/postscreen:"), []byte("/postscreen "),
	[]byte("sm-mta["), []byte("sendmail["), []byte("exim["), []byte("exim4[")}

// namesMTA reports whether line, which no format claims, names the SMTP
// server program of an MTA [Inbound] reads: a line in a layout it does
// not read (a <PRI> prefix, RFC 5424), whose client would go unseen.
func oldNamesMTA(line []byte) bool {
	for _, p := range oldMtaPrograms {
		if bytes.Contains(line, p) {
			return true
		}
	}
	return false
}

// prefixLen returns the length of what precedes the text of a line: a
// UTF-8 byte-order mark (Windows tools write one), or zero bytes (a log
// truncated by copytruncate while its writer kept its offset starts with
// a run of them).
func oldPrefixLen(line []byte) int {
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
func oldSyslog(line []byte) (prog []byte, msg int, ok bool) {
	ts := oldTimestamp(line)
	if ts == nil {
		return nil, 0, false
	}
	i := len(ts)
	if i >= len(line) || line[i] != ' ' {
		return nil, 0, false
	}
	i++
	sp := bytes.IndexByte(line[i:], ' ') // after the host
	if sp <= 0 {
		return nil, 0, false
	}
	i += sp + 1
	e := bytes.IndexByte(line[i:], ' ')
	if e < 2 {
		return nil, 0, false
	}
	tag := line[i : i+e]
	if tag[len(tag)-1] != ':' {
		return nil, 0, false
	}
	tag = tag[:len(tag)-1]
	if b := bytes.IndexByte(tag, '['); b >= 0 {
		tag = tag[:b]
	}
	return tag, i + e + 1, true
}

// bracket parses the address in line[i:], which starts with '[' and ends
// at the next ']'; an "IPv6:" tag is skipped.
func oldBracket(line []byte, i int) (Match, bool) {
	if i >= len(line) || line[i] != '[' {
		return Match{}, false
	}
	e := bytes.IndexByte(line[i+1:], ']')
	if e < 0 {
		return Match{}, false
	}
	s, end := i+1, i+1+e
	if end-s > 5 && (line[s] == 'I' || line[s] == 'i') && strings.EqualFold(string(line[s:s+5]), "IPv6:") {
		s += 5
	}
	return oldAddrAt(line, s, end)
}

// clientAt reads the client address in brackets at line[i:]. A session
// line whose brackets hold no address is in doubt (a corrupted or cut
// line: its client cannot be told), except "[unknown]", which Postfix
// writes when the client's address was never known.
func oldClientAt(line []byte, i int) oldVerdict {
	if m, ok := oldBracket(line, i); ok {
		return oldVerdict{mine: true, found: true, m: m}
	}
	if i >= len(line) || line[i] != '[' {
		return oldVerdict{mine: true}
	}
	text := line[i:]
	if e := bytes.IndexByte(text, ']'); e >= 0 {
		text = text[:e+1]
		if string(text) == "[unknown]" {
			return oldVerdict{mine: true}
		}
	}
	return oldDoubtful("client address", text)
}

// clientField reads the client address of a CSV field line[s:end]: an
// empty field holds none (an outbound row), any other text that is not
// an address puts the line in doubt.
func oldClientField(line []byte, s, end int) oldVerdict {
	if m, ok := oldAddrAt(line, s, end); ok {
		return oldVerdict{mine: true, found: true, m: m}
	}
	if len(bytes.TrimSpace(line[s:end])) == 0 {
		return oldVerdict{mine: true}
	}
	return oldDoubtful("client address", line[s:end])
}

// doubtful is the verdict on a session line whose client field is not
// an address.
func oldDoubtful(what string, text []byte) oldVerdict {
	if len(text) > 64 {
		text = text[:64]
	}
	return oldVerdict{mine: true, doubt: fmt.Sprintf("the %s %q is not an address (a corrupted or cut line?): the client cannot be told; read this line yourself", what, text)}
}

// addrAt parses line[s:end] as one address. It is not
// mimecastip.ParseAddr: it works on the line's bytes without a copy, and
// the brackets, tags and ports of each log format are its callers' rules.
func oldAddrAt(line []byte, s, end int) (Match, bool) {
	if s >= end {
		return Match{}, false
	}
	if a, e, ok := parse4(line[:end], s); ok && e == end {
		return Match{a, s, end}, true
	}
	if a, ok := parse6(line[s:end]); ok {
		return Match{a, s, end}, true
	}
	return Match{}, false
}

// endpoint parses "ADDR:PORT" or "[ADDR]:PORT" in line[s:end] and
// returns the address and the port text.
func oldEndpoint(line []byte, s, end int) (Match, []byte, bool) {
	if s < end && line[s] == '[' {
		m, ok := oldBracket(line[:end], s)
		if !ok {
			return Match{}, nil, false
		}
		p := m.End + 1
		if p < end && line[p] == ':' {
			return m, line[p+1 : end], true
		}
		return m, nil, true
	}
	c := bytes.LastIndexByte(line[s:end], ':')
	if c < 0 {
		m, ok := oldAddrAt(line, s, end)
		return m, nil, ok
	}
	m, ok := oldAddrAt(line, s, s+c)
	if !ok { // a bare IPv6 address without port
		m, ok = oldAddrAt(line, s, end)
		return m, nil, ok
	}
	return m, line[s+c+1 : end], true
}

func oldHasPrefix(b []byte, p string) bool { return len(b) >= len(p) && string(b[:len(p)]) == p }

func oldIndex(b []byte, s string) int { return bytes.Index(b, []byte(s)) }

// --- Postfix

func oldDetectPostfix(in *Inbound, line []byte) oldVerdict {
	prog, msg, ok := oldSyslog(line)
	if !ok {
		return oldVerdict{}
	}
	slash := bytes.LastIndexByte(prog, '/')
	if slash < 0 {
		return oldVerdict{}
	}
	daemon := string(prog[slash+1:])
	if daemon != "smtpd" && daemon != "postscreen" {
		if oldHasPrefix(prog, "postfix") {
			return oldVerdict{mine: true}
		}
		return oldVerdict{}
	}
	mine := oldVerdict{mine: true}
	if !in.Auth {
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
	body := line[msg:]
	if daemon == "postscreen" {
		if len(body) == 0 || body[0] < 'A' || body[0] > 'Z' {
			return mine
		}
		b := bytes.IndexByte(body, '[')
		if b < 0 {
			return mine
		}
		return oldClientAt(line, msg+b)
	}
	if oldHasPrefix(body, "warning: ") { // not a queue ID
		return oldPostfixWarning(line, msg+len("warning: "))
	}
	// smtpd: an optional queue ID, then the event
	off := msg
	if q := bytes.Index(body, []byte(": ")); q > 0 && q <= 20 && oldIsQueueID(body[:q]) {
		off += q + 2
		body = line[off:]
	}
	var from int // where NAME[ADDR] starts
	switch {
	case oldHasPrefix(body, "connect from "):
		from = len("connect from ")
	case oldHasPrefix(body, "disconnect from "):
		if !in.Auth && oldAuthenticated(body) {
			return mine
		}
		from = len("disconnect from ")
	case oldHasPrefix(body, "client="):
		if !in.Auth && oldIndex(body, "sasl_username=") >= 0 {
			return mine
		}
		from = len("client=")
	case oldHasPrefix(body, "NOQUEUE: reject: "), oldHasPrefix(body, "reject: "),
		oldHasPrefix(body, "NOQUEUE: reject_warning: "), oldHasPrefix(body, "reject_warning: "),
		oldHasPrefix(body, "hold: "), oldHasPrefix(body, "discard: "), oldHasPrefix(body, "redirect: "),
		oldHasPrefix(body, "filter: "), oldHasPrefix(body, "warn: "), oldHasPrefix(body, "info: "),
		oldHasPrefix(body, "milter-reject: "), oldHasPrefix(body, "milter-hold: "), oldHasPrefix(body, "milter-discard: "),
		oldHasPrefix(body, "NOQUEUE: milter-reject: "),
		oldHasPrefix(body, "lost connection after "), oldHasPrefix(body, "timeout after "),
		oldHasPrefix(body, "too many errors after "), oldHasPrefix(body, "improper command pipelining after "),
		oldHasPrefix(body, "SSL_accept error from "),
		oldIndex(body, " TLS connection established from ") >= 0 && oldIndex(body, " TLS connection established from ") < 16:
		f := oldIndex(body, " from ")
		if oldHasPrefix(body, "SSL_accept error from ") {
			f = len("SSL_accept error")
		}
		if f < 0 {
			return mine
		}
		from = f + len(" from ")
	default:
		return mine
	}
	b := bytes.IndexByte(body[from:], '[')
	if b < 0 || bytes.IndexByte(body[from:from+b], ' ') >= 0 {
		return mine
	}
	return oldClientAt(line, off+from+b)
}

// postfixWarnFrom are the smtpd warnings about a client that name it
// after " from ".
var oldPostfixWarnFrom = []string{"non-SMTP command from ", "Illegal address syntax from ",
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
func oldPostfixWarning(line []byte, i int) oldVerdict {
	mine := oldVerdict{mine: true}
	w := line[i:]
	// a bare address, up to ": " or the end
	bare := func(s int) oldVerdict {
		end := len(line)
		if e := bytes.Index(line[s:], []byte(": ")); e >= 0 {
			end = s + e
		}
		if m, ok := oldAddrAt(line, s, end); ok {
			return oldVerdict{mine: true, found: true, m: m}
		}
		return oldDoubtful("client address", line[s:end])
	}
	if oldHasPrefix(w, "hostname ") {
		const r = " does not resolve to address "
		// (an empty NAME: the space of "hostname " starts r)
		if k := oldIndex(w, r); k >= 0 && bytes.IndexByte(w[len("hostname "):max(k, len("hostname "))], ' ') < 0 {
			return bare(i + k + len(r))
		}
		return mine
	}
	if c := oldIndex(w, ": "); c > 0 && bytes.IndexByte(w[:c], ' ') < 0 {
		after := w[c+2:]
		switch {
		case w[c-1] == ']' && (oldHasPrefix(after, "SASL ") && oldIndex(after, " authentication failed") >= 0):
			if b := bytes.IndexByte(w[:c], '['); b > 0 {
				return oldClientAt(line, i+b)
			}
		case oldHasPrefix(after, "address not listed for hostname "),
			oldHasPrefix(after, "hostname ") && oldIndex(after, " verification failed") >= 0:
			return bare(i)
		}
		return mine
	}
	for _, p := range oldPostfixWarnFrom {
		if oldHasPrefix(w, p) {
			f := oldIndex(w, " from ")
			if f < 0 {
				return mine
			}
			s := f + len(" from ")
			b := bytes.IndexByte(w[s:], '[')
			if b < 0 || bytes.IndexByte(w[s:s+b], ' ') >= 0 {
				return mine
			}
			return oldClientAt(line, i+s+b)
		}
	}
	return mine
}

// authenticated reports whether a Postfix disconnect line counts a
// successful AUTH command ("auth=1", "auth=1/2"; "auth=0/1" failed).
func oldAuthenticated(body []byte) bool {
	a := oldIndex(body, " auth=")
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

// isQueueID reports whether b is a Postfix queue ID (short: hex; long:
// base 52 and digits) or "NOQUEUE".
func oldIsQueueID(b []byte) bool {
	if len(b) < 6 {
		return false
	}
	for _, c := range b {
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
			return false
		}
	}
	return string(b) != "NOQUEUE"
}

// --- Exim

func oldDetectExim(in *Inbound, line []byte) oldVerdict {
	var body int
	if oldIsDate(line) && len(line) > 19 && line[10] == ' ' {
		ts := oldTimestamp(line)
		if ts == nil || len(ts) >= len(line) || line[len(ts)] != ' ' {
			return oldVerdict{}
		}
		body = len(ts) + 1
	} else if prog, msg, ok := oldSyslog(line); ok && (string(prog) == "exim" || string(prog) == "exim4") {
		body = msg
	} else {
		return oldVerdict{}
	}
	mine := oldVerdict{mine: true}
	rest := line[body:]
	if len(rest) > 0 && rest[0] == '[' { // log_selector +pid
		if e := bytes.IndexByte(rest, ']'); e > 0 && e+1 < len(rest) && rest[e+1] == ' ' {
			rest = rest[e+2:]
			body = len(line) - len(rest)
		}
	}
	if id := bytes.IndexByte(rest, ' '); id > 0 && oldIsEximID(rest[:id]) {
		flag := rest[id+1:]
		switch {
		case oldHasPrefix(flag, "<= "):
			// The sender comes before H= and may be a quoted local part
			// holding " H=" or " A=": such a line is in doubt, so that a
			// crafted sender can neither stand in for the client nor
			// pass it off as authenticated.
			if bytes.Count(flag, []byte(" H=")) > 1 || bytes.Count(flag, []byte(" A=")) > 1 {
				return oldVerdict{mine: true, doubt: "several H= or A= fields (a crafted sender?): the client cannot be told; read this line yourself"}
			}
			v := oldEximHost(line, body+id+1)
			if !in.Auth && v.found {
				// A= (the authenticator) is logged after the client
				after := line[v.m.End:]
				if a := oldIndex(after, " A="); a >= 0 && (bytes.IndexByte(after[:a], '"') < 0) {
					return mine
				}
			}
			return v
		case oldHasPrefix(flag, "H=") && oldIndex(flag, " F=<") >= 0 && oldIndex(flag, " rejected ") >= 0 &&
			oldIndex(flag, "remote") < 0:
			// "H=(helo) [ADDR]:PORT F=<sender> rejected after DATA"; not a
			// delivery error ("H=mx [ADDR]: SMTP error from remote mail
			// server ... rejected")
			return oldEximHost(line, body+id+1)
		}
		return mine // deliveries (=> -> *> ** ==), Completed, ...
	}
	for _, p := range oldEximFrom {
		if oldHasPrefix(rest, p) {
			return oldEximHostAt(line, body+len(p))
		}
	}
	if oldHasPrefix(rest, "no host name found for IP address ") {
		s := body + len("no host name found for IP address ")
		if m, ok := oldAddrAt(line, s, len(line)); ok {
			return oldVerdict{mine: true, found: true, m: m}
		}
		return oldDoubtful("client address", line[s:])
	}
	switch {
	case oldHasPrefix(rest, "SMTP protocol error in "), oldHasPrefix(rest, "SMTP syntax error in "),
		oldHasPrefix(rest, "SMTP protocol synchronization error "):
		return oldEximHost(line, body)
	case oldHasPrefix(rest, "H="): // rejections, incomplete transactions, ACL warnings of a session
		return oldEximHostAt(line, body+len("H="))
	case oldIndex(rest, "rejected") >= 0:
		if v := oldEximHost(line, body); v.found {
			return v
		}
		if f := oldIndex(rest, " from ["); f >= 0 {
			return oldClientAt(line, body+f+len(" from "))
		}
	}
	return mine
}

// eximFrom are the starts of Exim session lines that name the client
// right after them.
var oldEximFrom = []string{
	"SMTP connection from ",
	"SMTP call from ",
	"unexpected disconnection while reading SMTP command from ",
	"SMTP command timeout on connection from ",
	"SMTP data timeout (message abandoned) on connection from ",
	"TLS error on connection from ",
}

// isEximID reports whether b looks like an Exim message ID
// ("1vBxyz-000Abc-7Q", three base-62 parts).
func oldIsEximID(b []byte) bool {
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
func oldEximHost(line []byte, from int) oldVerdict {
	if oldHasPrefix(line[from:], "H=") {
		return oldEximHostAt(line, from+len("H="))
	}
	h := oldIndex(line[from:], " H=")
	if h < 0 {
		return oldVerdict{mine: true}
	}
	return oldEximHostAt(line, from+h+len(" H="))
}

// eximHostAt parses "NAME (HELO) [ADDR]", "(HELO) [ADDR]" or "[ADDR]" at
// line[i:]. The HELO can be an address literal: it is skipped.
func oldEximHostAt(line []byte, i int) oldVerdict {
	mine := oldVerdict{mine: true}
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
	return oldClientAt(line, i)
}

// --- Sendmail

func oldDetectSendmail(in *Inbound, line []byte) oldVerdict {
	prog, msg, ok := oldSyslog(line)
	if !ok || string(prog) != "sm-mta" && string(prog) != "sendmail" {
		return oldVerdict{}
	}
	mine := oldVerdict{mine: true}
	body := line[msg:]
	if q := bytes.Index(body, []byte(": ")); q > 0 && q <= 20 && oldIsQueueID(body[:q]) {
		body = body[q+2:]
	}
	if !oldHasPrefix(body, "from=") && oldIndex(body, ", reject=") < 0 && !oldHasPrefix(body, "ruleset=") {
		return oldSendmailSession(line, len(line)-len(body))
	}
	if oldHasPrefix(body, "to=") {
		return mine
	}
	r := oldIndex(body, "relay=")
	if r < 0 {
		return mine
	}
	if bytes.Count(body, []byte("relay=")) > 1 {
		// a sender or recipient address can hold "relay=name [addr]" in
		// quotes: which one Sendmail wrote cannot be told
		return oldVerdict{mine: true, doubt: "several relay= fields (a crafted address?): the client cannot be told; read this line yourself"}
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
	return oldClientAt(line, i)
}

// sendmailFrom are the starts of Sendmail session lines that name the
// client (NAME [ADDR]) after them.
var oldSendmailFrom = []string{"lost input channel from ", "timeout waiting for input from ", "rejecting commands from ",
	"too many long lines from "}

// sendmailSession reads the client of the Sendmail session lines
// without from= at line[i:]: "NAME [ADDR] did not issue
// MAIL/EXPN/VRFY/ETRN during connection to MTA", "NAME [ADDR]: possible
// SMTP attack: ...", "lost input channel from NAME [ADDR] to MTA after
// ...", "timeout waiting for input from NAME [ADDR] during ...",
// "rejecting commands from NAME [ADDR] due to pre-greeting traffic".
func oldSendmailSession(line []byte, i int) oldVerdict {
	mine := oldVerdict{mine: true}
	body := line[i:]
	for _, p := range oldSendmailFrom {
		if oldHasPrefix(body, p) {
			return oldSendmailHost(line, i+len(p))
		}
	}
	if oldIndex(body, " did not issue ") > 0 || oldIndex(body, ": possible SMTP attack: ") > 0 {
		// the client must be what the line starts with
		v := oldSendmailHost(line, i)
		if !v.found {
			return v
		}
		after := line[v.m.End:]
		if e := bytes.IndexByte(after, ']'); e >= 0 {
			after = after[e+1:]
		}
		after = bytes.TrimPrefix(after, []byte(" (may be forged)"))
		if oldHasPrefix(after, " did not issue ") || oldHasPrefix(after, ": possible SMTP attack: ") {
			return v
		}
		return mine
	}
	return mine
}

// sendmailHost parses "NAME [ADDR]" or "[ADDR]" at line[i:].
func oldSendmailHost(line []byte, i int) oldVerdict {
	if i < len(line) && line[i] != '[' {
		sp := bytes.IndexByte(line[i:], ' ')
		if sp < 0 || bytes.IndexByte(line[i:i+sp], ',') >= 0 || bytes.IndexByte(line[i:i+sp], '=') >= 0 {
			return oldVerdict{mine: true}
		}
		i += sp + 1
	}
	return oldClientAt(line, i)
}

// --- Exchange

// csvFields stores the spans of the first len(dst) fields of line in dst
// (without quotes) and returns how many were found.
func oldCsvFields(line []byte, dst [][2]int) int {
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

var oldExchangeTrackingFields = []string{"date-time", "client-ip", "client-hostname", "server-ip", "server-hostname", "source-context", "connector-id", "source", "event-id"}
var oldExchangeProtocolFields = []string{"date-time", "connector-id", "session-id", "sequence-number", "local-endpoint", "remote-endpoint", "event"}

// exchangeHeader checks a "#Fields:" line against the layout the
// detection relies on.
func oldExchangeHeader(line []byte, want []string, other []string) oldVerdict {
	mine := oldVerdict{mine: true}
	if !oldHasPrefix(line, "#Fields: ") {
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
	return oldVerdict{mine: true, err: "unsupported #Fields layout: the columns must start with " + strings.Join(want, ",") + " (message tracking) or " + strings.Join(other, ",") + " (protocol log)"}
}

func oldIsExchangeLine(line []byte) bool {
	if !oldIsDate(line) || len(line) < 20 || line[10] != 'T' {
		return false
	}
	ts := oldTimestamp(line)
	return len(ts) < len(line) && line[len(ts)] == ','
}

func oldDetectExchangeTracking(in *Inbound, line []byte) oldVerdict {
	if len(line) > 0 && line[0] == '#' {
		return oldExchangeHeader(line, oldExchangeTrackingFields, oldExchangeProtocolFields)
	}
	if !oldIsExchangeLine(line) {
		return oldVerdict{}
	}
	var f [9][2]int
	n := oldCsvFields(line, f[:])
	if n < 9 {
		if n >= 7 {
			return oldVerdict{} // perhaps a protocol log line
		}
		return oldVerdict{mine: true}
	}
	ev, src := line[f[8][0]:f[8][1]], line[f[7][0]:f[7][1]]
	if n7 := f[6][1] - f[6][0]; n7 == 1 && oldIsProtoEvent(line[f[6][0]]) {
		return oldVerdict{} // a protocol log line
	}
	if string(ev) != "RECEIVE" || string(src) != "SMTP" {
		return oldVerdict{mine: true}
	}
	return oldClientField(line, f[1][0], f[1][1])
}

func oldIsProtoEvent(c byte) bool { return c == '+' || c == '-' || c == '*' || c == '<' || c == '>' }

func oldDetectExchangeReceive(in *Inbound, line []byte) oldVerdict {
	if len(line) > 0 && line[0] == '#' {
		return oldExchangeHeader(line, oldExchangeProtocolFields, oldExchangeTrackingFields)
	}
	if !oldIsExchangeLine(line) {
		return oldVerdict{}
	}
	var f [7][2]int
	if oldCsvFields(line, f[:]) < 7 || f[6][1]-f[6][0] != 1 || !oldIsProtoEvent(line[f[6][0]]) {
		return oldVerdict{}
	}
	_, lport, ok := oldEndpoint(line, f[4][0], f[4][1])
	if !ok || string(lport) != "25" {
		return oldVerdict{mine: true}
	}
	m, _, ok := oldEndpoint(line, f[5][0], f[5][1])
	if !ok {
		return oldDoubtful("remote endpoint", line[f[5][0]:f[5][1]])
	}
	return oldVerdict{mine: true, found: true, m: m}
}

// --- Microsoft 365 message trace

func oldDetectM365(in *Inbound, line []byte) oldVerdict {
	l := in.csv
	if l == nil {
		return oldVerdict{}
	}
	if len(bytes.TrimSpace(line)) == 0 || oldHasPrefix(line, "#TYPE ") {
		return oldVerdict{mine: true}
	}
	var f [64][2]int
	k := oldCsvFields(line, f[:])
	if k != l.cols {
		// A quoted field with a line break in it (Export-Csv keeps a
		// subject's) splits its row: the client of neither part can be
		// told by its column.
		return oldVerdict{mine: true, doubt: fmt.Sprintf("a row of %d fields where the header has %d (a quoted field with a line break in it?): the client cannot be told; read this line yourself", k, l.cols)}
	}
	if l.dir >= 0 && l.dir < k && strings.EqualFold(string(line[f[l.dir][0]:f[l.dir][1]]), "Originating") {
		return oldVerdict{mine: true}
	}
	if h := bytes.TrimSpace(line[f[l.ip][0]:f[l.ip][1]]); bytes.EqualFold(h, []byte("FromIP")) || bytes.EqualFold(h, []byte("original_client_ip")) {
		return oldVerdict{mine: true} // the header (again, in concatenated exports)
	}
	v := oldClientField(line, f[l.ip][0], f[l.ip][1])
	if !v.found {
		return v
	}
	if l.time >= 0 && l.time < k {
		v.t0, v.t1 = f[l.time][0], f[l.time][1]
	}
	return v
}

// timestamp returns the time stamp at the start of a log line, as
// written, or nil: a syslog (RFC 3164) "Nov 22 07:14:45" (with
// microseconds in journalctl -o short-precise), journalctl -o
// short-full's "Tue 2026-11-22 07:14:45 UTC", an RFC 3339 or
// ISO 8601 stamp ("2026-11-22T07:14:45.123456+00:00", as rsyslog and
// Exchange write), or an Exim "2026-11-22 07:14:45" (with its optional
// fraction and "+0000" zone).
func oldTimestamp(line []byte) []byte {
	if len(line) >= 15 && oldIsMonth(line) && line[3] == ' ' && (line[4] == ' ' || oldIsDigit(line[4])) && oldIsDigit(line[5]) &&
		line[6] == ' ' && oldIsClock(line[7:]) {
		return line[:oldFraction(line, 15)] // journalctl -o short-precise adds microseconds
	}
	if len(line) >= 23 && oldIsWeekday(line) && line[3] == ' ' && oldIsDate(line[4:]) && line[14] == ' ' && oldIsClock(line[15:]) {
		// journalctl -o short-full: "Tue 2026-12-01 12:00:00 UTC"
		e := oldFraction(line, 23)
		if z := e + 1; e < len(line) && line[e] == ' ' {
			for z < len(line) && (line[z] >= 'A' && line[z] <= 'Z' || line[z] == '+' || line[z] == '-' || oldIsDigit(line[z])) {
				z++
			}
			if z > e+1 && z < len(line) && line[z] == ' ' {
				e = z
			}
		}
		return line[:e]
	}
	if !oldIsDate(line) {
		return nil
	}
	if len(line) > 10 && line[10] == 'T' {
		e := 11
		for e < len(line) && line[e] != ' ' && line[e] != ',' && line[e] != '\t' {
			e++
		}
		return line[:e]
	}
	if len(line) >= 19 && line[10] == ' ' && oldIsClock(line[11:]) {
		e := 19
		if e < len(line) && line[e] == '.' {
			e++
			for e < len(line) && oldIsDigit(line[e]) {
				e++
			}
		}
		if len(line) >= e+6 && line[e] == ' ' && (line[e+1] == '+' || line[e+1] == '-') &&
			oldIsDigit(line[e+2]) && oldIsDigit(line[e+3]) && oldIsDigit(line[e+4]) && oldIsDigit(line[e+5]) && (len(line) == e+6 || line[e+6] == ' ') {
			e += 6
		}
		return line[:e]
	}
	return nil
}

// fraction returns the end of the fraction of a second ".123456" at
// line[e:], or e when there is none.
func oldFraction(line []byte, e int) int {
	if e+1 < len(line) && line[e] == '.' && oldIsDigit(line[e+1]) {
		e++
		for e < len(line) && oldIsDigit(line[e]) {
			e++
		}
	}
	return e
}

func oldIsWeekday(b []byte) bool {
	switch string(b[:3]) {
	case "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun":
		return true
	}
	return false
}

func oldIsDigit(c byte) bool { return c >= '0' && c <= '9' }

// isDate reports whether line starts with "dddd-dd-dd".
func oldIsDate(b []byte) bool {
	return len(b) >= 10 && oldIsDigit(b[0]) && oldIsDigit(b[1]) && oldIsDigit(b[2]) && oldIsDigit(b[3]) && b[4] == '-' &&
		oldIsDigit(b[5]) && oldIsDigit(b[6]) && b[7] == '-' && oldIsDigit(b[8]) && oldIsDigit(b[9])
}

// isClock reports whether b starts with "dd:dd:dd".
func oldIsClock(b []byte) bool {
	return len(b) >= 8 && oldIsDigit(b[0]) && oldIsDigit(b[1]) && b[2] == ':' && oldIsDigit(b[3]) && oldIsDigit(b[4]) &&
		b[5] == ':' && oldIsDigit(b[6]) && oldIsDigit(b[7])
}

func oldIsMonth(b []byte) bool {
	switch string(b[:3]) {
	case "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec":
		return true
	}
	return false
}

// openRelayText is what Mimecast answers a relay whose address is not one
// of the account's authorized outbound addresses ("451 Open relay not
// allowed - https://community.mimecast.com/docs/DOC-1369#451 [...]").
var oldOpenRelayText = []byte("Open relay not allowed")

// openRelay recognises a Postfix smtp (or lmtp) client line where the
// server answered "Open relay not allowed", and returns the address of
// that server: the one in "host NAME[ADDR] said:", else relay=NAME[ADDR].
func oldOpenRelay(line []byte) (oldClient, bool) {
	line = TrimEOL(line)
	if !bytes.Contains(line, oldOpenRelayText) {
		return oldClient{}, false
	}
	prog, msg, ok := oldSyslog(line)
	if !ok {
		return oldClient{}, false
	}
	if !bytes.HasSuffix(prog, []byte("/smtp")) && !bytes.HasSuffix(prog, []byte("/lmtp")) {
		return oldClient{}, false
	}
	body := line[msg:]
	for _, key := range []string{"(host ", "relay="} {
		k := bytes.Index(body, []byte(key))
		if k < 0 {
			continue
		}
		from := k + len(key)
		b := bytes.IndexByte(body[from:], '[')
		if b < 0 || bytes.IndexByte(body[from:from+b], ' ') >= 0 {
			continue
		}
		if m, ok := oldBracket(line, msg+from+b); ok {
			return oldClient{m: m, format: 0, t0: -1, t1: -1}, true
		}
	}
	return oldClient{}, false
}
