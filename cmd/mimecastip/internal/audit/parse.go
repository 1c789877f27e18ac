// Package audit checks an existing allowlist against Mimecast's published
// ranges with interval arithmetic: which published ranges of the region
// the list misses (mail from them will be lost), which entries are not
// Mimecast at all (a bypass of the gateway), which belong to another
// region, which are retired ranges, and which are written in a way a mail
// system silently skips (a CIDR with host bits set, an IPv4-mapped IPv6
// prefix) or cannot read at all.
//
// [Parse] extracts the entries from text in any of the formats package
// export writes and the forms admins paste: plain lines, single addresses,
// a.b.c.d-e.f.g.h ranges, CIDRs with a prefix length or a dotted netmask,
// PowerShell arrays ("1.2.3.0/24","5.6.7.0/24" and @{Add=...}), nft
// "elements = { ... }", ipset "add" lines, Postfix cidr lines with their
// actions, SPF ip4:/ip6: terms. '#' starts a comment, and so do ';',
// "//", "--" and REM at the start of a line and "//" after a ';'; /* */,
// <!-- --> and <# #> are block comments: a commented-out entry is not
// part of the allowlist.
//
// Parsing fails closed: every word that looks like an attempt at an
// address, a CIDR or a range (it starts with digits and a dot, holds two
// or more colons between hex digits, follows ip4:/ip6:, or is a bare
// /NN) but is not a valid, strictly written one (010.1.1.1, 300.1.1.1,
// 170.10.129/24, 170.10.128.0/2A) becomes an entry with Invalid set, so
// the audit reports it with its line number instead of skipping it.
package audit

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/seed-b311f21d/go-mimecastip/cmd/mimecastip/internal/iprange"
	"github.com/seed-b311f21d/go-mimecastip/cmd/mimecastip/internal/replycode"
)

// MaxLineBytes is the longest line [Parse] reads; a longer line is an
// error (an allowlist has short lines; this bounds memory on hostile
// input).
const MaxLineBytes = 4 << 20

// Entry is one address, CIDR or range found in an allowlist.
type Entry struct {
	Line int    // 1-based line number
	Text string // the entry as written
	// Range is the addresses the entry stands for (for a CIDR with host
	// bits set, the masked prefix, as most tools read it).
	Range iprange.Range
	// Prefix is the entry's prefix when it is written as a CIDR (or a
	// single address, as a /32 or /128); zero for a range.
	Prefix netip.Prefix
	// NonCanonical is set for a CIDR with host bits set, such as
	// 170.10.132.5/24: Postfix skips such a rule, nginx warns.
	NonCanonical bool
	// Deny is set when the entry's line rejects rather than allows (a
	// Postfix REJECT or 5NN action, "reject", "drop", "deny", an
	// IPBlockList): such entries are not part of the allowlist.
	Deny bool
	// Exclude is set for an ipset "nomatch" entry: hash:net sets take
	// the most specific entry whatever the order, so the audit lets it
	// take its addresses from every allow entry, earlier or later (Deny is
	// set too).
	Exclude bool
	// Neutral is set for an iptables rule whose target neither accepts
	// nor rejects (-j LOG, RETURN, MARK, a user chain): the entry allows
	// nothing and shadows nothing (Deny is set too).
	Neutral bool
	// Invalid, when not empty, says why the entry cannot be used (not an
	// address, a prefix length out of range, a reversed range, an
	// IPv4-mapped IPv6 prefix); Range is then zero.
	Invalid string
}

