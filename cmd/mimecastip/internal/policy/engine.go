package policy

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/seed-b311f21d/go-mimecastip/mimecastip"
	"github.com/seed-b311f21d/go-mimecastip/regions"
)

// Options are the decision settings of an Engine. Zero values take the
// defaults.
type Options struct {
	// Regions is the account's scope: their active gateway and non-SPF
	// relay ranges pass. Empty means every region (not advised: a lockdown
	// wants the account's own grid).
	Regions regions.Set
	// Strict answers Mimecast gateways of other regions with RejectAction
	// instead of OtherAction. Retired ranges keep OtherAction.
	Strict bool

	PassAction   string // own-region active ranges; default DefaultPassAction
	OtherAction  string // other-region and retired Mimecast ranges; default DefaultOtherAction
	RejectAction string // everything else; default DefaultRejectAction

	// Tag selects the tag-only mode: every classifiable client gets
	// "PREPEND <TagHeader>: <class>; tier=...", nobody is refused.
	Tag       bool
	TagHeader string // default DefaultTagHeader
}

// withDefaults fills in the defaults and checks the actions and header.
func (o Options) withDefaults() (Options, error) {
	if o.PassAction == "" {
		o.PassAction = DefaultPassAction
	}
	if o.OtherAction == "" {
		o.OtherAction = DefaultOtherAction
	}
	if o.RejectAction == "" {
		o.RejectAction = DefaultRejectAction
	}
	if o.TagHeader == "" {
		o.TagHeader = DefaultTagHeader
	}
	if err := ValidateAction(o.PassAction); err != nil {
		return o, fmt.Errorf("pass action: %w", err)
	}
	for _, a := range []struct{ name, v string }{{"other", o.OtherAction}, {"reject", o.RejectAction}} {
		if err := ValidateRefusal(a.v); err != nil {
			return o, fmt.Errorf("%s action: %w", a.name, err)
		}
	}
	if !validHeaderName(o.TagHeader) {
		return o, fmt.Errorf("tag header %q is not a header field name", o.TagHeader)
	}
	return o, nil
}

// Engine decides client addresses: it is built from one read of the data
// (a parsed regions.Dataset) and never changes, so a server swaps a whole
// Engine on reload (see Live) and every decision sees one dataset.
//
// The tiers, first match wins (a website or Web Security row inside a
// mail range does not hide the mail range):
//
//  1. an active gateway or non-SPF relay range of Options.Regions: Pass
//  2. an active Mimecast mail range of another region: Defer (Reject with
//     Options.Strict)
//  3. a retired Mimecast mail range, where no active range holds the
//     address: Defer
//  4. everything else (other networks, Mimecast website and Web Security
//     addresses): Reject
//
// A mail row published for "global" alone never passes (Mimecast
// publishes none; such a row is doubtful data): it is in tier 2. The
// global tag of a mail row of other regions never widens its scope
// either: "eu,global" passes for eu only.
type Engine struct {
	opt     Options
	version string // the dataset's @version
	source  string // the data file, or "embedded"
	mail    int    // active mail ranges in scope

	scoped  *mimecastip.Classifier // active rows of Options.Regions, global non-mail rows
	wide    *mimecastip.Classifier // every active row
	retired *mimecastip.Classifier // retired mail rows of every region, as active rows
	// The mail rows of scoped and wide, asked only when a website or Web
	// Security row inside a mail range is the most specific match: the
	// mail range decides then (an address in a Mimecast gateway range is
	// never surely not Mimecast's).
	scopedMail, wideMail *mimecastip.Classifier

	passTmpl, otherTmpl, rejectTmpl template
}

