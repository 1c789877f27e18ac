package audit

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/seed-b311f21d/go-mimecastip/cmd/mimecastip/internal/iprange"
	"github.com/seed-b311f21d/go-mimecastip/mimecastip"
	"github.com/seed-b311f21d/go-mimecastip/regions"
)

// Level says how serious a finding is.
type Level string

// The levels. Errors make the audit fail (exit 1): mail is lost or the
// gateway can be bypassed. Warnings are worth a look but not wrong by
// themselves.
const (
	Error   Level = "error"
	Warning Level = "warning"
	Info    Level = "info"
)

// The kinds of findings.
const (
	KindOK           = "ok"            // entirely inside the region's published mail ranges
	KindForeign      = "foreign"       // (part of) the entry is not a Mimecast range at all: a bypass
	KindNonCanonical = "non-canonical" // CIDR with host bits set: Postfix skips the rule
	KindInvalid      = "invalid"       // unusable entry
	KindOtherRegion  = "other-region"  // (part of) the entry is another region's Mimecast range
	KindRetired      = "retired"       // (part of) the entry is a retired Mimecast range
	KindNotMail      = "not-mail"      // Mimecast website or Web Security address: sends no mail
	KindRedundant    = "redundant"     // already covered by earlier entries
	KindDeny         = "deny"          // on a rejecting line: not part of the allowlist
	KindLoopback     = "loopback"      // inside 127.0.0.0/8 or ::1: clients on this host only
	KindShadowed     = "shadowed"      // (part of) an allow entry an earlier rejecting entry takes first
	KindMissing      = "missing"       // a published range of the region the list lacks entirely
	KindPartial      = "partial"       // a published range of the region the list covers only in part
)

// Finding is one observation about an entry or a published range.
type Finding struct {
	Kind     string   `json:"kind"`
	Level    Level    `json:"level"`
	Message  string   `json:"message"`
	Prefixes []string `json:"prefixes,omitempty"` // the addresses concerned, as canonical prefixes
}

// EntryReport is the verdict on one allowlist entry.
type EntryReport struct {
	Line     int       `json:"line"`
	Text     string    `json:"entry"`
	Status   string    `json:"status"` // the kind of the most serious finding, or "ok"
	Findings []Finding `json:"findings,omitempty"`
	Covers   []string  `json:"covers,omitempty"` // published ranges of the region fully inside the entry
}

// RangeReport is a published range of the region that the allowlist does
// not fully cover.
type RangeReport struct {
	Prefix  string      `json:"prefix"`
	Regions regions.Set `json:"regions"`
	Service string      `json:"service"`
	Class   string      `json:"class"`
	Status  string      `json:"status"`  // missing or partial
	Missing []string    `json:"missing"` // the uncovered addresses as prefixes
}

// Summary counts the results.
type Summary struct {
	Entries     int `json:"entries"`
	OK          int `json:"ok"`
	Foreign     int `json:"foreign"`
	OtherRegion int `json:"other_region"`
	Retired     int `json:"retired"`
	NotMail     int `json:"not_mail"`
	Invalid     int `json:"invalid"` // invalid and non-canonical
	Deny        int `json:"deny"`
	Loopback    int `json:"loopback"`  // entries inside 127.0.0.0/8 or ::1 (info)
	Published   int `json:"published"` // published ranges of the region
	Missing     int `json:"missing"`
	Partial     int `json:"partial"`
	Errors      int `json:"errors"`
	Warnings    int `json:"warnings"`
}

// Report is the result of an audit.
type Report struct {
	Version  string        `json:"version"`
	Regions  regions.Set   `json:"regions"`
	Inferred bool          `json:"regions_inferred"` // no region was given; Regions is the one the entries cover most
	Entries  []EntryReport `json:"entries"`
	Ranges   []RangeReport `json:"missing_ranges"`
	Summary  Summary       `json:"summary"`
	OK       bool          `json:"ok"` // no errors: nothing missing, nothing foreign, nothing skipped
}

// Options controls an audit.
type Options struct {
	Dataset *regions.Dataset
	Regions regions.Set        // the account's region(s); empty: infer from the entries
	Classes []mimecastip.Class // the classes that must be allowed; default mimecast and non-spf
}

type index struct {
	selected, other, retired, notMail, known iprange.Set
}

const foreignAll = "not a Mimecast range: mail from it skips the gateway (a bypass attackers and spam use)"

