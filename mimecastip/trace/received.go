package trace

import (
	"net/netip"
	"strings"
)

// Hop is one parsed Received header field (RFC 5321 section 4.4): a
// server's record of the connection it received the message on.
type Hop struct {
	Index int    // position among the message's Received fields, 0 for the topmost
	Line  int    // line of the field in the input; 0 when not read from one
	Raw   string // the unfolded field value
	// From is the name the client gave (the HELO name, or an address
	// literal), as written after "from"; "" when there is no from clause.
	From string
	// RDNS is the host name the receiving server recorded next to the
	// address (Postfix's "(name [address])"), "" when none, "unknown", or
	// unverified (Sendmail's "(name [address] (may be forged))").
	RDNS string
	// Addr is the address of the connecting client as the receiving
	// server recorded it (IPv4-mapped addresses unmapped, zones dropped);
	// the zero Addr when the from clause holds no unambiguous address.
	Addr netip.Addr
	// AddrProblem says in words why Addr is zero.
	AddrProblem string
	By          string // the receiving host after "by", lower case, no trailing dot
	With        string // the first word after "with" (ESMTP, ESMTPS, ...)
	ID          string // the queue id after "id"
}

// rtoken is a token of a Received value: a word at the top level, or the
// text of a comment (parenthesized, nesting allowed).
type rtoken struct {
	text    string
	comment bool
}

// tokenize splits a Received value up to its top-level ";" (the date
// follows it) into words and comments. Square-bracket literals are one
// word even when they hold spaces. The work is linear in the length of v.
// bad is the index in toks of the first token where the parentheses do
// not balance (a ")" outside any comment, or a comment that is never
// closed), or -1: a client-chosen name that opens or closes a comment can
// move the text the receiving server wrote into or out of a comment.
func tokenize(v string) (toks []rtoken, bad int) {
	var out []rtoken
	bad = -1
	i := 0
	for i < len(v) {
		c := v[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			i++
		case c == ';':
			return out, bad
		case c == ')':
			if bad < 0 {
				bad = len(out)
			}
			i++
		case c == '(':
			depth, j := 0, i
			var b strings.Builder
			for ; j < len(v); j++ {
				d := v[j]
				if d == '\\' && j+1 < len(v) {
					j++
					b.WriteByte(v[j])
					continue
				}
				if d == '(' {
					depth++
					if depth == 1 {
						continue
					}
				} else if d == ')' {
					depth--
					if depth == 0 {
						break
					}
				}
				b.WriteByte(d)
			}
			if depth != 0 && bad < 0 {
				bad = len(out)
			}
			out = append(out, rtoken{text: b.String(), comment: true})
			i = j + 1
		default:
			j := i
			inLit := false
			for ; j < len(v); j++ {
				d := v[j]
				if d == '[' {
					inLit = true
				} else if d == ']' {
					inLit = false
				} else if !inLit && (d == ' ' || d == '\t' || d == '\r' || d == '\n' || d == '(' || d == ')' || d == ';') {
					break
				}
			}
			out = append(out, rtoken{text: v[i:j]})
			i = j
		}
	}
	return out, bad
}

// The AddrProblems of a Received line that holds no address at all (as
// opposed to one whose address is ambiguous).
const (
	problemNoFrom = "no from clause"
	problemNoAddr = "the from clause records no address"
)

// clause keywords of a Received value.
var clauseWords = map[string]bool{"from": true, "by": true, "via": true, "with": true, "id": true, "for": true}

