// Package refresh compares a dataset with live SPF expansions of
// Mimecast's _netblocks records (the drift), guards against answers that
// would shrink a region by more than half, and writes an updated data file
// with provenance.
//
// SPF covers only SPF-published rows (rows citing a source whose ID starts
// with "spf", see [regions.Range.SPFPublished]). A row that SPF no longer
// lists is reported removed only when it is a gateway row that no other
// source vouches for: rows from the Data Centers page ("dc"), non-SPF
// relay rows, website and Web Security rows are reported as kept, never as
// removed, and are never retired by [Apply].
package refresh

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/seed-b311f21d/go-mimecastip/cmd/mimecastip/internal/iprange"
	"github.com/seed-b311f21d/go-mimecastip/cmd/mimecastip/internal/spf"
	"github.com/seed-b311f21d/go-mimecastip/regions"
)

// Check is the outcome of expanding one region's SPF include.
type Check struct {
	Region  regions.Region
	Include string
	Result  *spf.Result // nil when Err is set
	Err     error
}

// Status is a region's state after a comparison.
type Status string

// The statuses, from best to worst.
const (
	StatusOK      Status = "ok"      // SPF lists exactly the dataset's rows
	StatusDrift   Status = "drift"   // prefixes added or removed
	StatusUnknown Status = "unknown" // the lookup failed or was partial: nothing is known
	StatusRefused Status = "refused" // the answer was read and refused by a guard
)

// Row describes a dataset row a drift entry refers to.
type Row struct {
	Line      int             `json:"line,omitempty"`
	Regions   regions.Set     `json:"regions"`
	Service   regions.Service `json:"service"`
	Retired   bool            `json:"retired,omitempty"`
	FirstSeen string          `json:"first_seen"`
	LastSeen  string          `json:"last_seen"`
	Sources   []string        `json:"sources"`
}

// Added is a prefix SPF lists for a region that the dataset's active rows
// of that region do not hold.
type Added struct {
	Prefix netip.Prefix `json:"prefix"`
	// Via is the record that lists the prefix.
	Via string `json:"via"`
	// Region is the region a new row would carry; zero when the prefix
	// comes through an include no known region uses (global record only).
	Region regions.Region `json:"region"`
	// Existing is the dataset's row for the prefix (retired, or active for
	// other regions); nil when there is none.
	Existing *Row `json:"existing,omitempty"`
}

// Removed is a dataset row SPF no longer lists.
type Removed struct {
	Prefix netip.Prefix `json:"prefix"`
	Row    Row          `json:"row"`
	// CoveredBy lists broader prefixes SPF still lists that hold it.
	CoveredBy []netip.Prefix `json:"covered_by,omitempty"`
	// Kept says why the row is kept although SPF no longer lists it
	// (entries of [RegionReport.Kept] only).
	Kept string `json:"kept,omitempty"`
}

// IncludeInfo is one include of the global record.
type IncludeInfo struct {
	Name     string         `json:"name"`
	Via      string         `json:"via"`
	Region   regions.Region `json:"region"` // zero when no known region uses this include
	Prefixes int            `json:"prefixes"`
	Void     string         `json:"void,omitempty"`
}

