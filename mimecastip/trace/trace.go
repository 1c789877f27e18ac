package trace

import (
	"fmt"
	"net/netip"
	"regexp"
	"strings"
	"sync"

	"github.com/seed-b311f21d/go-mimecastip/mimecastip"
	"github.com/seed-b311f21d/go-mimecastip/regions"
)

// Verdict answers "did this message come through Mimecast?".
type Verdict uint8

// The verdicts. Their tokens ([Verdict.String]) are stable.
const (
	// Undetermined: no usable boundary Received line (none at all, none
	// written by the By hosts, no address in it, an ambiguous one, or a
	// private or loopback address: an internal relay that was not named),
	// or a boundary address only in a retired Mimecast range (in doubt).
	// It is the zero Verdict.
	Undetermined Verdict = iota
	// Mimecast: the boundary hop is a Mimecast gateway or non-SPF relay
	// of the configured regions.
	Mimecast
	// OtherRegion: the boundary hop is a Mimecast gateway or relay of a
	// region outside the configured ones.
	OtherRegion
	// Bypass: the boundary hop is not Mimecast and the message carries
	// no Mimecast trail: it did not come through Mimecast.
	Bypass
	// Forged: the boundary hop is not Mimecast, yet the message carries
	// Mimecast headers or a relay.mimecast.com hop: a forged or replayed
	// trail.
	Forged
)

var verdictTokens = [...]string{
	Undetermined: "undetermined", Mimecast: "mimecast", OtherRegion: "other-region",
	Bypass: "bypass", Forged: "forged",
}

// String returns the verdict's token: "undetermined", "mimecast",
// "other-region", "bypass" or "forged" ("verdict(N)" for an undefined
// value).
func (v Verdict) String() string {
	if int(v) < len(verdictTokens) {
		return verdictTokens[v]
	}
	return fmt.Sprintf("verdict(%d)", uint8(v))
}

// MarshalText implements [encoding.TextMarshaler].
func (v Verdict) MarshalText() ([]byte, error) {
	if int(v) >= len(verdictTokens) {
		return nil, fmt.Errorf("trace: invalid verdict %d", uint8(v))
	}
	return []byte(v.String()), nil
}

// GridCheck says whether the grid of the Mimecast trail agrees with the
// regions of the boundary hop's address.
type GridCheck uint8

// The grid checks.
const (
	GridUnknown   GridCheck = iota // no grid in the trail, or the hop is not a Mimecast address
	GridAgrees                     // the trail's grid is one of the hop's regions
	GridDisagrees                  // the trail's grid is not one of the hop's regions
)

// String returns "unknown", "agrees" or "disagrees".
func (g GridCheck) String() string {
	switch g {
	case GridAgrees:
		return "agrees"
	case GridDisagrees:
		return "disagrees"
	}
	return "unknown"
}

// Relay is a hop received by a Mimecast host (relay.mimecast.com, or an
// older regional name such as au-smtp-1.mimecast.com): Mimecast's ingress.
type Relay struct {
	Hop     int            // index of its Received field, 0 for the topmost
	By      string         // the Mimecast host name
	ID      string         // its queue id, e.g. us-mta-73-<unique>-1
	Grid    regions.Region // the grid the queue id (or host name) names; 0 when unknown
	GridTok string         // the grid token as written ("us", "uk", ...), "" when none
	From    netip.Addr     // the address Mimecast recorded for its client
}

