package policy

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/seed-b311f21d/go-mimecastip/cmd/mimecastip/internal/replycode"
)

// Default actions.
const (
	// DefaultPassAction answers Mimecast and non-SPF relay clients of the
	// configured regions: no opinion, the next restriction decides.
	DefaultPassAction = "DUNNO"
	// DefaultRejectAction answers every other client. {address} is
	// replaced by the client address.
	DefaultRejectAction = "REJECT 5.7.1 {address} is not a Mimecast gateway for this domain"
	// DefaultOtherAction answers Mimecast mail addresses of other regions
	// and of retired ranges: a temporary failure, so mail is delayed, not
	// lost, when the region data is wrong or during a Mimecast double-run
	// period. {regions} and {prefix} name the range.
	DefaultOtherAction = "DEFER_IF_PERMIT 4.7.1 {address} is in Mimecast range {prefix} ({regions}, {reason}), not accepted for this domain; try again later"
	// DefaultTagHeader is the header the tag-only mode prepends. It is
	// this project's own name, outside Mimecast's X-Mimecast-* namespace
	// (header decoders attribute those to Mimecast).
	DefaultTagHeader = "X-Mimecastip-Class"
	// LegacyTagHeader is the tag header of earlier versions, still
	// available with --tag-header.
	LegacyTagHeader = "X-Mimecast-Class"

	// noAddressAction answers a request without a usable client_address.
	// DEFER_IF_PERMIT: a temporary failure, unless a later restriction
	// rejects anyway. Never a pass.
	noAddressAction = "DEFER_IF_PERMIT 4.7.1 Policy service cannot classify the client address"
	// internalErrorAction answers a request whose handling failed.
	internalErrorAction = "DEFER_IF_PERMIT 4.3.0 Policy service internal error"
	// unsupportedAction answers a request type other than smtpd_access_policy.
	unsupportedAction = "DEFER_IF_PERMIT 4.3.5 Policy service does not support this request type"
)