// NewEngine builds an Engine from a parsed dataset. source names where the
// dataset came from, for errors and logs. A non-empty Options.Regions that
// selects no active gateway or non-SPF relay range of its own is an error:
// such a lockdown would refuse all Mimecast mail.
func NewEngine(d *regions.Dataset, source string, opt Options) (*Engine, error) {
	if d == nil {
		return nil, errors.New("policy: no dataset")
	}
	opt, err := opt.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	all := opt.Regions.IsEmpty() || opt.Regions == regions.AllSet()
	if all {
		opt.Regions = 0
	}
	e := &Engine{opt: opt, version: d.Version, source: source,
		passTmpl: parseTemplate(opt.PassAction), otherTmpl: parseTemplate(opt.OtherAction), rejectTmpl: parseTemplate(opt.RejectAction)}

	global := regions.SetOf(regions.Global)
	own := opt.Regions &^ global
	var retired, scoped []regions.Range
	for _, r := range d.Ranges {
		// Mimecast publishes no mail range for every account: a mail row
		// of "global" alone is doubtful data (a poisoned refresh, a typo)
		// and never passes; it falls to the other-region tier. Nor does
		// the global tag widen a mail row of other regions ("eu,global"):
		// such a row is in scope for its own regions only.
		globalMail := r.Service.Mail() && r.Regions&^global == 0
		scope := opt.Regions.Union(global)
		if r.Service.Mail() {
			scope = own
		}
		if !r.Retired && !globalMail && (all || !r.Regions.Intersect(scope).IsEmpty()) {
			scoped = append(scoped, r)
		}
		if !r.Service.Mail() {
			continue
		}
		if r.Retired {
			r.Retired = false
			retired = append(retired, r)
			continue
		}
		if !globalMail && (all || !r.Regions.Intersect(own).IsEmpty()) {
			e.mail++
		}
	}
	if !all && e.mail == 0 {
		return nil, fmt.Errorf("policy: %s: --region %s selects no Mimecast gateway or non-SPF relay range; a lockdown with it would refuse all Mimecast mail", source, opt.Regions)
	}
	build := func(rs []regions.Range) (*mimecastip.Classifier, error) {
		c, err := mimecastip.New(rs)
		if err != nil {
			return nil, fmt.Errorf("policy: %s: %w", source, err)
		}
		return c, nil
	}
	if e.scoped, err = build(scoped); err != nil {
		return nil, err
	}
	if e.wide, err = build(d.Ranges); err != nil {
		return nil, err
	}
	if e.retired, err = build(retired); err != nil {
		return nil, err
	}
	mailOf := func(rs []regions.Range) []regions.Range {
		var out []regions.Range
		for _, r := range rs {
			if r.Service.Mail() && !r.Retired {
				out = append(out, r)
			}
		}
		return out
	}
	if e.scopedMail, err = build(mailOf(scoped)); err != nil {
		return nil, err
	}
	if e.wideMail, err = build(mailOf(d.Ranges)); err != nil {
		return nil, err
	}
	return e, nil
}

// LoadEngine reads the data file at path once (the embedded dataset when
// path is "") and builds an Engine from that one read. A path that is not
// a regular file (a FIFO, device, directory or socket) is refused without
// being read, so it cannot block.
func LoadEngine(path string, opt Options) (*Engine, error) {
	if path == "" {
		return NewEngine(regions.Embedded(), "embedded dataset "+regions.Version(), opt)
	}
	d, err := ReadDataFile(path)
	if err != nil {
		return nil, err
	}
	return NewEngine(d, path, opt)
}

// Loader returns a function that builds an Engine from path with opt on
// every call (see LoadEngine), for NewLive and Live.Reload.
func Loader(path string, opt Options) func() (*Engine, error) {
	return func() (*Engine, error) { return LoadEngine(path, opt) }
}

// Options returns the engine's settings, defaults filled in.
func (e *Engine) Options() Options { return e.opt }

// Version returns the as-of date of the engine's dataset.
func (e *Engine) Version() string { return e.version }

// Source names the data the engine was built from.
func (e *Engine) Source() string { return e.source }

// Len returns the number of active ranges the engine passes or names in
// scope (the scoped classifier's ranges, global addresses included).
func (e *Engine) Len() int { return e.scoped.Len() }

// MailRanges returns the number of active gateway and non-SPF relay
// ranges of the engine's regions: the ranges that pass.
func (e *Engine) MailRanges() int { return e.mail }

// Verdict is the tier of a decision.
type Verdict uint8

