// Package spf expands SPF records that list netblocks, such as Mimecast's
// _netblocks records, into the prefixes they publish.
//
// It is not an SPF evaluator (check_host of RFC 7208). It follows only what
// a netblock record may hold: ip4: and ip6: mechanisms, include: and the
// redirect= modifier, within the processing limits of RFC 7208 §4.6.4 (at
// most 10 DNS-querying terms, at most 2 void lookups) and with loop
// detection. Everything that would make the answer depend on the client
// (a, mx, ptr, exists, macros) is refused as "unsupported in a netblock
// record", and so are qualifiers other than "+" on ip4:, ip6: and include:
// ("-ip4:" lists addresses that must NOT send) and a passing "all" ("+all"
// makes every address a sender). "-all", "~all" and "?all" are ignored, and
// so are exp= and unknown modifiers.
//
// Every prefix is also checked with [regions.CheckPrefix]: private,
// loopback, documentation and other special-purpose space, and prefixes
// broader than /16 (IPv4) or /32 (IPv6), are refused, so a poisoned or
// broken answer never reaches a data file. Sizes are bounded by [Limits].
//
// Errors are *[Error] values whose [Kind] tells a failed lookup (timeout,
// server failure, name not found: the caller cannot know what the record
// says) from a broken or refused record.
package spf

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/seed-b311f21d/go-mimecastip/cmd/mimecastip/internal/iprange"
	"github.com/seed-b311f21d/go-mimecastip/regions"
)

// Lookuper looks up the TXT records of a name. *net.Resolver satisfies it.
type Lookuper interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
}

// Limits bound an expansion. A zero field takes its value from
// [DefaultLimits].
type Limits struct {
	// MaxLookups is the most DNS-querying terms (include:, redirect=) an
	// expansion may follow, not counting the first lookup (RFC 7208
	// §4.6.4: 10).
	MaxLookups int
	// MaxVoid is the most void lookups (an include: or redirect= target
	// without an SPF record: NXDOMAIN, no TXT records, or no v=spf1
	// record) an expansion tolerates (RFC 7208 §4.6.4: 2). Up to this many
	// are recorded in [Result.Voids]; one more is an error.
	MaxVoid int
	// MaxTXTBytes is the most bytes of TXT data (all records at one name
	// together) accepted from one answer.
	MaxTXTBytes int
	// MaxTerms is the most terms one record may hold.
	MaxTerms int
	// MaxPrefixes is the most distinct prefixes one expansion may list.
	MaxPrefixes int
}

// DefaultLimits are the limits used for zero fields of [Expander.Limits].
//
// 4 KiB of TXT is eight times the largest _netblocks record seen (about
// 500 bytes); 512 terms is more than 4 KiB can hold with real prefixes;
// 512 prefixes is more than 25 times the largest region (about 20) and
// about 8 times the global record (about 65).
var DefaultLimits = Limits{
	MaxLookups:  10,
	MaxVoid:     2,
	MaxTXTBytes: 4096,
	MaxTerms:    512,
	MaxPrefixes: 512,
}

func (l Limits) withDefaults() Limits {
	if l.MaxLookups <= 0 {
		l.MaxLookups = DefaultLimits.MaxLookups
	}
	if l.MaxVoid <= 0 {
		l.MaxVoid = DefaultLimits.MaxVoid
	}
	if l.MaxTXTBytes <= 0 {
		l.MaxTXTBytes = DefaultLimits.MaxTXTBytes
	}
	if l.MaxTerms <= 0 {
		l.MaxTerms = DefaultLimits.MaxTerms
	}
	if l.MaxPrefixes <= 0 {
		l.MaxPrefixes = DefaultLimits.MaxPrefixes
	}
	return l
}

// Kind says what went wrong.
type Kind uint8

// The kinds of [Error]. KindTimeout, KindServFail, KindNotFound, KindNoSPF
// and KindTemp are failed lookups: what the record says is unknown.
// KindPerm is a record that was read and is broken, unsupported or refused
// by a guard.
const (
	KindPerm     Kind = iota + 1 // a broken, unsupported or refused record
	KindTimeout                  // a lookup timed out
	KindServFail                 // the server answered SERVFAIL (or another error code)
	KindNotFound                 // NXDOMAIN, or the name has no TXT records
	KindNoSPF                    // the name has TXT records but no v=spf1 record
	KindTemp                     // another lookup failure (network error, bad answer)
)