// RegionReport is the drift of one region.
type RegionReport struct {
	Region    regions.Region `json:"region"`
	Include   string         `json:"include"`
	Status    Status         `json:"status"`
	ErrorKind string         `json:"error_kind,omitempty"` // spf.Kind of a failed lookup, "void", or "shrink"
	Error     string         `json:"error,omitempty"`
	Lookups   int            `json:"lookups"`
	Listed    []netip.Prefix `json:"listed"` // what SPF lists, sorted
	Added     []Added        `json:"added"`
	Removed   []Removed      `json:"removed"`
	Kept      []Removed      `json:"kept"`                 // SPF-published rows SPF no longer lists that are kept (Data Centers page, non-gateway)
	Includes  []IncludeInfo  `json:"includes,omitempty"`   // the global record only
	Notes     []string       `json:"notes,omitempty"`      // things worth knowing that are not drift
	SPFRows   int            `json:"spf_rows"`             // the dataset's SPF-published active rows of the region that could be judged
	LostRows  int            `json:"spf_rows_lost"`        // of those, the ones SPF neither lists nor fully covers
	SPFAddrs  float64        `json:"spf_addresses"`        // addresses of SPFRows
	LostAddrs float64        `json:"spf_addresses_lost"`   // addresses of SPFRows SPF no longer covers
	Unchecked []netip.Prefix `json:"not_judged,omitempty"` // SPF rows that could not be judged (another region of the row was not checked)
	// RecentRows and RecentAddrs are the region's SPF-derived rows (and
	// their addresses) retired, or moved to another region by [Apply],
	// within the shrink window; they count as lost.
	RecentRows  int     `json:"spf_rows_retired_in_window"`
	RecentAddrs float64 `json:"spf_addresses_retired_in_window"`
	// NewRows are the region's SPF-derived rows first seen within the
	// shrink window: judged, but not counted in SPFRows and LostRows, so
	// rows added lately cannot dilute the shrink guard.
	NewRows int `json:"spf_rows_new_in_window"`

	newAddrs, newLostAddrs float64 // addresses of NewRows, and of those SPF no longer covers
	newLostRows            int     // NewRows SPF neither lists nor fully covers
}

// HasDrift reports whether rr adds or removes anything.
func (rr *RegionReport) HasDrift() bool { return len(rr.Added) > 0 || len(rr.Removed) > 0 }

// Report is the drift of every region checked.
type Report struct {
	Dataset string         `json:"dataset"` // the dataset's version
	Regions []RegionReport `json:"regions"`
}

// Drift reports whether any region that was checked has drift.
func (r *Report) Drift() bool {
	for _, rr := range r.Regions {
		if rr.Status == StatusDrift {
			return true
		}
	}
	return false
}

// With returns the reports of the regions with status st.
func (r *Report) With(st Status) []RegionReport {
	var out []RegionReport
	for _, rr := range r.Regions {
		if rr.Status == st {
			out = append(out, rr)
		}
	}
	return out
}

// protected says why a row must never be reported removed or retired by
// an SPF refresh, or "" when it may be.
func protected(r regions.Range) string {
	if r.Service != regions.Gateway {
		return r.Service.String() + " row: SPF does not publish these"
	}
	for _, s := range r.Sources {
		if s == "dc" || strings.HasPrefix(s, "dc-") {
			return "listed on the Data Centers page (" + s + ")"
		}
	}
	return ""
}

func rowOf(r regions.Range) *Row {
	return &Row{Line: r.Line, Regions: r.Regions, Service: r.Service, Retired: r.Retired, FirstSeen: r.FirstSeen, LastSeen: r.LastSeen, Sources: slices.Clone(r.Sources)}
}

// IncludeRegion returns the region whose SPF include is name, or 0.
func IncludeRegion(name string) regions.Region {
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	if name == regions.GlobalSPFRecord {
		return regions.Global
	}
	for _, r := range regions.List() {
		if in, _ := regions.InfoOf(r); in.SPFInclude != "" && strings.EqualFold(in.SPFInclude, name) {
			return r
		}
	}
	return 0
}

// Compare returns the drift between d and the expansions in checks (one
// per region; the global record's check, if any, judges rows of region
// global and reports prefixes no region accounts for).
//
// A region whose check failed with a lookup error (spf.Kind.Unknown) or
// whose expansion is partial (a void include) is StatusUnknown; one whose
// check was refused is StatusRefused. A region whose SPF answer would drop
// more than half of its SPF-published rows, or more than half of their
// addresses, is StatusRefused too (the shrink guard).
func Compare(d *regions.Dataset, checks []Check) *Report {
	return CompareWith(d, checks, Options{})
}