// Parse reads an allowlist and returns its entries in order. It returns an
// error when r fails or a line is longer than [MaxLineBytes]; the entries
// read before are returned with it.
//
// Text in UTF-16 (with a byte-order mark, as Windows PowerShell writes
// it, or without one) is decoded as it is read; a UTF-8 byte-order mark is
// skipped.
func Parse(r io.Reader) ([]Entry, error) {
	r, err := decodeBOM(r)
	if err != nil {
		return nil, fmt.Errorf("line 1: %w", err)
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), MaxLineBytes)
	var out []Entry
	var toks []token
	n := 0
	spf := false  // an SPF record began: its other mechanisms are checked too
	inBlock := "" // the end marker of an open block comment
	var ifs []ifBlock
	var starts []int // each entry's byte offset in its line
	for sc.Scan() {
		n++
		line := sc.Text()
		line, inBlock = stripBlockComments(line, inBlock)
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		line = cutSlashComment(line)
		if lineComment(line) {
			continue
		}
		toks = lex(toks[:0], line)
		if len(toks) == 0 {
			continue
		}
		bang := strings.IndexByte(line, '!')
		if w := strings.ToLower(toks[0].s); w == "endif" && len(toks) == 1 {
			if len(ifs) > 0 {
				ifs = ifs[:len(ifs)-1]
			}
			continue
		} else if w == "if" && len(toks) > 1 && (toks[1].s != "" && strings.IndexByte(line[toks[0].end:toks[1].start], '(') < 0) {
			ifs = append(ifs, ifCond(line, toks, n, bang, &out))
			for len(starts) < len(out) {
				starts = append(starts, toks[1].start)
			}
			continue
		}
		start := len(out)
		lastEnd, firstEnd := -1, -1
		if !spf && strings.Contains(strings.ToLower(line), "v=spf1") {
			spf = true
		}
		for k := 0; k < len(toks); k++ {
			if spf {
				if why := spfTerm(toks[k].s); why != "" {
					out = append(out, Entry{Line: n, Text: toks[k].s, Invalid: why})
					starts = append(starts, toks[k].start)
					lastEnd = toks[k].end
					continue
				}
			}
			e, used, ok := entryAt(line, toks, k)
			if !ok {
				continue
			}
			e.Line = n
			if bang >= 0 && bang < toks[k].start {
				e = invalid(e.Text, "negated by the '!' before it: the rule matches every address except this one; write the allowed ranges themselves")
				e.Line = n
			}
			out = append(out, e)
			starts = append(starts, toks[k].start)
			k += used
			lastEnd = toks[k].end
			if firstEnd < 0 {
				firstEnd = lastEnd
			}
		}
		if len(ifs) > 0 {
			for i := start; i < len(out); i++ {
				clipToIfs(&out[i], ifs)
			}
		}
		if start < len(out) && !out[start].Deny && neutralTarget(line) {
			for i := start; i < len(out); i++ {
				out[i].Deny, out[i].Neutral = true, true
			}
		}
		if start < len(out) && strings.Contains(strings.ToLower(line), "remove") {
			markRemoved(line, out[start:], starts[start:])
		}
		if lastEnd >= 0 && (denyLine(line, lastEnd) || firstEnd >= 0 && neutralAfter(line, firstEnd)) {
			exclude := nomatch(line, lastEnd)
			for i := start; i < len(out); i++ {
				out[i].Deny = true
				out[i].Exclude = exclude
			}
		}
	}
	if err := sc.Err(); err != nil {
		if err == bufio.ErrTooLong {
			err = fmt.Errorf("line longer than %d bytes", MaxLineBytes)
		}
		return out, fmt.Errorf("line %d: %w", n+1, err)
	}
	return out, nil
}

// blockComments are the block comments admins use to switch entries off:
// C and named.conf, XML, PowerShell.
var blockComments = [][2]string{{"/*", "*/"}, {"<!--", "-->"}, {"<#", "#>"}}

// stripBlockComments blanks the block comments of line; open is the end
// marker of a comment still open from an earlier line ("" for none), and
// the result says which one is open after it. A commented-out entry is not
// part of the allowlist: if the tool reading the file does not take the
// comment as one, it cannot read the line either. A comment opens only at
// the start of a word (after a space, ';' or ','), not inside one.
func stripBlockComments(line, open string) (string, string) {
	var b strings.Builder
	for {
		if open != "" {
			i := strings.Index(line, open)
			if i < 0 {
				return b.String(), open
			}
			b.WriteByte(' ')
			line, open = line[i+len(open):], ""
			continue
		}
		at, which := -1, -1
		for k, c := range blockComments {
			for off := 0; ; {
				i := strings.Index(line[off:], c[0])
				if i < 0 {
					break
				}
				i += off
				if i == 0 || strings.IndexByte(" \t;,", line[i-1]) >= 0 {
					if at < 0 || i < at {
						at, which = i, k
					}
					break
				}
				off = i + 1
			}
		}
		if at < 0 {
			b.WriteString(line)
			return b.String(), ""
		}
		b.WriteString(line[:at])
		b.WriteByte(' ')
		line, open = line[at+len(blockComments[which][0]):], blockComments[which][1]
	}
}