var kindNames = [...]string{
	KindPerm: "refused", KindTimeout: "timeout", KindServFail: "servfail",
	KindNotFound: "nxdomain", KindNoSPF: "no-spf", KindTemp: "lookup-error",
}

// String returns a short token for k: "refused", "timeout", "servfail",
// "nxdomain", "no-spf" or "lookup-error".
func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Unknown reports whether k is a failed lookup, after which what the
// record says is unknown (as opposed to a record that was read and
// refused).
func (k Kind) Unknown() bool { return k != KindPerm && k != 0 }

// Error is the error of an expansion.
type Error struct {
	Kind Kind
	Name string // the name whose record (or lookup) failed
	Term string // the offending term of that record; "" when none
	Err  error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("spf: ")
	b.WriteString(e.Name)
	if e.Term != "" {
		fmt.Fprintf(&b, ": term %q", e.Term)
	}
	b.WriteString(": ")
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// KindOf returns the Kind of err's *Error, or 0 when err is not one.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return 0
}

// Node is one record of an expansion: the name looked up and what it
// lists, with the records it includes as children.
type Node struct {
	Name       string         // the name looked up, lower case, without a final dot
	Via        string         // "include" or "redirect"; "" for the first record
	Record     string         // the v=spf1 record; "" for a void lookup
	Void       string         // why the lookup was void ("nxdomain", "no-spf"); "" when not void
	Prefixes   []netip.Prefix // the prefixes the record lists itself, in record order, without repeats
	Children   []*Node        // the records it includes or redirects to, in record order
	Lookups    int            // DNS-querying terms of this record
	TermsTotal int            // terms of the record after v=spf1
}

// All returns the prefixes of n and of every record below it, sorted and
// without repeats.
func (n *Node) All() []netip.Prefix {
	set := map[netip.Prefix]bool{}
	var walk func(*Node)
	walk = func(n *Node) {
		for _, p := range n.Prefixes {
			set[p] = true
		}
		for _, c := range n.Children {
			walk(c)
		}
	}
	walk(n)
	return sortedSet(set)
}

// Result is a successful expansion.
type Result struct {
	Name     string         // the name expanded
	Root     *Node          // its record and everything below it
	Prefixes []netip.Prefix // every prefix listed, sorted, without repeats
	Lookups  int            // DNS-querying terms followed (at most Limits.MaxLookups)
	Voids    []string       // names of void include: or redirect= targets (at most Limits.MaxVoid)
	Notes    []string       // things worth knowing that are not errors, e.g. masked host bits
}

// Partial reports whether some include: or redirect= target was void, so
// that the expansion may lack the prefixes that target used to list.
func (r *Result) Partial() bool { return len(r.Voids) > 0 }

// Include is one record named by the first record of an expansion (an
// include: or the redirect= target) with every prefix below it.
type Include struct {
	Name     string
	Via      string // "include" or "redirect"
	Void     string // why its lookup was void; "" when not void
	Prefixes []netip.Prefix
}

// Includes returns the per-include breakdown of the first record: for
// _netblocks.mimecast.com, one entry per regional include.
func (r *Result) Includes() []Include {
	var out []Include
	for _, c := range r.Root.Children {
		out = append(out, Include{Name: c.Name, Via: c.Via, Void: c.Void, Prefixes: c.All()})
	}
	return out
}

// Expander expands SPF netblock records. The zero Expander uses
// [net.DefaultResolver], [DefaultLimits] and no timeout of its own.
type Expander struct {
	Resolver Lookuper
	Limits   Limits
	// Timeout bounds each lookup; 0 leaves it to ctx and the resolver.
	Timeout time.Duration
}

type state struct {
	x      *Expander
	lim    Limits
	res    *Result
	lookup int
	path   []string
	seen   map[netip.Prefix]bool
}