// CompareWith is [Compare] with the date of the check and the admin's
// overrides. Besides the checks of Compare, it refuses:
//   - additions to a region broader than the broadest it may gain without
//     review (see [BroadestPublished4]), IPv6 additions while the dataset
//     holds no IPv6 row, and additions that would more than double the
//     region's addresses, unless every such prefix is in opts.Accept;
//   - a global record that lists ip4:/ip6: terms of its own;
//   - a region losing half or more of its SPF-derived rows or addresses,
//     counting the rows retired within opts.Window (see [RetiredOn]),
//     unless opts.AllowShrink names the region.
func CompareWith(d *regions.Dataset, checks []Check, opts Options) *Report {
	rep := &Report{Dataset: d.Version}
	complete := map[regions.Region]map[netip.Prefix]bool{}
	for _, c := range checks {
		if c.Err == nil && !c.Result.Partial() {
			complete[c.Region] = setOf(c.Result.Prefixes)
		}
	}
	byPrefix := map[netip.Prefix]regions.Range{}
	for _, r := range d.Ranges {
		byPrefix[r.Prefix] = r
	}
	active := d.Active()
	inActive := map[netip.Prefix]bool{}
	for _, r := range active {
		inActive[r.Prefix] = true
	}
	for _, c := range checks {
		rr := RegionReport{Region: c.Region, Include: c.Include, Added: []Added{}, Removed: []Removed{}, Kept: []Removed{}, Listed: []netip.Prefix{}}
		switch {
		case c.Err != nil:
			k := spf.KindOf(c.Err)
			rr.Status, rr.ErrorKind, rr.Error = StatusRefused, k.String(), c.Err.Error()
			if k.Unknown() {
				rr.Status = StatusUnknown
			} else if k == 0 {
				rr.ErrorKind = "error"
			}
		case c.Result.Partial():
			rr.Status, rr.ErrorKind = StatusUnknown, "void"
			rr.Error = fmt.Sprintf("spf: %s: included record(s) %s not found: the expansion is partial", c.Include, strings.Join(c.Result.Voids, ", "))
			rr.Lookups = c.Result.Lookups
		default:
			rr.Lookups = c.Result.Lookups
			rr.Listed = slices.Clone(c.Result.Prefixes)
			rr.Notes = append(rr.Notes, c.Result.Notes...)
			if c.Region == regions.Global {
				compareGlobal(&rr, c, checks, complete, byPrefix, inActive)
				guardGlobal(&rr, c)
			} else {
				for _, p := range c.Result.Prefixes {
					if r, ok := byPrefix[p]; ok && !r.Retired && r.Regions.Has(c.Region) {
						continue
					}
					a := Added{Prefix: p, Via: listedBy(c.Result.Root, p), Region: c.Region}
					if r, ok := byPrefix[p]; ok {
						a.Existing = rowOf(r)
					}
					rr.Added = append(rr.Added, a)
				}
			}
			judgeRows(&rr, active, complete, checks, windowStart(opts))
			status := StatusOK
			if rr.HasDrift() {
				status = StatusDrift
			}
			if rr.Status != StatusRefused {
				rr.Status = status
			}
			if c.Region != regions.Global {
				guardAdditions(&rr, d, active, opts)
			}
			guardShrink(&rr, d, opts)
		}
		rep.Regions = append(rep.Regions, rr)
	}
	return rep
}

// compareGlobal fills the added prefixes and the include breakdown of the
// global record: what it lists that neither the dataset's active rows nor
// a complete regional expansion accounts for.
func compareGlobal(rr *RegionReport, c Check, checks []Check, complete map[regions.Region]map[netip.Prefix]bool, byPrefix map[netip.Prefix]regions.Range, inActive map[netip.Prefix]bool) {
	named := map[regions.Region]bool{}
	incOf := map[netip.Prefix]string{}
	regOf := map[netip.Prefix]regions.Region{}
	for _, inc := range c.Result.Includes() {
		r := IncludeRegion(inc.Name)
		named[r] = true
		rr.Includes = append(rr.Includes, IncludeInfo{Name: inc.Name, Via: inc.Via, Region: r, Prefixes: len(inc.Prefixes), Void: inc.Void})
		if r == 0 {
			rr.Notes = append(rr.Notes, fmt.Sprintf("the global record includes %s, which no known region uses; its prefixes are reported with no region and never written", inc.Name))
		}
		for _, p := range inc.Prefixes {
			if _, ok := incOf[p]; !ok {
				incOf[p], regOf[p] = inc.Name, r
			}
		}
	}
	for _, p := range c.Result.Root.Prefixes {
		incOf[p], regOf[p] = c.Include, regions.Global
	}
	for _, ck := range checks {
		if ck.Region != regions.Global && !named[ck.Region] {
			rr.Notes = append(rr.Notes, fmt.Sprintf("the global record does not include %s", ck.Include))
		}
	}
	for _, p := range c.Result.Prefixes {
		if inActive[p] {
			continue
		}
		accounted := false
		for r, set := range complete {
			if r != regions.Global && set[p] {
				accounted = true // reported by that region
			}
		}
		if accounted {
			continue
		}
		a := Added{Prefix: p, Via: incOf[p], Region: regOf[p]}
		if r, ok := byPrefix[p]; ok {
			a.Existing = rowOf(r)
		}
		rr.Added = append(rr.Added, a)
	}
}