// parseClientAddress accepts Postfix's bare client_address, and the
// bracketed and "IPv6:"-tagged forms for hand-written requests. IPv4-mapped
// addresses are unmapped and zones dropped. It is not mimecastip.ParseAddr
// on purpose: Postfix never sends a port in client_address, so an
// "addr:port" there is a malformed request, answered with a temporary
// failure rather than classified.
func parseClientAddress(s string) (netip.Addr, bool) {
	if len(s) >= 2 && s[0] == '[' && s[len(s)-1] == ']' {
		s = s[1 : len(s)-1]
	}
	if len(s) > 5 && strings.EqualFold(s[:5], "IPv6:") {
		s = s[5:]
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap().WithZone(""), true
}

// Decide classifies req's client address with the Engine in use and
// returns its decision: a thin layer over Engine.DecideAddr that turns
// requests without one usable client address into a TempFail. It does not
// recover panics; the connection handler does.
func (s *Server) Decide(req *Request) Decision {
	if req.hasRequest && req.Request != "smtpd_access_policy" {
		return Decision{Verdict: TempFail, Action: unsupportedAction, Reason: "unsupported request type"}
	}
	if req.ClientAddressCount == 0 || req.ClientAddress == "" {
		return Decision{Verdict: TempFail, Action: noAddressAction, Reason: "no client_address"}
	}
	if req.ClientAddressCount > 1 {
		return Decision{Verdict: TempFail, Action: noAddressAction, Reason: "client_address given more than once"}
	}
	addr, ok := parseClientAddress(req.ClientAddress)
	if !ok {
		return Decision{Verdict: TempFail, Action: noAddressAction, Reason: "client_address is not an IP address"}
	}
	if s.testHookDecide != nil {
		s.testHookDecide(req)
	}
	return s.cfg.Engine.DecideAddr(addr)
}

// template is an action with placeholders, split once when the server is
// built:
//
//	{address}  the client address ("198.51.100.9", "2001:db8::5")
//	{class}    the class of the range that decided: mimecast, non-spf or foreign
//	{regions}  the regions publishing that range, or "none"
//	{prefix}   that range, or "none"
//	{reason}   why a Mimecast range is not passed: "other region" or "retired"; else "none"
type template struct {
	lits []string // len(phs)+1 literal parts
	phs  []string // placeholder names between them
}

var placeholders = []string{"{address}", "{class}", "{regions}", "{prefix}", "{reason}"}

func parseTemplate(t string) template {
	var tp template
	for {
		at, which := -1, ""
		for _, p := range placeholders {
			if i := strings.Index(t, p); i >= 0 && (at < 0 || i < at) {
				at, which = i, p
			}
		}
		if at < 0 {
			tp.lits = append(tp.lits, t)
			return tp
		}
		tp.lits = append(tp.lits, t[:at])
		tp.phs = append(tp.phs, which)
		t = t[at+len(which):]
	}
}

func (tp template) expand(d Decision) string {
	if len(tp.phs) == 0 {
		return tp.lits[0]
	}
	var b strings.Builder
	n := len(tp.phs) * 48 // room for an IPv6 address, prefix or region list each
	for _, l := range tp.lits {
		n += len(l)
	}
	b.Grow(n)
	var tmp [64]byte
	for i, p := range tp.phs {
		b.WriteString(tp.lits[i])
		switch p {
		case "{address}":
			b.Write(d.Addr.AppendTo(tmp[:0]))
		case "{class}":
			b.WriteString(d.Match().Class.String())
		case "{regions}":
			regs := d.Regions().String()
			if regs == "" {
				regs = "none"
			}
			b.WriteString(regs)
		case "{reason}":
			if d.Reason != "" {
				b.WriteString(d.Reason)
			} else {
				b.WriteString("none")
			}
		case "{prefix}":
			if p := d.Prefix(); p.IsValid() {
				b.Write(p.AppendTo(tmp[:0]))
			} else {
				b.WriteString("none")
			}
		}
	}
	b.WriteString(tp.lits[len(tp.lits)-1])
	return b.String()
}

// accessActions are the first words of the access(5) actions a policy
// server may answer (case-insensitive).
var accessActions = map[string]bool{
	"OK": true, "DUNNO": true, "REJECT": true, "DEFER": true,
	"DEFER_IF_REJECT": true, "DEFER_IF_PERMIT": true, "BCC": true,
	"DISCARD": true, "FILTER": true, "HOLD": true, "PREPEND": true,
	"REDIRECT": true, "INFO": true, "WARN": true,
}

// ValidateAction checks an action template for --pass and --reject: one
// line of printable text starting with an access(5) action (OK, DUNNO,
// REJECT text, DEFER_IF_PERMIT text, 4NN/5NN text, HOLD, PREPEND header,
// ...) or a restriction name such as reject or permit_auth_destination.
func ValidateAction(a string) error {
	if strings.TrimSpace(a) == "" {
		return fmt.Errorf("empty action")
	}
	for _, r := range a {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("action %q has a control character", a)
		}
	}
	word, _, _ := strings.Cut(a, " ")
	if accessActions[strings.ToUpper(word)] {
		return nil
	}
	if replycode.Refusal(word) {
		return nil
	}
	if word == strings.ToLower(word) && isRestrictionName(word) {
		return nil
	}
	return fmt.Errorf("action %q does not start with an access(5) action (OK, DUNNO, REJECT, DEFER, DEFER_IF_PERMIT, 4NN, 5NN, HOLD, PREPEND, ...) or a restriction name", a)
}

// refusingActions are the first words of the access(5) actions that keep
// mail out (refuse, delay, hold or drop it); every other action lets the
// next restriction accept it.
var refusingActions = map[string]bool{
	"REJECT": true, "DEFER": true, "DEFER_IF_PERMIT": true, "HOLD": true, "DISCARD": true,
}

// ValidateRefusal checks an action template for --other and --reject as
// ValidateAction does, and that the action keeps the mail out: REJECT,
// DEFER, DEFER_IF_PERMIT, 4NN, 5NN, HOLD, DISCARD, or the restrictions
// reject and defer. OK, DUNNO, PREPEND, WARN, DEFER_IF_REJECT, a permit or
// a conditional restriction there would let every other network through:
// the tag-only mode is the way to classify without refusing.
func ValidateRefusal(a string) error {
	if err := ValidateAction(a); err != nil {
		return err
	}
	word, _, _ := strings.Cut(a, " ")
	switch {
	case refusingActions[strings.ToUpper(word)]:
		return nil
	case replycode.Refusal(word):
		return nil
	case word == "reject" || word == "defer" || word == "defer_if_permit":
		return nil
	}
	return fmt.Errorf("action %q does not keep the mail out, so every client it answers would pass (want REJECT, DEFER, DEFER_IF_PERMIT, 4NN, 5NN, HOLD, DISCARD, reject or defer; --tag classifies without refusing)", a)
}

func isRestrictionName(s string) bool {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return s != ""
}