// lineComment reports whether line is a comment in one of the styles
// admins use to switch an entry off: ';' (zone files, ini), "//" (C,
// named.conf, JSON5), "--" (SQL, Lua) and REM (batch) at its start.
// ("//" after a ';' is handled too: "170.10.132.0/23; // 170.10.128.0/22"
// keeps the first entry only.)
func lineComment(line string) bool {
	t := strings.TrimLeft(line, " \t")
	if strings.HasPrefix(t, ";") || strings.HasPrefix(t, "//") {
		return true
	}
	if strings.HasPrefix(t, "-- ") || t == "--" {
		return true
	}
	if len(t) >= 3 && strings.EqualFold(t[:3], "rem") && (len(t) == 3 || t[3] == ' ' || t[3] == '\t') {
		return true
	}
	return false
}

// ifBlock is an open Postfix cidr-table "if PATTERN" block: the rules up
// to its "endif" match only clients inside the pattern.
type ifBlock struct {
	line  int
	text  string
	rg    iprange.Range
	empty bool // the pattern is unusable: the block's rules are read as matching nothing
}

// ifCond reads the pattern of an "if" line (token 1); an unusable one
// (invalid, negated) is appended to out as an invalid entry.
func ifCond(line string, toks []token, n, bang int, out *[]Entry) ifBlock {
	e, _, ok := entryAt(line, toks, 1)
	switch {
	case !ok:
		e = invalid(toks[1].s, "an if line without an address pattern (a cidr table's \"if PATTERN\" takes an address or CIDR)")
	case bang >= 0 && bang < toks[1].start:
		e = invalid(e.Text, "a negated if block (if !PATTERN): audit cannot check what its rules let through; write the allowed ranges without it")
	case e.Invalid == "" && e.NonCanonical:
		e = invalid(e.Text, "host bits set in an if pattern: Postfix skips it; write %s", e.Prefix)
	}
	if e.Invalid != "" {
		e.Line = n
		*out = append(*out, e)
		return ifBlock{line: n, text: e.Text, empty: true}
	}
	return ifBlock{line: n, text: e.Text, rg: e.Range}
}

// clipToIfs narrows e to the addresses of its enclosing if blocks; an
// entry outside them never matches and becomes invalid.
func clipToIfs(e *Entry, ifs []ifBlock) {
	if e.Invalid != "" {
		return
	}
	rg := e.Range
	for _, b := range ifs {
		if b.empty || b.rg.From.Is4() != rg.From.Is4() || b.rg.To.Less(rg.From) || rg.To.Less(b.rg.From) {
			line, deny := e.Line, e.Deny
			*e = invalid(e.Text, "never matches: outside the enclosing \"if %s\" block of line %d (rules in an if block match only clients inside its pattern)", b.text, b.line)
			e.Line, e.Deny = line, deny
			return
		}
		if rg.From.Less(b.rg.From) {
			rg.From = b.rg.From
		}
		if b.rg.To.Less(rg.To) {
			rg.To = b.rg.To
		}
	}
	e.Range = rg
}

// jumpTarget finds an iptables rule's target.
var jumpTarget = regexp.MustCompile(`(?:^|\s)(?:-j|--jump)\s+(\S+)`)

// neutralTarget reports whether line is an iptables rule whose target is
// not ACCEPT nor a rejecting one: LOG, RETURN, MARK, a user chain. Its
// addresses are not allowed by it (a user chain is not followed: when in
// doubt, not allowed).
func neutralTarget(line string) bool {
	var m []string
	if strings.Contains(line, "-j") { // the regexp only where it can match: it allocates
		m = jumpTarget.FindStringSubmatch(line)
	}
	if m == nil {
		return nftNeutral(line)
	}
	switch strings.ToUpper(m[1]) {
	case "ACCEPT", "REJECT", "DROP":
		return false
	}
	return true
}