// judgeRows finds the SPF-published active rows of rr's region that SPF no
// longer lists, and counts what the shrink guard needs.
//
// A row is still listed when the expansion of any of its regions lists it
// exactly (a row for us,usb may be in usb's record only). It is judged
// only when every region of the row that has an SPF include was expanded
// completely; otherwise it is left out (Unchecked).
//
// Rows first seen after since (the start of the shrink window), or that
// gained the region after since ("in INCLUDE from DATE"), are judged
// and reported, but left out of the counts (NewRows counts them): the
// shrink guard measures a loss against the region as it was when the
// window began, so new rows cannot dilute it.
func judgeRows(rr *RegionReport, active []regions.Range, complete map[regions.Region]map[netip.Prefix]bool, checks []Check, since string) {
	checked := map[regions.Region]bool{}
	for _, c := range checks {
		checked[c.Region] = true
	}
	gained := gainedMark(rr.Include, rr.Region)
	for _, row := range active {
		if !row.Regions.Has(rr.Region) || !row.SPFPublished() {
			continue
		}
		listed, decided := false, true
		var sets []map[netip.Prefix]bool
		for _, q := range row.Regions.Regions() {
			if in, _ := regions.InfoOf(q); in.SPFInclude == "" {
				continue
			}
			set, ok := complete[q]
			if !ok {
				decided = false
				continue
			}
			sets = append(sets, set)
			if set[row.Prefix] {
				listed = true
			}
		}
		fresh := firstSeenAfter(row.FirstSeen, since) || latestMark(gained, row.Comment) > since
		if listed || decided {
			if fresh {
				rr.NewRows++
				rr.newAddrs += size(row.Prefix)
			} else {
				rr.SPFRows++
				rr.SPFAddrs += size(row.Prefix)
			}
		}
		if listed {
			continue
		}
		if !decided {
			rr.Unchecked = append(rr.Unchecked, row.Prefix)
			continue
		}
		covered, coveredBy := coverage(row.Prefix, sets)
		if lost := size(row.Prefix) - covered; lost > 0 && !fresh {
			rr.LostRows++
			rr.LostAddrs += lost
		} else if lost > 0 {
			rr.newLostRows++
			rr.newLostAddrs += lost
		}
		rm := Removed{Prefix: row.Prefix, Row: *rowOf(row), CoveredBy: coveredBy}
		if why := protected(row); why != "" {
			rm.Kept = why
			rr.Kept = append(rr.Kept, rm)
			continue
		}
		rr.Removed = append(rr.Removed, rm)
	}
	if len(rr.Unchecked) > 0 {
		rr.Notes = append(rr.Notes, fmt.Sprintf("%d SPF row(s) not judged: they are also published for a region whose record was not checked completely", len(rr.Unchecked)))
	}
}

// size returns the number of addresses of p (as a float: IPv6 prefixes
// are large).
func size(p netip.Prefix) float64 { return math.Pow(2, float64(p.Addr().BitLen()-p.Bits())) }