// ParseReceived parses the value of a Received field. It never fails: the
// parts it cannot find stay empty, and Hop.AddrProblem says why there is
// no address. A clause keyword that appears twice where once is the rule
// ("from", "by", "id") makes the address ambiguous: a client-chosen HELO
// name may be trying to imitate a clause. So do parentheses that do not
// balance before the "by" clause: a HELO name such as "x)" or "x(" can
// move the address the server wrote into or out of a comment.
func ParseReceived(v string) Hop {
	h := Hop{Raw: v}
	toks, bad := tokenize(v)
	type clause struct {
		words    []string
		comments []string
	}
	clauses := map[string]*clause{}
	seen := map[string]int{}
	byAt := -1 // index of the first "by" keyword in toks
	var cur *clause
	for ti, t := range toks {
		if !t.comment {
			if k := strings.ToLower(t.text); clauseWords[k] {
				seen[k]++
				if k == "by" && byAt < 0 {
					byAt = ti
				}
				if seen[k] == 1 {
					cur = &clause{}
					clauses[k] = cur
				} else {
					cur = &clause{} // a second "with" etc.: ignored
				}
				continue
			}
		}
		if cur == nil {
			continue
		}
		if t.comment {
			cur.comments = append(cur.comments, t.text)
		} else {
			cur.words = append(cur.words, t.text)
		}
	}
	if c := clauses["by"]; c != nil && len(c.words) > 0 {
		h.By = strings.TrimSuffix(strings.ToLower(c.words[0]), ".")
	}
	if c := clauses["with"]; c != nil && len(c.words) > 0 {
		h.With = c.words[0]
	}
	if c := clauses["id"]; c != nil && len(c.words) > 0 {
		h.ID = strings.TrimRight(c.words[0], ",")
	}
	from := clauses["from"]
	if from != nil && len(from.words) > 0 {
		h.From = from.words[0]
	}
	switch {
	case from == nil:
		h.AddrProblem = problemNoFrom
		return h
	case seen["from"] > 1 || seen["by"] > 1 || seen["id"] > 1:
		h.AddrProblem = "a clause keyword (from, by or id) appears twice: ambiguous"
		return h
	case bad >= 0 && (byAt < 0 || bad <= byAt):
		h.AddrProblem = "the parentheses of the from clause do not balance: ambiguous"
		return h
	}
	h.Addr, h.RDNS, h.AddrProblem = fromAddr(from.words, from.comments)
	return h
}

// commentWords splits comment text into words at white space and at the
// parentheses of nested comments.
func commentWords(c string) []string {
	sep := func(b byte) bool { return b == ' ' || b == '\t' || b == '\r' || b == '\n' || b == '(' || b == ')' }
	n := 0 // count first, to allocate once
	for i := 0; i < len(c); i++ {
		if !sep(c[i]) && (i == 0 || sep(c[i-1])) {
			n++
		}
	}
	out := make([]string, 0, n)
	for i := 0; i < len(c); {
		for i < len(c) && sep(c[i]) {
			i++
		}
		j := i
		for j < len(c) && !sep(c[j]) {
			j++
		}
		if j > i {
			out = append(out, c[i:j])
		}
		i = j
	}
	return out
}

// eximForm reports whether the comments of a from clause whose name is an
// address literal are Exim's "(port=N helo=name ident=x)": Exim writes
// the client's address itself as the from name when it has no verified
// host name, and only then.
func eximForm(comments []string) bool {
	if len(comments) == 0 {
		return false
	}
	fs := commentWords(comments[0])
	if len(fs) == 0 {
		return false
	}
	w := strings.ToLower(fs[0])
	return strings.HasPrefix(w, "port=") || strings.HasPrefix(w, "helo=") || strings.HasPrefix(w, "ident=")
}