// Trail is what a message carries of Mimecast's handling. Any of it can
// be forged by a sender; only the boundary hop's address, checked against
// the published ranges, is authoritative.
type Trail struct {
	Relays []Relay // Received fields by Mimecast hosts, topmost first
	// MCUnique is the X-MC-Unique value ("" when absent); MCUniqueMatch
	// reports whether it equals the unique part of a relay's queue id.
	MCUnique      string
	MCUniqueMatch bool
	// AccountCodes are the smtp.auth=C... account codes of
	// Authentication-Results by relay.mimecast.com (an authenticated
	// submission: a Mimecast account's outbound mail); AccountRegions
	// their grids.
	AccountCodes   []string
	AccountRegions regions.Set
	// Headers are the names of the Mimecast header fields seen
	// (X-MC-Unique, X-Mimecast-*, Authentication-Results and
	// ARC-Authentication-Results by relay.mimecast.com, ARC-Seal and
	// ARC-Message-Signature with d=dkim.mimecast.com), each once, in
	// order.
	Headers []string
	// ARC reports an ARC seal or signature by dkim.mimecast.com.
	ARC bool
	// NamedHost is a Mimecast host name the boundary hop's client gave
	// or resolved to ("us-smtp-delivery-124.mimecast.com"), "" when none.
	NamedHost string
}

// Present reports whether the message carries any Mimecast trail.
func (t *Trail) Present() bool {
	return len(t.Relays) > 0 || len(t.Headers) > 0 || t.NamedHost != ""
}

// Grid returns the grid of the topmost relay that names one, or 0.
func (t *Trail) Grid() regions.Region {
	for _, r := range t.Relays {
		if r.Grid != 0 {
			return r.Grid
		}
	}
	return 0
}

// Result is the answer for one message.
type Result struct {
	Verdict Verdict
	// Hop is the boundary hop; nil when there is none (and for
	// [Tracer.TraceAddr], whose boundary is the connection).
	Hop *Hop
	// Address is the boundary hop's client address; zero when
	// undetermined for lack of one.
	Address netip.Addr
	// Class is the address's class within the configured regions
	// (Foreign for a gateway of another region).
	Class mimecastip.Class
	// Match is the published range that holds Address: the scoped
	// classifier's answer, or, for a Mimecast address of another region,
	// the answer over every region. Its Regions and Prefix are the
	// result's regions and prefix.
	Match mimecastip.Result
	Trail Trail
	// Grid is the trail's grid (0 when none); GridCheck compares it with
	// the hop's regions.
	Grid      regions.Region
	GridCheck GridCheck
	// Reasons explain the verdict in words, the deciding one first.
	Reasons []string
}

// Regions returns the regions that publish the boundary address's range.
func (r *Result) Regions() regions.Set { return r.Match.Regions }

// Prefix returns the published range that holds the boundary address, or
// the zero Prefix.
func (r *Result) Prefix() netip.Prefix { return r.Match.Prefix() }

// Config configures a [Tracer].
type Config struct {
	// Classifier decides what counts as Mimecast: typically one built
	// with [mimecastip.Load] for the account's region. Nil means
	// [mimecastip.Default] (every region).
	Classifier *mimecastip.Classifier
	// Wide classifies over every region, to tell a gateway of another
	// region from a foreign address. Nil means [mimecastip.Default].
	Wide *mimecastip.Classifier
	// Retired classifies the retired Mimecast mail ranges of the data
	// (build it with [RetiredClassifier]): a boundary address in one of
	// them and in no active range is undetermined, as the policy service
	// defers it. Nil means the retired rows of the embedded dataset.
	Retired *mimecastip.Classifier
	// Regions names Classifier's scope in the reasons; empty is "every
	// region". It does not change any verdict.
	Regions regions.Set
	// By are the host names of your MTAs as they write them after "by"
	// in Received: the boundary is the topmost Received by one of them.
	// Empty means the topmost Received, whoever wrote it.
	By []string
	// Internal are your internal relays' networks: a boundary hop from
	// one of them is skipped for the Received below it.
	Internal []netip.Prefix
}

// Tracer finds and judges the boundary hop of messages. It is immutable
// and safe for concurrent use.
type Tracer struct {
	cfg Config
	by  map[string]bool
}