// Expand looks up name's SPF record and expands it. A failed lookup of
// name itself is an error of an "unknown" [Kind] (see [Kind.Unknown]); a
// void include: or redirect= target below it is recorded in [Result.Voids]
// up to Limits.MaxVoid and is an error (KindPerm) beyond.
func (x *Expander) Expand(ctx context.Context, name string) (*Result, error) {
	n, err := normName(name)
	if err != nil {
		return nil, &Error{Kind: KindPerm, Name: name, Err: err}
	}
	st := &state{x: x, lim: x.Limits.withDefaults(), res: &Result{Name: n}, seen: map[netip.Prefix]bool{}}
	root, err := st.expand(ctx, n, "")
	if err != nil {
		return nil, err
	}
	st.res.Root = root
	st.res.Lookups = st.lookup
	st.res.Prefixes = sortedSet(st.seen)
	return st.res, nil
}

func (st *state) resolver() Lookuper {
	if st.x.Resolver != nil {
		return st.x.Resolver
	}
	return net.DefaultResolver
}

// fetch returns name's single v=spf1 record.
func (st *state) fetch(ctx context.Context, name string) (string, error) {
	if st.x.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, st.x.Timeout)
		defer cancel()
	}
	txts, err := st.resolver().LookupTXT(ctx, name+".")
	if err != nil {
		k := lookupKind(err)
		if k == KindTimeout && st.x.Timeout > 0 {
			err = fmt.Errorf("no answer within %v: %w", st.x.Timeout, err)
		}
		return "", &Error{Kind: k, Name: name, Err: err}
	}
	if len(txts) == 0 {
		return "", &Error{Kind: KindNotFound, Name: name, Err: errors.New("no TXT records")}
	}
	size := 0
	for _, t := range txts {
		size += len(t)
	}
	if size > st.lim.MaxTXTBytes {
		return "", &Error{Kind: KindPerm, Name: name, Err: fmt.Errorf("TXT answer of %d bytes is larger than the limit of %d", size, st.lim.MaxTXTBytes)}
	}
	var recs []string
	for _, t := range txts {
		if isSPF(t) {
			recs = append(recs, t)
		}
	}
	switch len(recs) {
	case 0:
		return "", &Error{Kind: KindNoSPF, Name: name, Err: fmt.Errorf("no v=spf1 record among %d TXT records", len(txts))}
	case 1:
		return recs[0], nil
	}
	return "", &Error{Kind: KindPerm, Name: name, Err: fmt.Errorf("%d v=spf1 records (RFC 7208 §4.5 allows one)", len(recs))}
}

func isSPF(t string) bool {
	return len(t) >= 6 && strings.EqualFold(t[:6], "v=spf1") && (len(t) == 6 || t[6] == ' ')
}

// lookupKind classifies a lookup error.
func lookupKind(err error) Kind {
	if errors.Is(err, context.DeadlineExceeded) {
		return KindTimeout
	}
	var de *net.DNSError
	if errors.As(err, &de) {
		switch {
		case de.IsTimeout:
			return KindTimeout
		case de.IsNotFound:
			return KindNotFound
		case de.Err == "server misbehaving":
			return KindServFail
		}
	}
	return KindTemp
}