// coverage returns how many addresses of p the prefixes in sets hold, and
// the prefixes of sets that hold all of p.
func coverage(p netip.Prefix, sets []map[netip.Prefix]bool) (float64, []netip.Prefix) {
	var broader, inner []netip.Prefix
	for _, set := range sets {
		for q := range set {
			switch {
			case q.Bits() <= p.Bits() && q.Contains(p.Addr()):
				if !slices.Contains(broader, q) {
					broader = append(broader, q)
				}
			case q.Bits() > p.Bits() && p.Contains(q.Addr()):
				inner = append(inner, q)
			}
		}
	}
	if len(broader) > 0 {
		iprange.SortPrefixes(broader)
		return size(p), broader
	}
	iprange.SortPrefixes(inner)
	var total float64
	var last netip.Prefix
	for _, q := range inner { // sorted by address then length: a nested prefix follows the one holding it
		if last.IsValid() && last.Bits() <= q.Bits() && last.Contains(q.Addr()) {
			continue
		}
		total += size(q)
		last = q
	}
	return total, nil
}

// listedBy returns the name of the first record below n that lists p.
func listedBy(n *spf.Node, p netip.Prefix) string {
	if slices.Contains(n.Prefixes, p) {
		return n.Name
	}
	for _, c := range n.Children {
		if s := listedBy(c, p); s != "" {
			return s
		}
	}
	return ""
}

func setOf(ps []netip.Prefix) map[netip.Prefix]bool {
	m := make(map[netip.Prefix]bool, len(ps))
	for _, p := range ps {
		m[p] = true
	}
	return m
}

// ApplyOptions tune [Apply].
type ApplyOptions struct {
	Today      time.Time // the date of the refresh; the zero time means now
	SourceText string    // text of the @source line of [LiveSource]
	// KeepRemoved leaves rows SPF no longer lists active (during a
	// double-run period) instead of retiring them; they are reported
	// again by the next refresh.
	KeepRemoved bool
}

// LiveSource is the ID of the source a refresh writes: its @source line
// carries the date of the latest refresh, and the rows a refresh adds or
// changes cite it. Its ID never changes, so a row cites it at most once
// and a refresh that finds nothing new changes only the dated header.
const LiveSource = "spf-live"

// SourceID returns the ID of the source a refresh on day cites. It is
// [LiveSource] for every day; earlier versions wrote "spf-YYYYMMDD".
func SourceID(day time.Time) string { return LiveSource }