// fromAddr finds the client address in a from clause. What the receiving
// server wrote counts; what the client chose (its HELO name) never does:
//  1. address literals in the comments ("(name [192.0.2.1])", Exim's
//     "([192.0.2.1]:4321 helo=name)"), written by Postfix, Sendmail,
//     Exim, Gmail, ...; the from name is then the HELO name;
//  2. bare addresses in the comments (Exchange's "name (192.0.2.1)",
//     qmail's "(HELO name) (192.0.2.1)" or "(ident@192.0.2.1)"); the from
//     name is the HELO name, so "[198.51.100.1] (192.0.2.1)" is 192.0.2.1;
//  3. the from name when it is a literal and the comments hold no address
//     (Exim without a verified host name: "from [192.0.2.1] (helo=name)"),
//     or are Exim's "(port=N helo=name)" and hold no other address.
//
// Words that follow "helo=" or "HELO" are the client's claim and never
// count. Two different addresses the rules cannot rank are ambiguous: no
// address.
func fromAddr(words, comments []string) (netip.Addr, string, string) {
	const ambiguous = "the from clause records more than one address: ambiguous"
	var lits, bare []netip.Addr
	rdns := ""
	for _, c := range comments {
		fs := commentWords(c)
		forged := containsFold(c, "may be forged")
		for i := 0; i < len(fs); i++ {
			w := strings.TrimRight(fs[i], ",;")
			lw := strings.ToLower(w)
			if lw == "helo" || lw == "helo=" || lw == "ehlo" || lw == "ehlo=" {
				i++ // the next word is the claimed name
				continue
			}
			if strings.HasPrefix(lw, "helo=") || strings.HasPrefix(lw, "ehlo=") {
				continue
			}
			if strings.HasPrefix(w, "[") {
				if a, ok := parseLiteral(w); ok {
					lits = appendUnique(lits, a)
					if i > 0 && rdns == "" && !forged {
						n := strings.ToLower(strings.TrimSuffix(fs[i-1], "."))
						if at := strings.LastIndexByte(n, '@'); at >= 0 {
							n = n[at+1:] // Sendmail's "IDENT:user@name"
						}
						if n != "unknown" && !strings.HasPrefix(n, "[") && !strings.Contains(n, "=") {
							rdns = n
						}
					}
				}
				continue
			}
			if at := strings.LastIndexByte(w, '@'); at >= 0 {
				w = w[at+1:] // qmail's "(ident@192.0.2.1)"
			}
			if a, ok := parseBare(w); ok {
				bare = appendUnique(bare, a)
			}
		}
	}
	var name netip.Addr
	nameLit := false
	if len(words) > 0 && strings.HasPrefix(words[0], "[") {
		name, nameLit = parseLiteral(words[0])
	}
	if len(lits) > 1 || len(bare) > 1 {
		return netip.Addr{}, "", ambiguous
	}
	var server netip.Addr // the one address the comments hold
	switch {
	case len(lits) == 1 && len(bare) == 1 && lits[0] != bare[0]:
		return netip.Addr{}, "", ambiguous
	case len(lits) == 1:
		server = lits[0]
	case len(bare) == 1:
		server, rdns = bare[0], ""
	}
	switch {
	case nameLit && eximForm(comments):
		// Exim wrote the name; an address in its comment is the client's.
		if server.IsValid() && server != name {
			return netip.Addr{}, "", ambiguous
		}
		return name, "", ""
	case server.IsValid():
		return server, rdns, ""
	case nameLit:
		return name, "", ""
	}
	return netip.Addr{}, "", problemNoAddr
}

func appendUnique(s []netip.Addr, a netip.Addr) []netip.Addr {
	for _, x := range s {
		if x == a {
			return s
		}
	}
	return append(s, a)
}

// parseLiteral parses an address literal: "[192.0.2.1]", "[IPv6:2001:db8::1]",
// "[2001:db8::1]", optionally followed by ":port" (Exim) or "." etc.
func parseLiteral(w string) (netip.Addr, bool) {
	end := strings.IndexByte(w, ']')
	if end < 0 || w[0] != '[' {
		return netip.Addr{}, false
	}
	rest := w[end+1:]
	if rest != "" && !(rest[0] == ':' && isDigits(rest[1:])) && rest != "." {
		return netip.Addr{}, false
	}
	return parseBare(w[1:end])
}

// parseBare parses an address with an optional "IPv6:" tag; IPv4-mapped
// addresses are unmapped and zones dropped. It is not ParseAddr: the
// literal's brackets and port are parseLiteral's (which also allows the
// trailing "." of some MTAs), and a bare word in a Received field with a
// port is not taken for an address.
func parseBare(s string) (netip.Addr, bool) {
	if len(s) > 5 && strings.EqualFold(s[:5], "IPv6:") {
		s = s[5:]
	}
	if !addrLike(s) {
		return netip.Addr{}, false // spares ParseAddr's error for words
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap().WithZone(""), true
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// containsFold reports whether s contains sub, ignoring ASCII case,
// without allocating.
func containsFold(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return true
		}
	}
	return false
}

// addrLike reports whether s could be an IP address: hex digits, dots and
// colons (with one of them) up to an optional "%zone".
func addrLike(s string) bool {
	sepSeen := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '%' && i > 0:
			return sepSeen
		case c == '.' || c == ':':
			sepSeen = true
		case '0' <= c && c <= '9', 'a' <= c && c <= 'f', 'A' <= c && c <= 'F':
		default:
			return false
		}
	}
	return sepSeen
}