// classify adds the findings of an allow entry that overlaps a Mimecast
// range: the part that is not Mimecast, and the parts that are another
// region's, retired, or not mail ranges.
func (ix *index) classify(rg iprange.Range, add func(Finding), set regions.Set, othRows, retRows, webRows *rowSet) {
	s := iprange.FromRange(rg)
	oth, ret, web := othRows.near(rg), retRows.near(rg), webRows.near(rg)
	if f := s.Minus(ix.known); !f.IsEmpty() {
		msg := foreignAll
		if !f.Equal(s) {
			msg = fmt.Sprintf("%s of its addresses are not Mimecast: mail from them skips the gateway", count(f))
		}
		add(Finding{KindForeign, Error, msg, prefixStrings(f)})
	}
	if p := s.Intersect(ix.other); !p.IsEmpty() {
		add(Finding{KindOtherRegion, Warning, "Mimecast range of another region (" + regionsOf(p, oth) + "), not of " + orNone(set) + "; not needed unless the account moves", rowPrefixes(p, oth)})
	}
	if p := s.Intersect(ix.retired); !p.IsEmpty() {
		add(Finding{KindRetired, Warning, "retired Mimecast range (" + describe(p, ret) + "); remove it only after Mimecast's double-run period ends", rowPrefixes(p, ret)})
	}
	if p := s.Intersect(ix.notMail); !p.IsEmpty() {
		add(Finding{KindNotMail, Warning, "Mimecast " + servicesOf(p, web) + " address, not a mail range: no mail comes from it", rowPrefixes(p, web)})
	}
}

// rowSet is dataset rows with their address ranges, to find the rows
// near an entry without set arithmetic.
type rowSet struct {
	rows []regions.Range
	rr   []iprange.Range
}

func newRowSet(rows []regions.Range) *rowSet {
	rs := &rowSet{rows: rows, rr: make([]iprange.Range, len(rows))}
	for i, r := range rows {
		rs.rr[i] = iprange.RangeOf(r.Prefix)
	}
	return rs
}

// near returns the rows whose range overlaps rg.
func (rs *rowSet) near(rg iprange.Range) []regions.Range {
	var out []regions.Range
	for i, r := range rs.rr {
		if r.From.Compare(rg.To) <= 0 && rg.From.Compare(r.To) <= 0 {
			out = append(out, rs.rows[i])
		}
	}
	return out
}

// overlaps reports whether rg shares an address with one of rs (sorted,
// disjoint, as Set.Ranges returns them).
func overlaps(rs []iprange.Range, rg iprange.Range) bool {
	j, _ := slices.BinarySearchFunc(rs, rg.From, func(r iprange.Range, a netip.Addr) int { return r.To.Compare(a) })
	return j < len(rs) && rs[j].From.Compare(rg.To) <= 0
}

var loopback4, loopback6 = iprange.RangeOf(netip.MustParsePrefix("127.0.0.0/8")), iprange.RangeOf(netip.MustParsePrefix("::1/128"))

// isLoopback reports whether rg lies within 127.0.0.0/8 or is ::1.
func isLoopback(rg iprange.Range) bool { return inside(rg, loopback4) || inside(rg, loopback6) }

// inside reports whether r lies within rg.
func inside(r, rg iprange.Range) bool {
	return rg.From.Compare(r.From) <= 0 && r.To.Compare(rg.To) <= 0
}

func rangeStrings(rg iprange.Range) []string {
	ps := rg.Prefixes()
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return out
}

func setOfRanges(rs []regions.Range) iprange.Set {
	var b iprange.Builder
	for _, r := range rs {
		b.AddPrefix(r.Prefix)
	}
	return b.Set()
}

func contains(cs []mimecastip.Class, c mimecastip.Class) bool { return slices.Contains(cs, c) }

// Infer returns the region whose mail ranges the entries cover most (by
// addresses; ties give several), or the empty set when they cover none.
func Infer(d *regions.Dataset, entries []Entry) regions.Set {
	allow := allowSet(entries)
	best, bestN := regions.Set(0), 0.0
	for _, rg := range regions.List() {
		if rg == regions.Global {
			continue
		}
		var rs []regions.Range
		for _, r := range d.Ranges {
			if !r.Retired && r.Service.Mail() && r.Regions.Has(rg) {
				rs = append(rs, r)
			}
		}
		n := setOfRanges(rs).Intersect(allow).Len()
		switch {
		case n == 0:
		case n > bestN:
			best, bestN = regions.SetOf(rg), n
		case n == bestN:
			best = best.Add(rg)
		}
	}
	return best
}