// Apply returns d updated with the drift of rep, and notes on what it did
// not write. It refuses (returns an error) when any region of rep is
// unknown or refused.
//
// The result changes as little as it can, so that a review of the diff
// shows only what SPF changed. The @source line [LiveSource] is set to
// today (added if d lacks it), and @version to today. Rows SPF still lists
// are left as they are. Every added prefix becomes an active gateway row
// citing LiveSource, first and last seen today (or an existing row gains
// the region, or a retired row becomes active again, citing LiveSource
// once and last seen today). Every removed row is retired with a note
// "retired YYYY-MM-DD: not in RECORD" (the date the shrink guard counts
// from) and its LastSeen unchanged, unless opts.KeepRemoved; nothing is
// ever deleted. Rows kept for another source (the Data Centers page,
// non-SPF relays) are left as they are. No row of region global is ever
// created or changed: such a row would pass in every region.
//
// The rows of the result keep their Line in d (new rows have Line 0), so
// [Render] can write the change into the original text.
func Apply(d *regions.Dataset, rep *Report, opts ApplyOptions) (*regions.Dataset, []string, error) {
	var bad []string
	for _, rr := range rep.Regions {
		if rr.Status == StatusUnknown || rr.Status == StatusRefused {
			bad = append(bad, fmt.Sprintf("%s (%s)", rr.Region, rr.Status))
		}
	}
	if len(bad) > 0 {
		return nil, nil, fmt.Errorf("refresh: not applying: %s", strings.Join(bad, ", "))
	}
	day := opts.Today
	if day.IsZero() {
		day = time.Now()
	}
	today := day.UTC().Format(time.DateOnly)
	src := LiveSource
	nd := d.Clone()
	text := opts.SourceText
	if text == "" {
		text = "mimecastip refresh: SPF expansion of Mimecast's _netblocks records"
	}
	if i := slices.IndexFunc(nd.Sources, func(s regions.Source) bool { return s.ID == src }); i >= 0 {
		nd.Sources[i].Date, nd.Sources[i].Text = today, text
	} else {
		nd.Sources = append(nd.Sources, regions.Source{ID: src, Date: today, Text: text})
	}
	if today > nd.Version {
		nd.Version = today
	}
	idx := map[netip.Prefix]int{}
	for i, r := range nd.Ranges {
		idx[r.Prefix] = i
	}
	touched := map[int]bool{}
	seen := func(r *regions.Range) {
		touched[idx[r.Prefix]] = true
		if !slices.Contains(r.Sources, src) {
			r.Sources = append(r.Sources, src)
		}
		if today > r.LastSeen {
			r.LastSeen = today
		}
	}
	oldest := day.UTC().Add(-ShrinkWindow - 24*time.Hour).Format(time.DateOnly)
	note := func(r *regions.Range, s string) {
		if r.Comment == "" {
			r.Comment = s
		} else {
			r.Comment += "; " + s
		}
		r.Comment = trimNotes(r.Comment, oldest)
	}
	var notes []string
	for _, rr := range rep.Regions {
		for _, p := range rr.Listed {
			if i, ok := idx[p]; ok && !nd.Ranges[i].Retired && nd.Ranges[i].Regions.Has(rr.Region) {
				touched[i] = true
			}
		}
		for _, a := range rr.Added {
			if a.Region != rr.Region || a.Region == regions.Global {
				why := "its include is no known region's"
				switch {
				case a.Region == regions.Global:
					why = "a row of region global would pass in every region"
				case a.Region != 0:
					why = "region " + a.Region.String() + " was not checked"
				}
				notes = append(notes, fmt.Sprintf("not written: %s (listed by %s through the %s record): %s", a.Prefix, a.Via, rr.Include, why))
				continue
			}
			i, ok := idx[a.Prefix]
			if !ok {
				nd.Ranges = append(nd.Ranges, regions.Range{
					Prefix: a.Prefix, Regions: regions.SetOf(rr.Region), Service: regions.Gateway,
					FirstSeen: today, LastSeen: today, Sources: []string{src},
				})
				idx[a.Prefix] = len(nd.Ranges) - 1
				touched[len(nd.Ranges)-1] = true
				continue
			}
			r := &nd.Ranges[i]
			if !r.Retired && r.Service != regions.Gateway || r.Regions.Has(regions.Global) {
				notes = append(notes, fmt.Sprintf("not written: %s (listed by %s) is a %s row of %s; review it by hand", a.Prefix, a.Via, r.Service, r.Regions))
				continue
			}
			switch {
			case r.Retired && !r.Regions.Has(rr.Region):
				note(r, fmt.Sprintf("retired for %s, active again for %s in SPF on %s", r.Regions, rr.Region, today))
				r.Regions, r.Retired = regions.SetOf(rr.Region), false
			case r.Retired:
				note(r, "active again in SPF on "+today)
				r.Retired = false
			default:
				note(r, fmt.Sprintf("in %s from %s", rr.Include, today))
				r.Regions = r.Regions.Add(rr.Region)
			}
			seen(r)
		}
	}
	// Retire after every region has marked what it still lists, so a row
	// of several regions is judged once.
	for _, rr := range rep.Regions {
		for _, rm := range rr.Removed {
			i := idx[rm.Prefix]
			r := &nd.Ranges[i]
			if r.Retired {
				continue // a row of several regions, retired already
			}
			if touched[i] {
				// Another region lists it now: the prefix moved.
				var keep []regions.Region
				for _, q := range r.Regions.Regions() {
					if q != rr.Region {
						keep = append(keep, q)
					}
				}
				r.Regions = regions.SetOf(keep...)
				note(r, fmt.Sprintf("not in %s on %s", rr.Include, today))
				continue
			}
			if opts.KeepRemoved {
				notes = append(notes, fmt.Sprintf("kept active (--keep-removed): %s, no longer in %s", rm.Prefix, rr.Include))
				continue
			}
			r.Retired = true
			note(r, fmt.Sprintf("retired %s: not in %s", today, rr.Include))
		}
	}
	var buf bytes.Buffer
	if err := nd.Format(&buf); err != nil {
		return nil, notes, err
	}
	if _, err := regions.Parse(&buf); err != nil {
		return nil, notes, fmt.Errorf("refresh: the updated dataset does not parse back: %w", err)
	}
	return nd, notes, nil
}