func (st *state) expand(ctx context.Context, name, via string) (*Node, error) {
	st.path = append(st.path, name)
	defer func() { st.path = st.path[:len(st.path)-1] }()
	node := &Node{Name: name, Via: via}
	rec, err := st.fetch(ctx, name)
	if err != nil {
		k := KindOf(err)
		if via != "" && (k == KindNotFound || k == KindNoSPF) {
			// A void lookup (RFC 7208 §4.6.4).
			st.res.Voids = append(st.res.Voids, name)
			if len(st.res.Voids) > st.lim.MaxVoid {
				return nil, &Error{Kind: KindPerm, Name: name, Err: fmt.Errorf("more than %d void lookups (%s)", st.lim.MaxVoid, strings.Join(st.res.Voids, ", "))}
			}
			node.Void = k.String()
			return node, nil
		}
		return nil, err
	}
	node.Record = rec
	if err := checkText(rec); err != nil {
		return nil, &Error{Kind: KindPerm, Name: name, Err: err}
	}
	terms := strings.Fields(rec)[1:]
	node.TermsTotal = len(terms)
	if len(terms) > st.lim.MaxTerms {
		return nil, &Error{Kind: KindPerm, Name: name, Err: fmt.Errorf("record has %d terms, more than the limit of %d", len(terms), st.lim.MaxTerms)}
	}
	var (
		redirect, redirectTerm string
		sawRedirect, sawExp    bool
		sawAll                 bool
		listed                 = map[netip.Prefix]bool{}
	)
	perm := func(term string, format string, args ...any) error {
		return &Error{Kind: KindPerm, Name: name, Term: term, Err: fmt.Errorf(format, args...)}
	}
	for _, term := range terms {
		if mod, val, ok := modifier(term); ok {
			switch mod {
			case "redirect":
				if sawRedirect {
					return nil, perm(term, "second redirect= modifier")
				}
				sawRedirect = true
				d, err := domainSpec(val)
				if err != nil {
					return nil, perm(term, "%v", err)
				}
				redirect, redirectTerm = d, term
			case "exp":
				if sawExp {
					return nil, perm(term, "second exp= modifier")
				}
				sawExp = true
			}
			continue // exp= and unknown modifiers are ignored (RFC 7208 §6)
		}
		qual := byte('+')
		body := term
		if strings.ContainsRune("+-~?", rune(term[0])) {
			qual, body = term[0], term[1:]
		}
		mech, arg, hasArg := strings.Cut(body, ":")
		if !hasArg {
			mech, arg, hasArg = strings.Cut(body, "/")
			if hasArg {
				arg = "/" + arg
			}
		}
		mech = strings.ToLower(mech)
		if sawAll && mech != "all" {
			st.res.Notes = append(st.res.Notes, fmt.Sprintf("%s: term %q after \"all\" is never evaluated; ignored", name, term))
			continue
		}
		switch mech {
		case "all":
			if hasArg {
				return nil, perm(term, "\"all\" takes no argument")
			}
			if qual == '+' {
				return nil, perm(term, "a passing \"all\" makes every address a sender; refused in a netblock record")
			}
			sawAll = true
		case "ip4", "ip6":
			if qual != '+' {
				return nil, perm(term, "qualifier %q is unsupported in a netblock record (only \"+\" lists senders)", string(qual))
			}
			if !hasArg || strings.HasPrefix(arg, "/") {
				return nil, perm(term, "%s: needs an address", mech)
			}
			p, note, err := parseNet(mech, arg)
			if err != nil {
				return nil, perm(term, "%v", err)
			}
			if note != "" {
				st.res.Notes = append(st.res.Notes, fmt.Sprintf("%s: term %q: %s", name, term, note))
			}
			if err := regions.CheckPrefix(p); err != nil {
				return nil, perm(term, "refused: %v", err)
			}
			if !listed[p] {
				listed[p] = true
				node.Prefixes = append(node.Prefixes, p)
			}
			if !st.seen[p] {
				if len(st.seen) >= st.lim.MaxPrefixes {
					return nil, perm(term, "more than %d prefixes in the expansion of %s", st.lim.MaxPrefixes, st.path[0])
				}
				st.seen[p] = true
			}
		case "include":
			if qual != '+' {
				return nil, perm(term, "qualifier %q is unsupported in a netblock record (only \"+\" lists senders)", string(qual))
			}
			if !hasArg || strings.HasPrefix(arg, "/") {
				return nil, perm(term, "include: needs a domain")
			}
			d, err := domainSpec(arg)
			if err != nil {
				return nil, perm(term, "%v", err)
			}
			child, err := st.follow(ctx, node, term, d, "include")
			if err != nil {
				return nil, err
			}
			node.Children = append(node.Children, child)
		case "a", "mx", "ptr", "exists":
			return nil, perm(term, "mechanism %q is unsupported in a netblock record", mech)
		default:
			return nil, perm(term, "unknown mechanism %q", mech)
		}
	}
	if redirect != "" {
		if sawAll {
			st.res.Notes = append(st.res.Notes, fmt.Sprintf("%s: %q is ignored because the record has \"all\" (RFC 7208 §6.1)", name, redirectTerm))
		} else {
			child, err := st.follow(ctx, node, redirectTerm, redirect, "redirect")
			if err != nil {
				return nil, err
			}
			node.Children = append(node.Children, child)
		}
	}
	return node, nil
}