func allowSet(entries []Entry) iprange.Set {
	var b iprange.Builder
	for _, e := range entries {
		if e.Invalid == "" && !e.Deny {
			b.AddRange(e.Range)
		}
	}
	return b.Set()
}

// Audit checks entries against the published ranges.
func Audit(entries []Entry, o Options) *Report {
	d := o.Dataset
	if d == nil {
		d = regions.Embedded()
	}
	classes := o.Classes
	if len(classes) == 0 {
		classes = []mimecastip.Class{mimecastip.Mimecast, mimecastip.NonSPF}
	}
	rep := &Report{Version: d.Version, Entries: []EntryReport{}, Ranges: []RangeReport{}}
	set := o.Regions
	if set.IsEmpty() {
		set = Infer(d, entries)
		rep.Inferred = true
	}
	rep.Regions = set

	var ix index
	var sel, oth, ret, web []regions.Range
	for _, r := range d.Ranges {
		mail := r.Service.Mail()
		switch {
		case r.Retired && mail:
			ret = append(ret, r)
		case r.Retired:
		case !mail:
			web = append(web, r)
		case !r.Regions.Intersect(set).IsEmpty() && contains(classes, mimecastip.ClassOf(r.Service)):
			sel = append(sel, r)
		default:
			oth = append(oth, r)
		}
	}
	ix.selected, ix.other, ix.retired, ix.notMail = setOfRanges(sel), setOfRanges(oth), setOfRanges(ret), setOfRanges(web)
	ix.other = ix.other.Minus(ix.selected)
	ix.retired = ix.retired.Minus(ix.selected).Minus(ix.other)
	ix.notMail = ix.notMail.Minus(ix.selected).Minus(ix.other).Minus(ix.retired)
	known := ix.selected.Union(ix.other).Union(ix.retired).Union(ix.notMail)
	ix.known = known

	kr := known.Ranges()
	selR := make([]iprange.Range, len(sel))
	for i, r := range sel {
		selR[i] = iprange.RangeOf(r.Prefix)
	}
	redundant := coveredByEarlier(entries)
	allow := firstMatch(entries)
	allowR := allow.Ranges()
	othRows, retRows, webRows := newRowSet(oth), newRowSet(ret), newRowSet(web)
	rep.Entries = make([]EntryReport, 0, len(entries))
	for i, e := range entries {
		er := EntryReport{Line: e.Line, Text: e.Text}
		add := func(f Finding) { er.Findings = append(er.Findings, f) }
		switch {
		case e.Invalid != "":
			add(Finding{KindInvalid, Error, e.Invalid, nil})
		case e.Deny:
			add(Finding{KindDeny, Info, "on a rejecting line (or one whose action does not accept: DUNNO, WARN, PREPEND, FILTER, a restriction name); not part of the allowlist", nil})
		default:
			if e.NonCanonical {
				add(Finding{KindNonCanonical, Error, fmt.Sprintf("host bits set: Postfix skips this rule (\"non-null host address bits\") and nginx warns; write %s", e.Prefix), []string{e.Prefix.String()}})
			}
			if isLoopback(e.Range) {
				add(Finding{KindLoopback, Info, "loopback: only clients on this host match (a local content filter, monitoring); a bypass if a proxy on this host relays outside connections as 127.0.0.1", nil})
			} else if !overlaps(kr, e.Range) {
				// The common case of a long foreign list: no set arithmetic.
				add(Finding{KindForeign, Error, foreignAll, rangeStrings(e.Range)})
			} else {
				ix.classify(e.Range, add, set, othRows, retRows, webRows)
				for j, r := range selR {
					if inside(r, e.Range) {
						er.Covers = append(er.Covers, sel[j].Prefix.String())
					}
				}
			}
			if shadowedBy(allowR, e.Range) {
				add(Finding{KindShadowed, Warning, "an earlier rejecting entry matches (some of) these addresses first (Postfix tables and firewall chains stop at the first match): they are not let through", nil})
			}
			if redundant[i] {
				add(Finding{KindRedundant, Info, "already covered by earlier entries", nil})
			}
		}
		er.Status = status(er.Findings)
		rep.Entries = append(rep.Entries, er)
	}

	// Published ranges of the region the list does not cover.
	var reported iprange.Builder
	slices.SortStableFunc(sel, func(a, b regions.Range) int { return iprange.ComparePrefix(a.Prefix, b.Prefix) })
	for _, r := range sel {
		s := iprange.FromPrefixes(r.Prefix)
		miss := s.Minus(allow)
		if miss.IsEmpty() || reported.Set().Covers(miss) {
			continue
		}
		reported.AddSet(miss)
		st := KindMissing
		if !miss.Equal(s) {
			st = KindPartial
		}
		rep.Ranges = append(rep.Ranges, RangeReport{
			Prefix: r.Prefix.String(), Regions: r.Regions, Service: r.Service.String(),
			Class: mimecastip.ClassOf(r.Service).String(), Status: st, Missing: prefixStrings(miss),
		})
	}

	sm := &rep.Summary
	sm.Entries = len(entries)
	sm.Published = len(sel)
	for _, er := range rep.Entries {
		var has struct{ deny, invalid, foreign, other, retired, notMail, loopback bool }
		for _, f := range er.Findings {
			switch f.Kind {
			case KindDeny:
				has.deny = true
			case KindInvalid, KindNonCanonical:
				has.invalid = true
			case KindForeign:
				has.foreign = true
			case KindOtherRegion:
				has.other = true
			case KindRetired:
				has.retired = true
			case KindNotMail:
				has.notMail = true
			case KindLoopback:
				has.loopback = true
			}
			switch f.Level {
			case Error:
				sm.Errors++
			case Warning:
				sm.Warnings++
			}
		}
		switch {
		case has.deny:
			sm.Deny++
		case has.invalid:
			sm.Invalid++
		}
		if has.foreign {
			sm.Foreign++
		}
		if has.other {
			sm.OtherRegion++
		}
		if has.retired {
			sm.Retired++
		}
		if has.notMail {
			sm.NotMail++
		}
		if has.loopback {
			sm.Loopback++
		}
		if er.Status == KindOK || er.Status == KindRedundant {
			sm.OK++
		}
	}
	for _, r := range rep.Ranges {
		if r.Status == KindMissing {
			sm.Missing++
		} else {
			sm.Partial++
		}
		sm.Errors++
	}
	if len(sel) == 0 {
		// No region, or one without a published range of the classes:
		// nothing to check the list against, so it cannot pass.
		sm.Errors++
	}
	rep.OK = sm.Errors == 0
	return rep
}