// maxNoteBytes is the length beyond which [Apply] drops its own old notes
// from a row's comment, so a row SPF keeps dropping and listing again
// cannot grow past what a data file line may hold.
const maxNoteBytes = 1024

// refreshNote matches a note [Apply] writes, capturing its date.
var refreshNote = regexp.MustCompile(`^(?:retired (\d{4}-\d{2}-\d{2}): not in \S+|active again in SPF on (\d{4}-\d{2}-\d{2})|retired for \S+, active again for \S+ in SPF on (\d{4}-\d{2}-\d{2})|in \S+ from (\d{4}-\d{2}-\d{2})|not in \S+ on (\d{4}-\d{2}-\d{2}))$`)

// trimNotes drops, oldest first, the notes of Apply in comment that are
// dated before oldest, while comment is longer than maxNoteBytes. Other
// text and every newer note stay (the shrink guard reads the notes of the
// window).
func trimNotes(comment, oldest string) string {
	if len(comment) <= maxNoteBytes {
		return comment
	}
	parts := strings.Split(comment, "; ")
	size := len(comment)
	var keep []string
	for _, p := range parts {
		if size > maxNoteBytes {
			if m := refreshNote.FindStringSubmatch(p); m != nil {
				if date := strings.Join(m[1:], ""); date < oldest {
					size -= len(p) + 2
					continue
				}
			}
		}
		keep = append(keep, p)
	}
	return strings.Join(keep, "; ")
}

// SortRows sorts rows by their first region (in region order), then by
// prefix, keeping the order of equal rows.
func SortRows(rs []regions.Range) {
	first := func(s regions.Set) regions.Region {
		if rs := s.Regions(); len(rs) > 0 {
			return rs[0]
		}
		return 0
	}
	slices.SortStableFunc(rs, func(a, b regions.Range) int {
		if c := int(first(a.Regions)) - int(first(b.Regions)); c != 0 {
			return c
		}
		return iprange.ComparePrefix(a.Prefix, b.Prefix)
	})
}

// modulePath is the module whose regions/ranges.txt is embedded.
const modulePath = "github.com/seed-b311f21d/go-mimecastip"

// IsEmbeddedFile reports whether path is regions/ranges.txt of this
// module's source tree (the file embedded in the binary), which a refresh
// must never write in place.
func IsEmbeddedFile(path string) bool {
	abs, err := filepath.Abs(path)
	if err != nil {
		return false
	}
	dir := filepath.Dir(abs)
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real
	}
	base := filepath.Base(abs)
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		dir, base = filepath.Dir(real), filepath.Base(real)
	}
	if base != "ranges.txt" || filepath.Base(dir) != "regions" {
		return false
	}
	mod, err := os.ReadFile(filepath.Join(filepath.Dir(dir), "go.mod"))
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(mod), "\n") {
		f := strings.Fields(line)
		if len(f) == 2 && f[0] == "module" && strings.Trim(f[1], `"`) == modulePath {
			return true
		}
	}
	return false
}

// ErrEmbeddedFile is returned by [WriteFile] for the embedded data file.
var ErrEmbeddedFile = errors.New("refusing to write the embedded data file regions/ranges.txt in place; write elsewhere and review the change")

// WriteFile writes d to path in the layout of [regions.Dataset.Format],
// validated and atomically as [WriteText] does. To keep an existing file's
// comments and layout, write the output of [Render] with WriteText.
func WriteFile(path string, d *regions.Dataset) error {
	text, err := formatText(d)
	if err != nil {
		return err
	}
	return WriteText(path, text, len(d.Ranges))
}
