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
	"slices"
	"strings"
	"time"

	"github.com/seed-b311f21d/go-mimecastip/internal/spf"
	"github.com/seed-b311f21d/go-mimecastip/mimecastip"
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
			judgeRows(&rr, active, complete, checks)
			rr.Status = StatusOK
			if rr.HasDrift() {
				rr.Status = StatusDrift
			}
			if rr.SPFRows > 0 && (2*rr.LostRows > rr.SPFRows || 2*rr.LostAddrs > rr.SPFAddrs) {
				rr.Status, rr.ErrorKind = StatusRefused, "shrink"
				var lost []string
				for _, rm := range append(slices.Clone(rr.Removed), rr.Kept...) {
					lost = append(lost, rm.Prefix.String())
				}
				rr.Error = fmt.Sprintf("refresh: %s: region %s would shrink by more than half: SPF drops %d of its %d SPF-published rows (%.0f of %.0f addresses): %s",
					c.Include, c.Region, rr.LostRows, rr.SPFRows, rr.LostAddrs, rr.SPFAddrs, strings.Join(lost, " "))
			}
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
func judgeRows(rr *RegionReport, active []regions.Range, complete map[regions.Region]map[netip.Prefix]bool, checks []Check) {
	checked := map[regions.Region]bool{}
	for _, c := range checks {
		checked[c.Region] = true
	}
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
		if listed {
			rr.SPFRows++
			rr.SPFAddrs += size(row.Prefix)
			continue
		}
		if !decided {
			rr.Unchecked = append(rr.Unchecked, row.Prefix)
			continue
		}
		rr.SPFRows++
		rr.SPFAddrs += size(row.Prefix)
		covered, coveredBy := coverage(row.Prefix, sets)
		if lost := size(row.Prefix) - covered; lost > 0 {
			rr.LostRows++
			rr.LostAddrs += lost
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
		spf.SortPrefixes(broader)
		return size(p), broader
	}
	spf.SortPrefixes(inner)
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
	SourceText string    // text of the new @source line
	// KeepRemoved leaves rows SPF no longer lists active (during a
	// double-run period) instead of retiring them; they are reported
	// again by the next refresh.
	KeepRemoved bool
}

// SourceID returns the ID of the source a refresh on day cites:
// "spf-YYYYMMDD".
func SourceID(day time.Time) string { return "spf-" + day.UTC().Format("20060102") }

// Apply returns d updated with the drift of rep, and notes on what it did
// not write. It refuses (returns an error) when any region of rep is
// unknown or refused.
//
// The new dataset has a new @source "spf-YYYYMMDD" dated today (reused if
// d already has it) and version today. Every row still listed by a
// checked region's SPF cites the new source and has LastSeen today; every
// added prefix becomes an active gateway row citing it (or an existing row
// gains the region, or a retired row becomes active again); every removed
// row is retired with its LastSeen unchanged (nothing is ever deleted),
// unless opts.KeepRemoved. Rows kept for another source (the Data Centers
// page, non-SPF relays) are left as they are. Rows are sorted by first
// region, then prefix, as in the embedded file.
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
	src := SourceID(day)
	nd := d.Clone()
	if !slices.ContainsFunc(nd.Sources, func(s regions.Source) bool { return s.ID == src }) {
		text := opts.SourceText
		if text == "" {
			text = "mimecastip refresh: SPF expansion of Mimecast's _netblocks records"
		}
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
	note := func(r *regions.Range, s string) {
		if r.Comment == "" {
			r.Comment = s
		} else {
			r.Comment += "; " + s
		}
	}
	var notes []string
	for _, rr := range rep.Regions {
		for _, p := range rr.Listed {
			if i, ok := idx[p]; ok && !nd.Ranges[i].Retired && nd.Ranges[i].Regions.Has(rr.Region) {
				seen(&nd.Ranges[i])
			}
		}
		for _, a := range rr.Added {
			if a.Region != rr.Region {
				why := "its include is no known region's"
				if a.Region != 0 {
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
				continue
			}
			r := &nd.Ranges[i]
			if !r.Retired && r.Service != regions.Gateway {
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
			note(r, fmt.Sprintf("not in %s on %s", rr.Include, today))
		}
	}
	SortRows(nd.Ranges)
	var buf bytes.Buffer
	if err := nd.Format(&buf); err != nil {
		return nil, notes, err
	}
	back, err := regions.Parse(&buf)
	if err != nil {
		return nil, notes, fmt.Errorf("refresh: the updated dataset does not parse back: %w", err)
	}
	return back, notes, nil
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
		return spf.ComparePrefix(a.Prefix, b.Prefix)
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

// WriteFile writes d to path in the data-file format: to a temporary file
// in the same directory, which is read back and validated (it must parse
// and build a classifier) before it is renamed over path. On any error
// nothing is left behind and path is untouched.
func WriteFile(path string, d *regions.Dataset) (err error) {
	if IsEmbeddedFile(path) {
		return fmt.Errorf("refresh: %s: %w", path, ErrEmbeddedFile)
	}
	var buf bytes.Buffer
	if err := d.Format(&buf); err != nil {
		return fmt.Errorf("refresh: %w", err)
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	mode := os.FileMode(0o644)
	if fi, err := os.Stat(path); err == nil {
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("refresh: %s is not a regular file", path)
		}
		mode = fi.Mode().Perm()
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("refresh: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			os.Remove(tmp)
		}
	}()
	_, err = f.Write(buf.Bytes())
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, mode)
	}
	if err != nil {
		return fmt.Errorf("refresh: writing %s: %w", tmp, err)
	}
	back, err := regions.ParseFile(tmp)
	if err != nil {
		return fmt.Errorf("refresh: the written file does not parse back: %w", err)
	}
	if len(back.Ranges) != len(d.Ranges) {
		return fmt.Errorf("refresh: the written file has %d rows, want %d", len(back.Ranges), len(d.Ranges))
	}
	if _, err := mimecastip.New(back.Ranges); err != nil {
		return fmt.Errorf("refresh: the written file does not build a classifier: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("refresh: %w", err)
	}
	return nil
}