func status(fs []Finding) string {
	best, rank := KindOK, 0
	for _, f := range fs {
		r := map[Level]int{Info: 1, Warning: 2, Error: 3}[f.Level]
		if r > rank {
			best, rank = f.Kind, r
		}
	}
	return best
}

func prefixStrings(s iprange.Set) []string {
	var out []string
	for _, p := range s.Prefixes() {
		out = append(out, p.String())
	}
	return out
}

func count(s iprange.Set) string {
	n := s.Len()
	if n < 1e15 {
		return fmt.Sprintf("%.0f", n)
	}
	return fmt.Sprintf("%.3g", n)
}

// overlapping returns the rows of rs whose prefix overlaps s.
func overlapping(s iprange.Set, rs []regions.Range) []regions.Range {
	var out []regions.Range
	for _, r := range rs {
		if !iprange.FromPrefixes(r.Prefix).Intersect(s).IsEmpty() {
			out = append(out, r)
		}
	}
	return out
}

func orNone(s regions.Set) string {
	if s.IsEmpty() {
		return "the account's region"
	}
	return s.String()
}

func rowPrefixes(s iprange.Set, rs []regions.Range) []string {
	var out []string
	for _, r := range overlapping(s, rs) {
		out = append(out, r.Prefix.String())
	}
	return out
}

func servicesOf(s iprange.Set, rs []regions.Range) string {
	var out []string
	for _, r := range overlapping(s, rs) {
		if v := r.Service.String(); !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return strings.Join(out, "/")
}

func regionsOf(s iprange.Set, rs []regions.Range) string {
	var set regions.Set
	for _, r := range overlapping(s, rs) {
		set = set.Union(r.Regions)
	}
	return set.String()
}

// describe names the rows of rs that overlap s: "eu gateway 213.167.75.0/24,
// last seen 2017".
func describe(s iprange.Set, rs []regions.Range) string {
	var parts []string
	for _, r := range overlapping(s, rs) {
		p := fmt.Sprintf("%s %s %s", r.Regions, r.Service, r.Prefix)
		if r.Retired {
			p += ", last seen " + r.LastSeen
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, "; ")
}