// nftNeutral reports whether line is an nft rule matching a source
// address ("ip saddr", "ip6 saddr") whose verdict is not accept, drop or
// reject (jump, goto, log, counter, return): its addresses are not
// allowed by it.
func nftNeutral(line string) bool {
	if !containsFold(line, "saddr") {
		return false
	}
	words := strings.Fields(strings.ToLower(line))
	saddr := false
	for _, w := range words {
		switch w {
		case "saddr":
			saddr = true
		case "accept", "drop", "reject":
			return false
		}
	}
	return saddr
}

// addRemove finds PowerShell hashtable keys "Add=" and "Remove=" (any
// case, spaces around '=').
var addRemove = regexp.MustCompile(`(?i)\b(add|remove)\s*=`)

// markRemoved marks the entries of a line that stand in a PowerShell
// @{Remove=...} (Set-HostedConnectionFilterPolicy -IPAllowList,
// Set-ReceiveConnector -RemoteIPRanges): they are taken out of the list,
// so they are not allowed wherever they stand (Deny and Exclude).
func markRemoved(line string, es []Entry, starts []int) {
	if !strings.Contains(line, "=") { // no key: skip the allocating regexp
		return
	}
	keys := addRemove.FindAllStringSubmatchIndex(line, -1)
	for i := range es {
		remove := false
		for _, k := range keys {
			if k[0] > starts[i] {
				break
			}
			remove = strings.EqualFold(line[k[2]:k[3]], "remove")
		}
		if remove {
			es[i].Deny, es[i].Exclude = true, true
		}
	}
}

// cutSlashComment drops a "//" comment that follows a ';' (named.conf:
// "170.10.132.0/23; // 170.10.128.0/22").
func cutSlashComment(line string) string {
	for off := 0; ; {
		i := strings.Index(line[off:], "//")
		if i < 0 {
			return line
		}
		i += off
		if strings.HasSuffix(strings.TrimRight(line[:i], " \t"), ";") {
			return line[:i]
		}
		off = i + 2
	}
}

// token is a word of a line: a maximal run of characters that are not
// spaces or punctuation separating list items (quotes, commas, braces,
// brackets, parentheses, '=', '@', ';', '!').
type token struct {
	s          string
	start, end int // byte offsets in the line
}

func isDelim(r rune) bool {
	if r < utf8.RuneSelf {
		return r <= ' ' || r == 0x7f || strings.ContainsRune("\"'`,;{}()[]=@<>|!", r)
	}
	return unicode.IsSpace(r) || r == '\uFEFF'
}

// lex appends the tokens of line to toks. "[2001:db8::]/32" (an IPv6
// address in brackets with a prefix length) is one token without the
// brackets.
func lex(toks []token, line string) []token {
	start, first := -1, -1 // the current piece; the token's first byte
	var joined strings.Builder
	join := false
	flush := func(end int) {
		if start < 0 {
			return
		}
		t := token{s: line[start:end], start: start, end: end}
		if join {
			joined.WriteString(line[start:end])
			t.s, t.start = joined.String(), first
			joined.Reset()
			join = false
		}
		toks = append(toks, t)
		start = -1
	}
	for i := 0; i < len(line); {
		r, size := utf8.DecodeRuneInString(line[i:])
		if isDelim(r) {
			if r == ']' && start >= 0 && i+1 < len(line) && line[i+1] == '/' {
				// [v6]/NN: drop the bracket, keep the token going
				if !join {
					first = start
				}
				joined.WriteString(line[start:i])
				join = true
				start = i + 1
				i += size
				continue
			}
			flush(i)
		} else if start < 0 {
			start = i
		}
		i += size
	}
	flush(len(line))
	return toks
}

// stripScheme removes an SPF "ip4:"/"ip6:" or an SMTP "IPv6:" tag.
func stripScheme(s string) (string, bool) {
	for _, p := range []string{"ip4:", "ip6:", "ipv4:", "ipv6:"} {
		if len(s) >= len(p) && strings.EqualFold(s[:len(p)], p) {
			return s[len(p):], true
		}
	}
	return s, false
}

