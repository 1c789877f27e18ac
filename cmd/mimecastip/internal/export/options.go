package export

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/seed-b311f21d/go-mimecastip/cmd/mimecastip/internal/replycode"
)

// SPFAllTerms are the final terms an SPF export may end with. "+all"
// would pass every sender; anything else is no SPF all term.
var SPFAllTerms = []string{"~all", "-all", "?all"}

// ValidateReject checks a --reject action for the postfix and postscreen
// catch-all lines: one line of printable text starting with an access(5)
// action that keeps the client's mail out, the set policy --reject takes
// (policy.ValidateRefusal): REJECT [text], DEFER [text], DEFER_IF_PERMIT
// [text], 4NN text or 5NN text ("554 5.7.1 Not a Mimecast relay"), HOLD,
// DISCARD, or the restrictions reject, defer and defer_if_permit. An
// action that lets the client through (OK, DUNNO, PERMIT, PREPEND, ...)
// would turn the allowlist into an open door and is refused; so is a
// {placeholder}, which only the policy service fills in.
func ValidateReject(a string) error {
	t := strings.TrimSpace(a)
	if t == "" {
		return fmt.Errorf("empty action")
	}
	for _, r := range a {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("action %q has a control character", a)
		}
	}
	if strings.ContainsAny(t, "{}") {
		return fmt.Errorf("action %q has a {placeholder}: a cidr table's action is fixed text (placeholders are for the policy service)", a)
	}
	word, rest, _ := strings.Cut(t, " ")
	switch strings.ToUpper(word) {
	case "REJECT", "DEFER", "DEFER_IF_PERMIT", "HOLD", "DISCARD":
		return nil
	}
	if replycode.Refusal(word) {
		if strings.TrimSpace(rest) == "" {
			return fmt.Errorf("action %q: a %s code needs a text (\"%s 5.7.1 Not a Mimecast relay\")", a, word, word)
		}
		return nil
	}
	return fmt.Errorf("action %q does not keep the mail out: want REJECT [text], DEFER [text], DEFER_IF_PERMIT [text], 4NN/5NN text, HOLD or DISCARD, such as \"554 5.7.1 Not a Mimecast relay\"", a)
}

// checkOptions validates o (after the defaults are set).
func checkOptions(o *Options) error {
	ok := false
	for _, t := range SPFAllTerms {
		ok = ok || o.SPFAll == t
	}
	if !ok {
		return fmt.Errorf("spf-all: %q is not one of %s", o.SPFAll, strings.Join(SPFAllTerms, ", "))
	}
	if o.Reject != "" {
		if err := ValidateReject(o.Reject); err != nil {
			return fmt.Errorf("reject: %w", err)
		}
	}
	for _, p := range o.Allow {
		if !p.IsValid() || p != p.Masked() || p.Addr().Is4In6() || p.Addr().Zone() != "" {
			return fmt.Errorf("allow: %v is not a canonical prefix", p)
		}
	}
	return nil
}

// ParseAllow parses a comma-separated list of CIDRs or addresses (an
// address is its /32 or /128) for [Options.Allow]. A prefix with host
// bits set, an IPv4-mapped address or a zone is an error, with what to
// write instead.
func ParseAllow(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		var p netip.Prefix
		if strings.Contains(f, "/") {
			var err error
			if p, err = netip.ParsePrefix(f); err != nil {
				return nil, fmt.Errorf("%q is not a CIDR", f)
			}
		} else {
			a, err := netip.ParseAddr(f)
			if err != nil {
				return nil, fmt.Errorf("%q is not an address or CIDR", f)
			}
			if a.Zone() != "" {
				return nil, fmt.Errorf("%q has a zone", f)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		switch {
		case p.Addr().Zone() != "":
			return nil, fmt.Errorf("%q has a zone", f)
		case p.Addr().Is4In6():
			return nil, fmt.Errorf("%q is IPv4-mapped IPv6, which firewalls never match IPv4 clients against: write the IPv4 form", f)
		case p != p.Masked():
			return nil, fmt.Errorf("%q has host bits set: write %s", f, p.Masked())
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no CIDR given")
	}
	return out, nil
}

// allowed returns the prefixes of o.Allow of one family.
func (w *writer) allowed(v4 bool) []netip.Prefix {
	var out []netip.Prefix
	for _, p := range w.o.Allow {
		if p.Addr().Is4() == v4 {
			out = append(out, p)
		}
	}
	return out
}

// exemptText says in a firewall header what is accepted besides the
// ranges; family is "" for both, "4" or "6".
func (w *writer) exemptText(family string) string {
	var parts []string
	if !w.o.NoLoopback {
		lo := "127.0.0.0/8 and ::1"
		switch family {
		case "4":
			lo = "127.0.0.0/8"
		case "6":
			lo = "::1"
		}
		parts = append(parts, "loopback sources ("+lo+": local clients such as a content filter or monitoring)")
	}
	var allow []string
	for _, p := range w.o.Allow {
		if family == "" || (family == "4") == p.Addr().Is4() {
			allow = append(allow, p.String())
		}
	}
	if len(allow) > 0 {
		parts = append(parts, "--allow "+strings.Join(allow, ","))
	}
	if len(parts) == 0 {
		return "Accepted besides the ranges: nothing (--allow-loopback=false, no --allow); every other client is reset."
	}
	return "Accepted besides the ranges: " + strings.Join(parts, " and ") + ". Add your own relays with --allow CIDR,...; every other client is reset."
}

// nftExempt writes the smtp_in chain's accept rules for loopback and
// --allow, before its reject; dport is the chain's port expression ("25",
// "{ 25, 587 }").
func (w *writer) nftExempt(dport string) {
	if !w.o.NoLoopback {
		w.printf("\t\ttcp dport %s ip saddr 127.0.0.0/8 accept\n", dport)
		w.printf("\t\ttcp dport %s ip6 saddr ::1 accept\n", dport)
	}
	for _, fam := range []struct {
		v4  bool
		sel string
	}{{true, "ip"}, {false, "ip6"}} {
		if ps := w.allowed(fam.v4); len(ps) > 0 {
			s := make([]string, len(ps))
			for i, p := range ps {
				s[i] = p.String()
			}
			w.printf("\t\ttcp dport %s %s saddr { %s } accept\n", dport, fam.sel, strings.Join(s, ", "))
		}
	}
}

// xtablesExempt writes the chain's accept rules for loopback and --allow
// of one family, before its reject.
func (w *writer) xtablesExempt(chain string, v4 bool) {
	if !w.o.NoLoopback {
		lo := "127.0.0.0/8"
		if !v4 {
			lo = "::1/128"
		}
		w.printf("-A %s -s %s -j ACCEPT\n", chain, lo)
	}
	for _, p := range w.allowed(v4) {
		w.printf("-A %s -s %s -j ACCEPT\n", chain, p)
	}
	if other := w.allowed(!v4); len(other) > 0 {
		fam := "ip6tables"
		if !v4 {
			fam = "iptables"
		}
		w.o.Warn("%d --allow prefixes of the other family left out; use --format %s for them", len(other), fam)
	}
}