// Verdicts.
const (
	// Pass: an active Mimecast gateway or non-SPF relay of the configured
	// regions.
	Pass Verdict = iota + 1
	// Reject: not a Mimecast mail address (or, with Options.Strict, a
	// Mimecast gateway of another region). A permanent failure.
	Reject
	// Defer: a Mimecast mail address of another region, or of a retired
	// range. A temporary failure: the mail stays in the sender's queue
	// while the admin looks, so wrong region data never loses mail.
	Defer
	// TempFail: no usable client address, an unsupported request or an
	// internal error. A temporary failure, never a pass.
	TempFail
)

var verdictNames = [...]string{Pass: "pass", Reject: "reject", Defer: "defer", TempFail: "tempfail"}

// String returns "pass", "reject", "defer" or "tempfail".
func (v Verdict) String() string {
	if int(v) < len(verdictNames) && v != 0 {
		return verdictNames[v]
	}
	return fmt.Sprintf("verdict(%d)", uint8(v))
}

// Decision is the answer for one client address and why.
type Decision struct {
	Verdict Verdict
	// Action is the Postfix access(5) reply, without "action=": the
	// tier's action, or the PREPEND of the tag-only mode.
	Action string
	Addr   netip.Addr        // the classified address (unmapped, no zone); zero for TempFail
	Result mimecastip.Result // the answer of the scoped classifier
	// Other is set when the address is in an active Mimecast mail range
	// of a region outside the configured ones (Result is then Foreign).
	Other mimecastip.Result
	// Retired is set when the address is in a retired Mimecast mail range
	// and in no active range (Result and Other are then zero).
	Retired mimecastip.Result
	Reason  string // for TempFail: why; for Defer and a strict Reject: "other region" or "retired"
}

// OtherRegion reports whether the client is in an active Mimecast mail
// range of a region the engine is not configured for.
func (d Decision) OtherRegion() bool { return d.Other.Class != mimecastip.Foreign }

// IsRetired reports whether the client is in a retired Mimecast mail range
// (and no active one).
func (d Decision) IsRetired() bool { return d.Retired.Class != mimecastip.Foreign }

// Match returns the range that decided: the scoped result when it is a
// mail range, else the other-region or retired range, else the scoped
// result (a website or Web Security row, or the zero Result when none
// holds the address).
func (d Decision) Match() mimecastip.Result {
	switch {
	case d.Result.Class != mimecastip.Foreign:
		return d.Result
	case d.OtherRegion():
		return d.Other
	case d.IsRetired():
		return d.Retired
	}
	return d.Result
}

// Regions returns the regions publishing the range that decided (empty
// when none).
func (d Decision) Regions() regions.Set { return d.Match().Regions }

// Prefix returns the range that decided (the zero Prefix when none).
func (d Decision) Prefix() netip.Prefix { return d.Match().Prefix() }

// Temporary reports whether the decision is a temporary failure (Defer or
// TempFail).
func (d Decision) Temporary() bool { return d.Verdict == Defer || d.Verdict == TempFail }

// DecideAddr classifies addr and chooses the tier and action. IPv4-mapped
// addresses are unmapped and zones dropped; the zero Addr is a TempFail.
// An action without placeholders (the default pass action, DUNNO) costs
// no allocation; one with placeholders is expanded into a new string.
func (e *Engine) DecideAddr(addr netip.Addr) Decision {
	if !addr.IsValid() {
		return Decision{Verdict: TempFail, Action: noAddressAction, Reason: "no client address"}
	}
	addr = addr.Unmap().WithZone("")
	d := Decision{Addr: addr, Result: e.scoped.Lookup(addr)}
	if d.Result.Class == mimecastip.Foreign && d.Result.Published() {
		// A website or Web Security row is the most specific in scope; a
		// mail range of the scope holding it decides.
		if m := e.scopedMail.Lookup(addr); m.Class != mimecastip.Foreign {
			d.Result = m
		}
	}
	switch {
	case d.Result.Class != mimecastip.Foreign:
		d.Verdict = Pass
	default:
		w := e.wide.Lookup(addr)
		if w.Class == mimecastip.Foreign && w.Published() {
			if m := e.wideMail.Lookup(addr); m.Class != mimecastip.Foreign {
				w = m
			}
		}
		switch {
		case w.Class != mimecastip.Foreign:
			d.Other, d.Reason = w, "other region"
			d.Verdict = Defer
			if e.opt.Strict {
				d.Verdict = Reject
			}
		case !w.Published() && !d.Result.Published():
			// Only where no active row holds the address: an active
			// website row inside a retired gateway range decides.
			if r := e.retired.Lookup(addr); r.Class != mimecastip.Foreign {
				d.Retired, d.Reason, d.Verdict = r, "retired", Defer
			} else {
				d.Verdict = Reject
			}
		default:
			d.Verdict = Reject
		}
	}
	switch {
	case e.opt.Tag:
		d.Action = "PREPEND " + e.opt.TagHeader + ": " + tagValue(d)
	case d.Verdict == Pass:
		d.Action = e.passTmpl.expand(d)
	case d.Verdict == Defer:
		d.Action = e.otherTmpl.expand(d)
	default:
		d.Action = e.rejectTmpl.expand(d)
	}
	return d
}