// entryAt builds the entry starting at token k; used is the number of
// further tokens it consumed (" - " and the end of a range). ok is false
// when the token is no attempt at an address.
func entryAt(line string, toks []token, k int) (e Entry, used int, ok bool) {
	text, tagged := stripScheme(toks[k].s)
	// a.b.c.d - e.f.g.h
	if k+2 < len(toks) && toks[k+1].s == "-" {
		endText, _ := stripScheme(toks[k+2].s)
		if looksLikeAddr(text, false) && looksLikeAddr(endText, false) {
			return rangeEntry(line[toks[k].start:toks[k+2].end], text, endText), 2, true
		}
	}
	if i := strings.IndexByte(text, '-'); i > 0 && !strings.Contains(text, "/") {
		a, b := text[:i], text[i+1:]
		if looksLikeAddr(a, false) || looksLikeAddr(b, false) {
			return rangeEntry(text, a, b), 0, true
		}
	}
	if !tagged && !looksLikeAddr(text, prevIsAction(toks, k)) {
		return Entry{}, 0, false
	}
	return addrEntry(text, text), 0, true
}

// prevIsAction reports whether token k follows a Postfix action or SMTP
// reply code, where "5.7.1" is an enhanced status code, not an address.
func prevIsAction(toks []token, k int) bool {
	if k == 0 {
		return false
	}
	p := toks[k-1].s
	if len(p) == 3 && (p[0] == '2' || p[0] == '4' || p[0] == '5') && isDigit(p[1]) && isDigit(p[2]) {
		return true
	}
	switch strings.ToLower(p) {
	case "reject", "defer", "defer_if_permit", "defer_if_reject", "hold", "discard", "warn", "ok", "permit":
		return true
	}
	return false
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isHex(c byte) bool { return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

// looksLikeAddr reports whether s is an attempt at an address, CIDR or
// range (valid or not): it starts with digits and a dot (but is not a
// plain decimal such as 1.0), it is a bare
// /NN, or before any '/' or '%' it has at least two colons between groups
// of at most four letters or digits (2001:db8::1, and typos such as
// 2001:db8::g). afterAction exempts an enhanced status code (4.7.1) after
// a reply code or action.
func looksLikeAddr(s string, afterAction bool) bool {
	if len(s) >= 2 && s[0] == '/' && isDigit(s[1]) {
		return true
	}
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	if i > 0 && i+1 < len(s) && s[i] == '.' && isDigit(s[i+1]) {
		if afterAction && isStatusCode(s) {
			return false
		}
		if isDecimal(s) {
			return false // 1.0 (<?xml version="1.0"?>), not an address
		}
		return true
	}
	head := s
	if j := strings.IndexAny(head, "/%"); j >= 0 {
		head = head[:j]
	}
	if strings.Count(head, ":") < 2 {
		return false
	}
	groups := strings.Split(head, ":")
	for j, g := range groups {
		if len(g) > 4 && !(j == len(groups)-1 && strings.Contains(g, ".")) {
			return false
		}
		for k := 0; k < len(g); k++ {
			if c := g[k]; !isHex(c) && c != '.' && !(c >= 'g' && c <= 'z' || c >= 'G' && c <= 'Z') {
				return false
			}
		}
	}
	return true
}

// spfTerm says why an SPF term of a record being read cannot be part of a
// checked allowlist, or returns "" for ip4:/ip6: terms (entries), ~all,
// -all, ?all and anything else. +all passes every sender; a, mx, ptr,
// include:, exists: and redirect= allow addresses that only DNS knows.
func spfTerm(tok string) string {
	t := strings.ToLower(tok)
	q := ""
	if t != "" && strings.ContainsRune("+-~?", rune(t[0])) {
		q, t = t[:1], t[1:]
	}
	mech, _, _ := strings.Cut(t, ":")
	if i := strings.IndexByte(mech, '/'); i >= 0 {
		mech = mech[:i]
	}
	switch mech {
	case "all":
		if q == "" || q == "+" {
			return "SPF " + tok + " passes every sender: the record allows the whole Internet (write ~all or -all)"
		}
	case "a", "mx", "ptr", "include", "exists", "redirect":
		if mech == t && (mech == "include" || mech == "exists") {
			return "" // a bare word, not a mechanism
		}
		return "SPF term " + tok + " allows addresses that only DNS knows: audit cannot check them; list them as ip4:/ip6: terms"
	}
	return ""
}

// isDecimal reports whether s is digits, one dot, digits: a version or
// a decimal number. (170.10/16 has a slash and stays an attempt.)
func isDecimal(s string) bool {
	a, b, ok := strings.Cut(s, ".")
	if !ok || a == "" || b == "" {
		return false
	}
	for _, p := range []string{a, b} {
		for j := 0; j < len(p); j++ {
			if !isDigit(p[j]) {
				return false
			}
		}
	}
	return true
}

// isStatusCode reports whether s is an RFC 3463 enhanced status code.
func isStatusCode(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) != 3 || len(parts[0]) != 1 || !strings.Contains("245", parts[0]) {
		return false
	}
	for _, p := range parts[1:] {
		if len(p) == 0 || len(p) > 3 {
			return false
		}
		for j := 0; j < len(p); j++ {
			if !isDigit(p[j]) {
				return false
			}
		}
	}
	return true
}

func invalid(text, format string, a ...any) Entry {
	return Entry{Text: text, Invalid: fmt.Sprintf(format, a...)}
}

// parseAddr parses s strictly (no leading zeros, no zone); why says what
// is wrong. It is not mimecastip.ParseAddr on purpose: an allowlist entry
// is a plain address, and the tolerant forms ([addr], addr:port, a zone)
// would let a malformed entry pass as a checked one.
func parseAddr(s string) (a netip.Addr, why string) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		msg := err.Error()
		if i := strings.Index(msg, "): "); i >= 0 {
			msg = msg[i+3:]
		}
		return netip.Addr{}, fmt.Sprintf("%q is not an IP address (%s)", s, msg)
	}
	if a.Zone() != "" {
		return netip.Addr{}, fmt.Sprintf("%q has an IPv6 zone (%%%s): allowlists take plain addresses", s, a.Zone())
	}
	return a, ""
}