// New returns a Tracer for cfg. It fails for an empty or malformed By
// name or an invalid Internal prefix.
func New(cfg Config) (*Tracer, error) {
	t := &Tracer{cfg: cfg, by: map[string]bool{}}
	if t.cfg.Classifier == nil {
		t.cfg.Classifier = mimecastip.Default()
	}
	if t.cfg.Wide == nil {
		t.cfg.Wide = mimecastip.Default()
	}
	if t.cfg.Retired == nil {
		embeddedRetiredOnce.Do(func() { embeddedRetired, embeddedRetiredErr = RetiredClassifier(regions.Ranges()) })
		if embeddedRetiredErr != nil {
			return nil, embeddedRetiredErr
		}
		t.cfg.Retired = embeddedRetired
	}
	for _, b := range cfg.By {
		n := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(b)), ".")
		if n == "" || strings.ContainsAny(n, " \t()[];,") {
			return nil, fmt.Errorf("trace: bad By host name %q", b)
		}
		t.by[n] = true
	}
	t.cfg.Internal = append([]netip.Prefix(nil), cfg.Internal...)
	for i, p := range t.cfg.Internal {
		if !p.IsValid() {
			return nil, fmt.Errorf("trace: invalid internal prefix %v", p)
		}
		t.cfg.Internal[i] = p.Masked()
	}
	return t, nil
}

// localStamp says what hop h is when it is a line your own delivery
// chain adds above the Received of the server that took the message in,
// and "" otherwise:
//   - qmail-queue's "Received: (qmail 1234 invoked from network); date"
//     stamp (no from and no by clause) above qmail-smtpd's own line;
//   - a delivery over LMTP that records no address ("from mx.example.com
//     by mail.example.com with LMTP") or a loopback or private one
//     ("from mx.example.com ([10.0.0.2]) by mail.example.com with LMTP"):
//     its client is your MX.
//
// Nothing else without an address is passed over: a local submission
// ("by host (Postfix, from userid 33)", "(qmail 1 invoked by uid 48)")
// carries whatever headers the local program wrote.
func localStamp(h Hop) string {
	a := h.Addr
	switch {
	case a.IsValid() && (a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast()) && strings.HasPrefix(strings.ToUpper(h.With), "LMTP"):
		return fmt.Sprintf("LMTP delivery from %s [%s]", orNone(h.From), a)
	case a.IsValid():
		return ""
	case h.AddrProblem == problemNoFrom && h.By == "" && containsFold(h.Raw, "invoked from network"):
		return "qmail's queue stamp"
	case h.AddrProblem == problemNoAddr && strings.HasPrefix(strings.ToUpper(h.With), "LMTP"):
		return "LMTP delivery from " + orNone(h.From)
	}
	return ""
}

// ours reports whether the client of hop h, a hop above the By hop, is
// one of your own relays: a local stamp ([localStamp]), a loopback, private or link-local address, an
// Internal one, or a verified reverse name (Postfix and Exim write only
// forward-confirmed names; Sendmail's "may be forged" names are dropped)
// that is one of By. The HELO name never counts.
func (t *Tracer) ours(h Hop) bool {
	a := h.Addr
	switch {
	case localStamp(h) != "":
		return true
	case !a.IsValid():
		return false
	case a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || t.internal(a):
		return true
	}
	return h.RDNS != "" && t.by[h.RDNS]
}

var (
	embeddedRetiredOnce sync.Once
	embeddedRetired     *mimecastip.Classifier
	embeddedRetiredErr  error
)

// RetiredClassifier returns a Classifier of the retired mail rows of rs
// (gateway and non-SPF relay rows marked retired), for [Config.Retired].
func RetiredClassifier(rs []regions.Range) (*mimecastip.Classifier, error) {
	var out []regions.Range
	for _, r := range rs {
		if r.Retired && r.Service.Mail() {
			r.Retired = false
			out = append(out, r)
		}
	}
	return mimecastip.New(out)
}