// follow counts a DNS-querying term, checks for a loop and expands target.
func (st *state) follow(ctx context.Context, node *Node, term, target, via string) (*Node, error) {
	st.lookup++
	node.Lookups++
	if st.lookup > st.lim.MaxLookups {
		return nil, &Error{Kind: KindPerm, Name: node.Name, Term: term, Err: fmt.Errorf("more than %d DNS-querying terms (RFC 7208 §4.6.4)", st.lim.MaxLookups)}
	}
	if slices.Contains(st.path, target) {
		return nil, &Error{Kind: KindPerm, Name: node.Name, Term: term, Err: fmt.Errorf("include loop: %s -> %s", strings.Join(st.path, " -> "), target)}
	}
	return st.expand(ctx, target, via)
}

// modifier splits a name=value term (RFC 7208 §4.6.1); ok is false for a
// mechanism.
func modifier(term string) (name, value string, ok bool) {
	i := strings.IndexByte(term, '=')
	if i <= 0 {
		return "", "", false
	}
	name = term[:i]
	if !isAlpha(name[0]) {
		return "", "", false
	}
	for j := 1; j < len(name); j++ {
		c := name[j]
		if !(isAlpha(c) || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return "", "", false
		}
	}
	return strings.ToLower(name), term[i+1:], true
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// parseNet parses the argument of ip4: or ip6:. A bare address is a /32 or
// /128; host bits are masked off (RFC 7208 §5.6 compares only the
// prefix), which note reports.
func parseNet(mech, arg string) (p netip.Prefix, note string, err error) {
	var a netip.Addr
	if strings.Contains(arg, "/") {
		p, err = netip.ParsePrefix(arg)
		if err != nil {
			return netip.Prefix{}, "", fmt.Errorf("bad %s network %q", mech, arg)
		}
		a = p.Addr()
	} else {
		a, err = netip.ParseAddr(arg)
		if err != nil {
			return netip.Prefix{}, "", fmt.Errorf("bad %s address %q", mech, arg)
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	if a.Zone() != "" {
		return netip.Prefix{}, "", fmt.Errorf("%s address %q has a zone", mech, arg)
	}
	if mech == "ip4" && !a.Is4() {
		return netip.Prefix{}, "", fmt.Errorf("ip4: holds a non-IPv4 address %q", arg)
	}
	if mech == "ip6" && !a.Is6() {
		return netip.Prefix{}, "", fmt.Errorf("ip6: holds a non-IPv6 address %q", arg)
	}
	if m := p.Masked(); m != p {
		note = fmt.Sprintf("host bits set; using %s", m)
		p = m
	}
	return p, note, nil
}

// domainSpec checks the target of include: or redirect= and returns it in
// lower case without a final dot. Macros are refused.
func domainSpec(s string) (string, error) {
	if strings.ContainsRune(s, '%') {
		return "", fmt.Errorf("macros are unsupported in a netblock record")
	}
	return normName(s)
}

// normName checks a domain name and returns it in lower case without a
// final dot.
func normName(s string) (string, error) {
	n := strings.ToLower(strings.TrimSuffix(s, "."))
	if n == "" || len(n) > 253 {
		return "", fmt.Errorf("bad domain name %q", s)
	}
	labels := strings.Split(n, ".")
	if len(labels) < 2 {
		return "", fmt.Errorf("domain name %q is not fully qualified", s)
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 {
			return "", fmt.Errorf("bad domain name %q", s)
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return "", fmt.Errorf("bad domain name %q", s)
			}
		}
	}
	return n, nil
}

// checkText refuses records that are not printable ASCII (RFC 7208 §3: a
// record is ASCII).
func checkText(s string) error {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' || c > '~' {
			return fmt.Errorf("record holds a non-printable or non-ASCII byte 0x%02x at offset %d", c, i)
		}
	}
	return nil
}

func sortedSet(set map[netip.Prefix]bool) []netip.Prefix {
	out := make([]netip.Prefix, 0, len(set))
	for p := range set {
		out = append(out, p)
	}
	iprange.SortPrefixes(out)
	return out
}