// mappedWhy explains why an IPv4-mapped IPv6 entry is an error.
func mappedWhy(instead string) string {
	return "an IPv4-mapped IPv6 address (::ffff:a.b.c.d): Postfix, nft and iptables match IPv4 clients as IPv4 and never against it, so this entry allows nothing; write " + instead
}

func rangeEntry(text, from, to string) Entry {
	a, why := parseAddr(from)
	if why != "" {
		return invalid(text, "not a range: %s", why)
	}
	b, why := parseAddr(to)
	if why != "" {
		return invalid(text, "not a range: %s", why)
	}
	if a.Is4In6() || b.Is4In6() {
		return invalid(text, "%s", mappedWhy(a.Unmap().String()+"-"+b.Unmap().String()))
	}
	if a.Is4() != b.Is4() || b.Less(a) {
		return invalid(text, "not a range: the end is before the start or of another family")
	}
	return Entry{Text: text, Range: iprange.Range{From: a, To: b}}
}

// addrEntry parses s (text without an ip4:/ip6: tag) as an address or a
// CIDR with a prefix length or a dotted netmask.
func addrEntry(text, s string) Entry {
	addr, length, slash := strings.Cut(s, "/")
	if addr == "" {
		return invalid(text, "a prefix length without an address (no space goes before the '/')")
	}
	a, why := parseAddr(addr)
	if why != "" {
		return invalid(text, "%s", why)
	}
	bits := a.BitLen()
	if slash {
		switch {
		case length == "":
			return invalid(text, "nothing after the '/': want a prefix length")
		case strings.Contains(length, ".") && a.Is4():
			m, why := parseAddr(length)
			if why != "" || !m.Is4() {
				return invalid(text, "/%s is neither a prefix length nor a netmask", length)
			}
			n, ok := maskBits(m)
			if !ok {
				return invalid(text, "/%s is not a contiguous netmask", length)
			}
			bits = n
		default:
			n, ok := atoiStrict(length)
			if !ok {
				return invalid(text, "prefix length /%s is not a number (want /0 to /%d, no leading zeros)", length, a.BitLen())
			}
			if n > a.BitLen() {
				return invalid(text, "prefix length /%s is longer than /%d", length, a.BitLen())
			}
			bits = n
		}
	}
	if a.Is4In6() {
		if bits < 96 {
			// an IPv6 prefix wider than the mapped space: read as IPv6
			return prefixEntry(text, a, bits)
		}
		instead := netip.PrefixFrom(a.Unmap(), bits-96).Masked().String()
		if !slash {
			instead = a.Unmap().String()
		}
		return invalid(text, "%s", mappedWhy(instead))
	}
	return prefixEntry(text, a, bits)
}