func (t *Tracer) internal(a netip.Addr) bool {
	for _, p := range t.cfg.Internal {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Hops parses the Received fields of m, topmost first.
func Hops(m *Message) []Hop {
	var hops []Hop
	for _, f := range m.Fields {
		if strings.EqualFold(f.Name, "Received") {
			h := ParseReceived(f.Value)
			h.Index, h.Line = len(hops), f.Line
			hops = append(hops, h)
		}
	}
	return hops
}

// Trace judges message m: it finds the boundary hop (see [Config]),
// classifies its client address and reads the Mimecast trail.
func (t *Tracer) Trace(m *Message) Result {
	hops := Hops(m)
	var res Result
	if len(hops) == 0 {
		res.Trail = readTrail(m, hops, nil)
		res.Reasons = append(res.Reasons, "the message has no Received header field, so no boundary hop")
		res.Reasons = append(res.Reasons, trailReasons(&res.Trail)...)
		return res
	}
	start := 0
	if len(t.by) > 0 {
		start = -1
		for i, h := range hops {
			if t.by[h.By] {
				start = i
				break
			}
		}
		if start < 0 {
			res.Trail = readTrail(m, hops, nil)
			res.Reasons = append(res.Reasons, fmt.Sprintf("no Received header field was written by %s", t.byList()))
			res.Reasons = append(res.Reasons, trailReasons(&res.Trail)...)
			return res
		}
		// The hops above the By hop were written after it, by your own
		// servers: each one's client must be one of yours. A hop above
		// from an outside address means your MTAs write another name
		// than By, and the By hop below is the sender's text: a forged
		// Received naming your MX.
		for _, h := range hops[:start] {
			if !t.ours(h) {
				res.Trail = readTrail(m, hops, nil)
				res.Reasons = append(res.Reasons, fmt.Sprintf("Received #%d (line %d, by %s), above the topmost Received by %s, is from %s, not one of your relays: the Received by %s below it may be forged; name the relay with --internal (or its verified name with --by), or check the --by names", h.Index+1, h.Line, orNone(h.By), t.byList(), h.Addr, t.byList()))
				res.Reasons = append(res.Reasons, trailReasons(&res.Trail)...)
				return res
			}
		}
	}
	i := start
	var skipped []string
	for i < len(hops) {
		if hops[i].Addr.IsValid() && t.internal(hops[i].Addr) {
			skipped = append(skipped, fmt.Sprintf("Received #%d (from internal %s)", i+1, hops[i].Addr))
		} else if what := localStamp(hops[i]); what != "" {
			skipped = append(skipped, fmt.Sprintf("Received #%d (%s)", i+1, what))
		} else {
			break
		}
		i++
	}
	if i == len(hops) {
		res.Trail = readTrail(m, hops, nil)
		res.Reasons = append(res.Reasons, "every Received from the start of the search is from an internal relay or a local stamp (LMTP, qmail-queue); no boundary hop")
		return res
	}
	h := hops[i]
	res.Hop = &h
	res.Trail = readTrail(m, hops, &h)
	if len(skipped) > 0 {
		defer func() {
			res.Reasons = append(res.Reasons, "skipped "+strings.Join(skipped, ", "))
		}()
	}
	where := fmt.Sprintf("the boundary hop (Received #%d, line %d, by %s)", h.Index+1, h.Line, orNone(h.By))
	if !h.Addr.IsValid() {
		res.Reasons = append(res.Reasons, fmt.Sprintf("%s has no usable client address: %s (if a mailbox server or filter added it after your MX, name your MTAs with By / --by)", where, h.AddrProblem))
		res.Reasons = append(res.Reasons, trailReasons(&res.Trail)...)
		return res
	}
	t.judge(&res, h.Addr, where)
	return res
}

// TraceAddr judges message m received from addr: the boundary is known
// (a milter or SMTP server knows its client), and m's headers give the
// trail. m may be nil (no headers yet).
func (t *Tracer) TraceAddr(addr netip.Addr, m *Message) Result {
	if m == nil {
		m = &Message{}
	}
	hops := Hops(m)
	res := Result{Trail: readTrail(m, hops, nil)}
	addr = addr.Unmap().WithZone("")
	if !addr.IsValid() {
		res.Reasons = append(res.Reasons, "no client address")
		return res
	}
	t.judge(&res, addr, "the client")
	return res
}

func (t *Tracer) judge(res *Result, a netip.Addr, where string) {
	res.Address = a
	if a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsUnspecified() || a.IsMulticast() || a.IsInterfaceLocalMulticast() {
		res.Verdict = Undetermined
		res.Reasons = append(res.Reasons, fmt.Sprintf("%s is from %s, a loopback, private or link-local address: an internal relay or content filter; name your internal networks (--internal) or MTAs (--by) to reach the hop from outside", where, a))
		res.Reasons = append(res.Reasons, trailReasons(&res.Trail)...)
		return
	}
	scoped := t.cfg.Classifier.Lookup(a)
	res.Class = scoped.Class
	res.Match = scoped
	scope := t.cfg.Regions.String()
	if scope == "" {
		scope = "every region"
	}
	switch {
	case scoped.Class != mimecastip.Foreign:
		res.Verdict = Mimecast
		what := "a Mimecast gateway"
		if scoped.Class == mimecastip.NonSPF {
			what = "a Mimecast non-SPF relay"
		}
		res.Reasons = append(res.Reasons, fmt.Sprintf("%s is from %s, %s of %s (%s)", where, a, what, scoped.Regions, scoped.Prefix()))
		if scoped.Class == mimecastip.NonSPF {
			res.Reasons = append(res.Reasons, "mail relayed from a non-SPF relay fails the sender's SPF by design: a downstream SPF softfail or fail is expected")
		}
	default:
		if w := t.cfg.Wide.Lookup(a); w.Class != mimecastip.Foreign {
			res.Verdict = OtherRegion
			res.Match = w
			what := "gateway"
			if w.Class == mimecastip.NonSPF {
				what = "non-SPF relay"
			}
			res.Reasons = append(res.Reasons, fmt.Sprintf("%s is from %s, a Mimecast %s of %s (%s), outside the configured regions (%s)", where, a, what, w.Regions, w.Prefix(), scope))
			break
		}
		if rt := t.cfg.Retired.Lookup(a); rt.Class != mimecastip.Foreign {
			res.Verdict = Undetermined
			res.Reasons = append(res.Reasons, fmt.Sprintf("%s is from %s, in a retired Mimecast range of %s (%s) that no published range holds: the data may be behind, or the address is no longer Mimecast's; in doubt, not mimecast (the policy service defers it)", where, a, rt.Regions, rt.Prefix()))
			res.Reasons = append(res.Reasons, trailReasons(&res.Trail)...)
			return
		}
		desc := "not a Mimecast mail address"
		if scoped.Published() {
			desc = fmt.Sprintf("published by Mimecast for its %s (%s), not a mail gateway", scoped.Service, scoped.Prefix())
		}
		if res.Trail.Present() {
			res.Verdict = Forged
			res.Reasons = append(res.Reasons, fmt.Sprintf("%s is from %s, %s, yet the message carries a Mimecast trail: forged or replayed (or the message reached you around Mimecast)", where, a, desc))
			if len(res.Trail.AccountCodes) > 0 {
				res.Reasons = append(res.Reasons, "the trail shows an authenticated submission to Mimecast (smtp.auth), as a Mimecast customer's outbound mail does: it may be the sender's Mimecast, not yours")
			}
		} else {
			res.Verdict = Bypass
			res.Reasons = append(res.Reasons, fmt.Sprintf("%s is from %s, %s, and the message carries no Mimecast trail: it did not come through Mimecast", where, a, desc))
		}
	}
	res.Grid = res.Trail.Grid()
	if res.Grid != 0 && res.Match.Class != mimecastip.Foreign {
		if res.Match.Regions.Has(res.Grid) {
			res.GridCheck = GridAgrees
			res.Reasons = append(res.Reasons, fmt.Sprintf("the trail's grid %s agrees with the hop's regions %s", res.Grid, res.Match.Regions))
		} else {
			res.GridCheck = GridDisagrees
			res.Reasons = append(res.Reasons, fmt.Sprintf("the trail's grid %s disagrees with the hop's regions %s", res.Grid, res.Match.Regions))
		}
	}
	res.Reasons = append(res.Reasons, trailReasons(&res.Trail)...)
}

func (t *Tracer) byList() string {
	var names []string
	for _, b := range t.cfg.By {
		names = append(names, strings.TrimSuffix(strings.ToLower(strings.TrimSpace(b)), "."))
	}
	return strings.Join(names, " or ")
}

func orNone(s string) string {
	if s == "" {
		return "an unnamed host"
	}
	return s
}

// trailReasons describes the trail in words.
func trailReasons(tr *Trail) []string {
	var out []string
	for _, r := range tr.Relays {
		s := fmt.Sprintf("Mimecast relay hop: Received #%d by %s", r.Hop+1, r.By)
		if r.ID != "" {
			s += ", id " + r.ID
		}
		if r.Grid != 0 {
			s += fmt.Sprintf(" (grid %s)", r.Grid)
		} else if r.GridTok != "" {
			s += fmt.Sprintf(" (unknown grid %q)", r.GridTok)
		}
		out = append(out, s)
	}
	if tr.MCUnique != "" {
		if tr.MCUniqueMatch {
			out = append(out, "X-MC-Unique matches a relay hop's queue id")
		} else {
			out = append(out, "X-MC-Unique matches no relay hop's queue id")
		}
	}
	for _, c := range tr.AccountCodes {
		if r, err := regions.ParseRegion(c); err == nil {
			out = append(out, fmt.Sprintf("account code %s (grid %s) in Authentication-Results by relay.mimecast.com", c, r))
		} else {
			out = append(out, fmt.Sprintf("account code %s (unknown grid) in Authentication-Results by relay.mimecast.com", c))
		}
	}
	if tr.NamedHost != "" {
		out = append(out, fmt.Sprintf("the boundary hop's client is named %s", tr.NamedHost))
	}
	if len(tr.Headers) > 0 {
		out = append(out, "Mimecast header fields: "+strings.Join(tr.Headers, ", "))
	}
	return out
}

// mimecastDomains are the domains of Mimecast's mail hosts.
var mimecastDomains = []string{"mimecast.com", "mimecast.co.za", "mimecast-pscom-us.com", "mimecast-offshore.com"}

// IsMimecastHost reports whether name (a host name, any case, trailing dot
// allowed) is in one of Mimecast's mail domains.
func IsMimecastHost(name string) bool {
	n := strings.TrimSuffix(strings.ToLower(name), ".")
	for _, d := range mimecastDomains {
		if n == d || strings.HasSuffix(n, "."+d) {
			return true
		}
	}
	return false
}

// gridTokens maps the grid tokens of queue ids ("us-mta-...") and host
// names ("au-smtp-1...") to regions.
var gridTokens = map[string]regions.Region{
	"us": regions.US, "usb": regions.USB, "ca": regions.CA, "uk": regions.EU, "eu": regions.EU,
	"de": regions.DE, "au": regions.AU, "za": regions.ZA, "je": regions.JE, "jer": regions.JE,
	"uspcom": regions.USPCOM,
}

var (
	queueIDRe = regexp.MustCompile(`^(?i)([a-z]+)-mta-[0-9]+-(.+)$`)
	hostGrid  = regexp.MustCompile(`^(?i)([a-z]+)-(?:smtp|mta)`)
	smtpAuth  = regexp.MustCompile(`(?i)\bsmtp\.auth=([A-Za-z0-9]+)`)
)

// grid returns the grid token of a queue id or Mimecast host name and its
// region (0 when the token is unknown), and the unique part of a queue id.
func grid(id, host string) (tok string, r regions.Region, unique string) {
	if m := queueIDRe.FindStringSubmatch(id); m != nil {
		tok, unique = strings.ToLower(m[1]), m[2]
	} else if m := hostGrid.FindStringSubmatch(host); m != nil {
		tok = strings.ToLower(m[1])
	}
	return tok, gridTokens[tok], unique
}

// readTrail collects the Mimecast trail of m. boundary, when not nil,
// is the boundary hop, whose client names are checked; only what lies
// below it counts. Fields and Received lines above the boundary hop were
// added after your server received the message (by your own mailbox
// servers, filters or forwarding), so they say nothing of how the message
// arrived.
func readTrail(m *Message, hops []Hop, boundary *Hop) Trail {
	var tr Trail
	var uniques []string
	fields := m.Fields
	if boundary != nil {
		n := -1
		for i, f := range m.Fields {
			if strings.EqualFold(f.Name, "Received") {
				n++
				if n == boundary.Index {
					fields = m.Fields[i+1:]
					break
				}
			}
		}
	}
	for _, h := range hops {
		if boundary != nil && h.Index <= boundary.Index {
			continue
		}
		if IsMimecastHost(h.By) {
			tok, r, u := grid(h.ID, h.By)
			tr.Relays = append(tr.Relays, Relay{Hop: h.Index, By: h.By, ID: h.ID, Grid: r, GridTok: tok, From: h.Addr})
			if u != "" {
				uniques = append(uniques, u)
			}
		}
	}
	if boundary != nil {
		for _, n := range []string{boundary.From, boundary.RDNS} {
			if IsMimecastHost(n) {
				tr.NamedHost = strings.ToLower(n)
				break
			}
		}
	}
	seen := map[string]bool{}
	add := func(name string) {
		k := strings.ToLower(name)
		if !seen[k] {
			seen[k] = true
			tr.Headers = append(tr.Headers, name)
		}
	}
	for _, f := range fields {
		n := strings.ToLower(f.Name)
		switch {
		case n == "x-mc-unique":
			add(f.Name)
			if tr.MCUnique == "" {
				tr.MCUnique = f.Value
			}
		case strings.HasPrefix(n, "x-mimecast-"):
			add(f.Name)
		case n == "authentication-results" || n == "arc-authentication-results":
			if strings.EqualFold(authservID(f.Value, n != "authentication-results"), "relay.mimecast.com") {
				add(f.Name)
				for _, sm := range smtpAuth.FindAllStringSubmatch(f.Value, 4) {
					code := strings.ToUpper(sm[1])
					if !contains(tr.AccountCodes, code) && len(tr.AccountCodes) < 8 {
						tr.AccountCodes = append(tr.AccountCodes, code)
						if r, err := regions.ParseRegion(code); err == nil {
							tr.AccountRegions = tr.AccountRegions.Add(r)
						}
					}
				}
			}
		case n == "arc-seal" || n == "arc-message-signature":
			if strings.EqualFold(tagValue(f.Value, "d"), "dkim.mimecast.com") {
				add(f.Name)
				tr.ARC = true
			}
		}
	}
	for _, u := range uniques {
		if tr.MCUnique != "" && u == tr.MCUnique {
			tr.MCUniqueMatch = true
		}
	}
	return tr
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// authservID returns the authserv-id of an Authentication-Results value
// (RFC 8601), skipping the "i=N;" instance tag of ARC-Authentication-Results.
func authservID(v string, arc bool) string {
	if arc {
		if _, rest, ok := strings.Cut(v, ";"); ok && strings.HasPrefix(strings.TrimSpace(strings.ToLower(v)), "i=") {
			v = rest
		}
	}
	id, _, _ := strings.Cut(v, ";")
	id = strings.TrimSpace(id)
	if f := strings.Fields(id); len(f) > 0 {
		return f[0] // a version number may follow
	}
	return ""
}

// tagValue returns the value of tag name in a DKIM-style tag list
// ("i=1; a=rsa-sha256; d=dkim.mimecast.com; ...").
func tagValue(v, name string) string {
	for _, part := range strings.Split(v, ";") {
		k, val, ok := strings.Cut(part, "=")
		if ok && strings.EqualFold(strings.TrimSpace(k), name) {
			return strings.Join(strings.Fields(val), "")
		}
	}
	return ""
}