// Live holds the Engine a long-running server (the policy service, the
// milter) decides with, and replaces it on reload: a reload builds a whole
// new Engine from one read of the data and swaps it in as one value, so a
// decision sees the old data or the new, never a mix. Safe for concurrent
// use.
type Live struct {
	cur  atomic.Pointer[Engine]
	load func() (*Engine, error)
	mu   sync.Mutex // one reload at a time
}

// NewLive builds the first Engine with load and returns a Live serving it.
// load is called again by Reload.
func NewLive(load func() (*Engine, error)) (*Live, error) {
	if load == nil {
		return nil, errors.New("policy: NewLive: no load function")
	}
	e, err := load()
	if err != nil {
		return nil, err
	}
	if e == nil {
		return nil, errors.New("policy: load returned no engine")
	}
	l := &Live{load: load}
	l.cur.Store(e)
	return l, nil
}

// LiveEngine returns a Live serving e that cannot be reloaded (Reload
// fails), for tests and fixed data.
func LiveEngine(e *Engine) *Live {
	l := &Live{}
	l.cur.Store(e)
	return l
}

// Engine returns the Engine in use now.
func (l *Live) Engine() *Engine { return l.cur.Load() }

// DecideAddr decides addr with the Engine in use now.
func (l *Live) DecideAddr(addr netip.Addr) Decision { return l.cur.Load().DecideAddr(addr) }

// Reload builds a new Engine with the load function and swaps it in. On
// error the Engine in use stays and the error is returned. Concurrent
// calls run one after the other.
func (l *Live) Reload() (*Engine, error) {
	if l.load == nil {
		return nil, errors.New("policy: no load function to reload with")
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	e, err := l.load()
	if err == nil && e == nil {
		err = errors.New("policy: load returned no engine")
	}
	if err != nil {
		return nil, err
	}
	l.cur.Store(e)
	return e, nil
}

// tagValue is the header value of the tag-only mode: the class of the
// range that decided, then the tier, the reason and the range:
//
//	mimecast; tier=pass; regions=us; prefix=170.10.129.0/24
//	non-spf; tier=pass; regions=us; prefix=205.139.111.40/29
//	mimecast; tier=defer; reason=other-region; regions=eu; prefix=185.58.84.0/22
//	mimecast; tier=defer; reason=retired; regions=eu; prefix=213.167.75.0/24
//	foreign; tier=reject
//	foreign; tier=reject; regions=global; service=website; prefix=...
func tagValue(d Decision) string {
	m := d.Match()
	var b strings.Builder
	b.WriteString(m.Class.String())
	b.WriteString("; tier=")
	b.WriteString(d.Verdict.String())
	if d.Reason != "" {
		b.WriteString("; reason=")
		b.WriteString(strings.ReplaceAll(d.Reason, " ", "-"))
	}
	if m.Published() {
		b.WriteString("; regions=")
		b.WriteString(m.Regions.String())
		if m.Class == mimecastip.Foreign {
			b.WriteString("; service=")
			b.WriteString(m.Service.String())
		}
		b.WriteString("; prefix=")
		b.WriteString(m.Prefix().String())
	}
	return b.String()
}