// atoiStrict parses a decimal number of at most three digits without
// leading zeros.
func atoiStrict(s string) (int, bool) {
	if len(s) == 0 || len(s) > 3 || len(s) > 1 && s[0] == '0' {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}

func prefixEntry(text string, a netip.Addr, bits int) Entry {
	p := netip.PrefixFrom(a, bits)
	return Entry{Text: text, Prefix: p.Masked(), Range: iprange.RangeOf(p), NonCanonical: p != p.Masked()}
}

func maskBits(m netip.Addr) (int, bool) {
	b := m.As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	n := 0
	for n < 32 && v&(1<<(31-n)) != 0 {
		n++
	}
	if n < 32 && v<<n != 0 {
		return 0, false
	}
	return n, true
}

// nomatch reports whether the word after the last entry is ipset's
// "nomatch".
func nomatch(line string, lastEnd int) bool {
	f := strings.Fields(line[lastEnd:])
	return len(f) > 0 && strings.EqualFold(f[0], "nomatch")
}

// neutralAction reports whether f, the action right after a Postfix
// table entry, does not accept the client: DUNNO ("pretend that the
// lookup key was not found") and the non-final actions (WARN, INFO,
// PREPEND, FILTER, REDIRECT, BCC...) end the table lookup and leave the
// verdict to the next restriction, and a restriction name
// (permit_mynetworks, reject_...) passes only some clients. Such entries
// are not part of the allowlist, and shadow later lines as a REJECT does.
func neutralAction(f string) bool {
	switch w := strings.ToLower(f); w {
	case "dunno", "warn", "info", "prepend", "filter", "redirect", "bcc", "return", "hold":
		return true
	default:
		return strings.HasPrefix(w, "permit_") || strings.HasPrefix(w, "reject_") || strings.HasPrefix(w, "check_") || strings.HasPrefix(w, "defer_")
	}
}

// neutralAfter reports whether the word after the line's first entry
// (ending at byte end) is a neutral action: a Postfix table line is one
// key and its action, and the action text may hold addresses of its own
// (FILTER smtp:[127.0.0.1]:10025).
func neutralAfter(line string, end int) bool {
	f := strings.Fields(line[end:])
	return len(f) > 0 && neutralAction(f[0])
}

var denyWords = map[string]bool{
	"nomatch": true,
	"reject":  true, "drop": true, "deny": true, "discard": true, "defer": true, "hold": true,
	"defer_if_permit": true, "defer_if_reject": true, "ipblocklist": true, "blocklist": true,
	"blacklist": true, "denylist": true, "block": true,
}

// allowWords make a line an allowlist line even when it also holds a
// deny word ("-j ACCEPT -m comment --comment block-list"): when in doubt
// the entries count as allowed, so a foreign one is reported.
var allowWords = map[string]bool{
	"ok": true, "accept": true, "permit": true, "allow": true, "allowlist": true, "ipallowlist": true,
	"whitelist": true, "trusted": true,
}

// denyLine reports whether the line rejects its addresses: the action
// right after the last entry (which ends at byte lastEnd) is a 4NN/5NN
// code or a deny word (a Postfix table), or else a deny word appears
// anywhere in the line and no allow word does.
func denyLine(line string, lastEnd int) bool {
	for _, f := range strings.Fields(line[lastEnd:]) {
		if strings.HasPrefix(f, "/") {
			continue
		}
		if replycode.Refusal(f) {
			return true
		}
		if denyWords[strings.ToLower(f)] || neutralAction(f) {
			return true
		}
		break
	}
	words := strings.FieldsFunc(strings.ToLower(line), func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r == '_' || r >= '0' && r <= '9')
	})
	deny := false
	for _, w := range words {
		if allowWords[w] {
			return false
		}
		deny = deny || denyWords[w]
	}
	return deny
}

// containsFold reports whether s contains the lower-case ASCII word sub in
// any case, without allocating.
func containsFold(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		j := 0
		for j < len(sub) && (s[i+j]|0x20) == sub[j] {
			j++
		}
		if j == len(sub) {
			return true
		}
	}
	return false
}
