package policy

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/seed-b311f21d/go-mimecastip/mimecastip"
	"github.com/seed-b311f21d/go-mimecastip/regions"
)

// Default actions.
const (
	// DefaultPassAction answers Mimecast and non-SPF relay clients of the
	// configured regions: no opinion, the next restriction decides.
	DefaultPassAction = "DUNNO"
	// DefaultRejectAction answers every other client. {address} is
	// replaced by the client address.
	DefaultRejectAction = "REJECT 5.7.1 {address} is not a Mimecast gateway for this domain"
	// DefaultTagHeader is the header the tag-only mode prepends.
	DefaultTagHeader = "X-Mimecast-Class"

	// noAddressAction answers a request without a usable client_address.
	// DEFER_IF_PERMIT: a temporary failure, unless a later restriction
	// rejects anyway. Never a pass.
	noAddressAction = "DEFER_IF_PERMIT 4.7.1 Policy service cannot classify the client address"
	// internalErrorAction answers a request whose handling failed.
	internalErrorAction = "DEFER_IF_PERMIT 4.3.0 Policy service internal error"
	// unsupportedAction answers a request type other than smtpd_access_policy.
	unsupportedAction = "DEFER_IF_PERMIT 4.3.5 Policy service does not support this request type"
)

// Verdict is the kind of answer the server gave.
type Verdict uint8

// Verdicts.
const (
	Pass     Verdict = iota + 1 // a Mimecast or non-SPF relay client of the configured regions
	Reject                      // any other client
	Tag                         // tag-only mode: the class header, whatever the class
	TempFail                    // no usable client address, or an internal error
)

var verdictNames = [...]string{Pass: "pass", Reject: "reject", Tag: "tag", TempFail: "tempfail"}

func (v Verdict) String() string {
	if int(v) < len(verdictNames) && v != 0 {
		return verdictNames[v]
	}
	return fmt.Sprintf("verdict(%d)", uint8(v))
}

// Decision is the server's answer to one request and why.
type Decision struct {
	Verdict Verdict
	Action  string            // the reply, without "action="
	Addr    netip.Addr        // the classified address (unmapped, no zone); zero for TempFail
	Result  mimecastip.Result // the answer of the scoped classifier
	// Other is set when the address is a Mimecast mail address of a
	// region outside the configured ones (it is Foreign to this server).
	Other  mimecastip.Result
	Reason string // for TempFail: why
}

// OtherRegion reports whether the client is a Mimecast gateway or relay of
// a region the server is not configured for.
func (d Decision) OtherRegion() bool { return d.Other.Class != mimecastip.Foreign }

// parseClientAddress accepts Postfix's bare client_address, and the
// bracketed and "IPv6:"-tagged forms for hand-written requests. IPv4-mapped
// addresses are unmapped and zones dropped.
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

// Decide classifies req's client address and chooses the action. It does
// not recover panics; the connection handler does.
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
	d := Decision{Addr: addr, Result: s.cfg.Classifier.Lookup(addr)}
	if d.Result.Class == mimecastip.Foreign && s.cfg.Wide != nil {
		if o := s.cfg.Wide.Lookup(addr); o.Class != mimecastip.Foreign {
			d.Other = o
		}
	}
	switch {
	case s.cfg.Tag:
		d.Verdict = Tag
		d.Action = "PREPEND " + s.cfg.TagHeader + ": " + tagValue(d)
	case d.Result.Class != mimecastip.Foreign:
		d.Verdict = Pass
		d.Action = s.passTmpl.expand(d)
	default:
		d.Verdict = Reject
		d.Action = s.rejectTmpl.expand(d)
	}
	return d
}

// tagValue is the header value of the tag-only mode:
//
//	mimecast; regions=us; prefix=170.10.129.0/24
//	non-spf; regions=us; prefix=205.139.111.40/29
//	foreign
//	foreign; other-regions=eu; prefix=185.58.84.0/22   (a gateway of a region not configured)
//	foreign; regions=global; service=website; prefix=...
func tagValue(d Decision) string {
	r := d.Result
	var b strings.Builder
	b.WriteString(r.Class.String())
	if r.Prefix().IsValid() {
		b.WriteString("; regions=")
		b.WriteString(r.Regions.String())
		if r.Class == mimecastip.Foreign {
			b.WriteString("; service=")
			b.WriteString(r.Service.String())
		}
		b.WriteString("; prefix=")
		b.WriteString(r.Prefix().String())
	} else if d.OtherRegion() {
		b.WriteString("; other-regions=")
		b.WriteString(d.Other.Regions.String())
		b.WriteString("; prefix=")
		b.WriteString(d.Other.Prefix().String())
	}
	return b.String()
}

// template is an action with placeholders, split once when the server is
// built:
//
//	{address}  the client address ("198.51.100.9", "2001:db8::5")
//	{class}    mimecast, non-spf or foreign
//	{regions}  the regions publishing the matched prefix, or "none"
type template struct {
	lits []string // len(phs)+1 literal parts
	phs  []string // placeholder names between them
}

var placeholders = []string{"{address}", "{class}", "{regions}"}

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
	for i, p := range tp.phs {
		b.WriteString(tp.lits[i])
		switch p {
		case "{address}":
			b.WriteString(d.Addr.String())
		case "{class}":
			b.WriteString(d.Result.Class.String())
		case "{regions}":
			regs := d.Result.Regions.String()
			if regs == "" {
				regs = d.Other.Regions.String()
			}
			if regs == "" {
				regs = "none"
			}
			b.WriteString(regs)
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
	if len(word) == 3 && (word[0] == '4' || word[0] == '5') && isDigits(word[1:]) {
		return nil
	}
	if word == strings.ToLower(word) && isRestrictionName(word) {
		return nil
	}
	return fmt.Errorf("action %q does not start with an access(5) action (OK, DUNNO, REJECT, DEFER, DEFER_IF_PERMIT, 4NN, 5NN, HOLD, PREPEND, ...) or a restriction name", a)
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
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

// Loader returns a function that builds the classifiers of a server from
// the data file at path (the embedded dataset when path is ""): the one
// that decides, restricted to scope (every region when scope is empty),
// and, when scope is not every region, a wide one over every region that
// names the region of a gateway outside the scope.
func Loader(path string, scope regions.Set) func() (scoped, wide *mimecastip.Classifier, err error) {
	all := scope.IsEmpty() || scope == regions.AllSet()
	return func() (*mimecastip.Classifier, *mimecastip.Classifier, error) {
		var scoped, wide *mimecastip.Classifier
		var err error
		if path == "" {
			if all {
				scoped, err = mimecastip.New(regions.Ranges())
			} else {
				scoped, err = mimecastip.Load(regions.Embedded(), scope)
				if err == nil {
					wide, err = mimecastip.New(regions.Ranges())
				}
			}
		} else {
			if all {
				scoped, err = loadFile(path, 0)
			} else {
				scoped, err = loadFile(path, scope)
				if err == nil {
					wide, err = loadFile(path, 0)
				}
			}
		}
		if err != nil {
			return nil, nil, err
		}
		return scoped, wide, nil
	}
}
