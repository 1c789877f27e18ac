package refresh

import (
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/seed-b311f21d/go-mimecastip/cmd/mimecastip/internal/iprange"
	"github.com/seed-b311f21d/go-mimecastip/regions"
)

// Options tune [CompareWith]: the date of the check and the admin's
// overrides of the guards.
type Options struct {
	// Today is the date of the check; the zero time means now. The shrink
	// window ends on it.
	Today time.Time
	// Accept lists added prefixes the admin has reviewed: they pass the
	// addition guards (breadth, IPv6, growth). Every other guard still
	// applies, and the global record's direct terms are never accepted.
	Accept []netip.Prefix
	// AllowShrink lists regions that may lose half or more of their
	// SPF-derived rows or addresses within the window.
	AllowShrink regions.Set
	// Window is how far back retired rows count towards the shrink guard;
	// zero means [ShrinkWindow].
	Window time.Duration
}

// ShrinkWindow is the default window of the cumulative shrink guard: rows
// retired within it count as lost, so a region cannot be taken apart by a
// run of nightly refreshes that each drop a little under half.
const ShrinkWindow = 30 * 24 * time.Hour

// BroadestPublished4 is the broadest IPv4 prefix a refresh adds without
// review. The broadest prefixes any Mimecast _netblocks record has ever
// published are /22s: 41.74.192.0/22 and 41.74.196.0/22 (za, 2020 to
// 2026) and 185.58.84.0/22 (eu, about 2017 and again from 2026-04).
// A region's own bound is the broadest prefix the dataset holds for it
// (retired history included), never broader than this one, so us and usb
// (never broader than /24) get /24.
const BroadestPublished4 = 22

// additionBound returns the broadest prefix length a refresh may add to
// region r of d without review, for IPv4 (is6 false) or IPv6; ok is false
// for IPv6 when d holds no IPv6 row at all: no source has ever published
// one, so any IPv6 addition needs review.
func additionBound(d *regions.Dataset, r regions.Region, is6 bool) (bits int, ok bool) {
	bits = -1
	for _, row := range d.Ranges {
		if !row.Regions.Has(r) || row.Prefix.Addr().Is6() != is6 {
			continue
		}
		if bits < 0 || row.Prefix.Bits() < bits {
			bits = row.Prefix.Bits()
		}
	}
	if is6 {
		return bits, bits >= 0
	}
	if bits < 0 {
		bits = 24 // a region with no history yet
	}
	return max(bits, BroadestPublished4), true
}

// NetworkBits4 and NetworkBits6 size the networks of the new-network
// guard: a refresh adds without review only prefixes whose /16 (IPv4) or
// /32 (IPv6) already holds a row of the dataset (any region, service or
// status). Otherwise one poisoned answer could put a /24 of anyone's
// space into the lockdown, each night, as ordinary drift; real Mimecast
// additions in a new network are rare and get one --accept.
const (
	NetworkBits4 = 16
	NetworkBits6 = 32
)

func networkBits(p netip.Prefix) int {
	if p.Addr().Is4() {
		return NetworkBits4
	}
	return NetworkBits6
}

// inKnownNetwork reports whether p's network (see [NetworkBits4]) overlaps
// a row of d.
func inKnownNetwork(d *regions.Dataset, p netip.Prefix) bool {
	net := netip.PrefixFrom(p.Addr(), min(p.Bits(), networkBits(p))).Masked()
	for _, r := range d.Ranges {
		if r.Prefix.Overlaps(net) {
			return true
		}
	}
	return false
}

// unionSize returns the number of addresses the prefixes hold together.
func unionSize(ps []netip.Prefix) float64 {
	ps = slices.Clone(ps)
	iprange.SortPrefixes(ps)
	var total float64
	var last netip.Prefix
	for _, q := range ps {
		if last.IsValid() && last.Bits() <= q.Bits() && last.Contains(q.Addr()) {
			continue
		}
		total += size(q)
		last = q
	}
	return total
}

// term is how an SPF record writes p.
func term(p netip.Prefix) string {
	if p.Addr().Is4() {
		return "ip4:" + p.String()
	}
	return "ip6:" + p.String()
}

// maxNamed caps how many prefixes a refusal message names.
const maxNamed = 12

func nameSome(items []string) string {
	if len(items) <= maxNamed {
		return strings.Join(items, "; ")
	}
	return strings.Join(items[:maxNamed], "; ") + fmt.Sprintf("; and %d more", len(items)-maxNamed)
}

// guardAdditions refuses rr when its additions are broader than the
// region's bound, IPv6 while the dataset has none, in a network where the
// dataset has no row, or more than double the region's addresses as they
// were when the window began, except prefixes the admin accepted.
func guardAdditions(rr *RegionReport, d *regions.Dataset, active []regions.Range, opts Options) {
	var why []string
	var grow []netip.Prefix
	growth := ""
	for _, a := range rr.Added {
		if a.Region != rr.Region || slices.Contains(opts.Accept, a.Prefix) {
			continue
		}
		is6 := a.Prefix.Addr().Is6()
		bound, ok := additionBound(d, rr.Region, is6)
		switch {
		case !ok:
			why = append(why, fmt.Sprintf("%s in %s is IPv6, and no source has ever published an IPv6 range", term(a.Prefix), a.Via))
		case a.Prefix.Bits() < bound:
			why = append(why, fmt.Sprintf("%s in %s is broader than /%d, the broadest region %s may gain without review", term(a.Prefix), a.Via, bound, rr.Region))
		case !inKnownNetwork(d, a.Prefix):
			why = append(why, fmt.Sprintf("%s in %s is a new network: no row of the dataset lies in its /%d", term(a.Prefix), a.Via, networkBits(a.Prefix)))
		}
		grow = append(grow, a.Prefix)
	}
	if len(grow) > 0 {
		// The region as it was when the window began: rows first seen
		// (or that gained the region) within the window count as growth,
		// so nightly additions a little under double cannot ratchet it.
		since := windowStart(opts)
		gained := gainedMark(rr.Include, rr.Region)
		var have, old []netip.Prefix
		for _, r := range active {
			if r.Regions.Has(rr.Region) && r.Service.Mail() {
				have = append(have, r.Prefix)
				if !firstSeenAfter(r.FirstSeen, since) && latestMark(gained, r.Comment) <= since {
					old = append(old, r.Prefix)
				}
			}
		}
		if len(old) == 0 {
			old = have // every row is new: judge against them
		}
		before := unionSize(old)
		after := unionSize(append(have, grow...))
		if after > 2*before {
			var terms []string
			for _, p := range grow {
				terms = append(terms, term(p))
			}
			growth = fmt.Sprintf("the additions would take region %s from %.0f to %.0f addresses within %d days, more than double (%s)", rr.Region, before, after, windowDays(opts), nameSome(terms))
		}
	}
	if len(why) == 0 && growth == "" {
		return
	}
	if growth != "" {
		if len(why) > 0 {
			growth += "; "
		}
	}
	refuse(rr, "growth", fmt.Sprintf("refresh: %s: refusing additions to region %s: %s%s (review them, then name them with --accept PREFIX,...)", rr.Include, rr.Region, growth, nameSome(why)))
}

func refuse(rr *RegionReport, kind, msg string) {
	if rr.Status == StatusRefused {
		rr.Error += "; " + msg
		return
	}
	rr.Status, rr.ErrorKind, rr.Error = StatusRefused, kind, msg
}

// retiredMark is the comment Apply writes on a row it retires; the date is
// when it was retired.
var retiredMark = regexp.MustCompile(`\bretired (\d{4}-\d{2}-\d{2})\b`)

// RetiredOn returns the date row r was retired: the latest date of the
// "retired YYYY-MM-DD" notes in its comment (as [Apply] writes; a row
// retired, listed again and retired again has several), or else its
// LastSeen. "" for an active row.
func RetiredOn(r regions.Range) string {
	if !r.Retired {
		return ""
	}
	if d := latestMark(retiredMark, r.Comment); d != "" {
		return d
	}
	return r.LastSeen
}

// latestMark returns the latest date that re's first group captures in
// comment, or "".
func latestMark(re *regexp.Regexp, comment string) string {
	latest := ""
	for _, m := range re.FindAllStringSubmatch(comment, -1) {
		latest = max(latest, m[1])
	}
	return latest
}

// movedMark matches the note [Apply] writes on a row that another
// region's record lists now and include no longer does ("not in INCLUDE
// on YYYY-MM-DD"): the region was dropped from the row, which stays
// active.
func movedMark(include string) *regexp.Regexp {
	return regexp.MustCompile(`\bnot in ` + regexp.QuoteMeta(include) + ` on (\d{4}-\d{2}-\d{2})\b`)
}

// windowStart returns the first day (YYYY-MM-DD) of the shrink window
// that ends on opts.Today.
func windowStart(opts Options) string {
	day := opts.Today
	if day.IsZero() {
		day = time.Now()
	}
	window := opts.Window
	if window <= 0 {
		window = ShrinkWindow
	}
	return day.UTC().Add(-window).Format(time.DateOnly)
}

// windowDays returns the length of the window of opts in days.
func windowDays(opts Options) int {
	if opts.Window > 0 {
		return int(opts.Window.Hours() / 24)
	}
	return int(ShrinkWindow.Hours() / 24)
}

// firstSeenAfter reports whether a row first seen on date (YYYY, YYYY-MM
// or YYYY-MM-DD) is surely new since since: a partial date counts as the
// start of its period, so doubt keeps a row in the shrink guard's base.
func firstSeenAfter(date, since string) bool {
	switch len(date) {
	case 4:
		date += "-01-01"
	case 7:
		date += "-01"
	}
	return date > since
}

// gainedMark matches the notes [Apply] writes on an existing row that
// region r's include lists now: "in INCLUDE from YYYY-MM-DD" on an active
// row of other regions, "active again for R in SPF on YYYY-MM-DD" on a
// retired row of other regions.
func gainedMark(include string, r regions.Region) *regexp.Regexp {
	return regexp.MustCompile(`\b(?:in ` + regexp.QuoteMeta(include) + ` from|active again for ` + regexp.QuoteMeta(r.String()) + ` in SPF on) (\d{4}-\d{2}-\d{2})\b`)
}

// inWindow reports whether date (YYYY, YYYY-MM or YYYY-MM-DD) may lie on
// or after since (YYYY-MM-DD). A partial date counts as the end of its
// period, so doubt counts towards the guard.
func inWindow(date, since string) bool {
	switch len(date) {
	case 4:
		date += "-12-31"
	case 7:
		date += "-31"
	}
	return date >= since
}

// guardShrink refuses rr when the region loses half or more of its
// SPF-derived rows or addresses, counting the rows this check drops and
// the rows retired, or moved to another region, within the window.
func guardShrink(rr *RegionReport, d *regions.Dataset, opts Options) {
	window := opts.Window
	if window <= 0 {
		window = ShrinkWindow
	}
	since := windowStart(opts)
	var recent []netip.Prefix
	moved := movedMark(rr.Include)
	for _, r := range d.Ranges {
		if !r.SPFPublished() || r.Service != regions.Gateway {
			continue
		}
		switch {
		case r.Retired && r.Regions.Has(rr.Region):
			if inWindow(RetiredOn(r), since) {
				recent = append(recent, r.Prefix)
			}
		case !r.Regions.Has(rr.Region):
			// A row Apply moved to another region: the region lost it
			// as surely as a retired one.
			if on := latestMark(moved, r.Comment); on != "" && inWindow(on, since) {
				recent = append(recent, r.Prefix)
			}
		}
	}
	rr.RecentRows = len(recent)
	rr.RecentAddrs = unionSize(recent)
	if rr.SPFRows+rr.RecentRows == 0 && rr.NewRows > 0 {
		// Every row of the region is new: judge them as they are, so
		// there is always a base.
		rr.SPFRows, rr.SPFAddrs, rr.LostRows, rr.LostAddrs = rr.NewRows, rr.newAddrs, rr.newLostRows, rr.newLostAddrs
		rr.NewRows = 0
	}
	baseRows, lostRows := rr.SPFRows+rr.RecentRows, rr.LostRows+rr.RecentRows
	baseAddrs, lostAddrs := rr.SPFAddrs+rr.RecentAddrs, rr.LostAddrs+rr.RecentAddrs
	if rr.LostRows == 0 && rr.LostAddrs == 0 {
		return // this check drops nothing: earlier retirements were accepted then
	}
	if baseRows == 0 || (2*lostRows < baseRows && 2*lostAddrs < baseAddrs) {
		return
	}
	if opts.AllowShrink.Has(rr.Region) {
		rr.Notes = append(rr.Notes, fmt.Sprintf("shrink guard overridden (--allow-shrink %s): %d of %d SPF-derived rows lost within %d days", rr.Region, lostRows, baseRows, int(window.Hours()/24)))
		return
	}
	var lost []string
	for _, rm := range append(slices.Clone(rr.Removed), rr.Kept...) {
		lost = append(lost, rm.Prefix.String())
	}
	msg := fmt.Sprintf("refresh: %s: region %s would lose half or more of its SPF-derived data: %d of %d rows (%.0f of %.0f addresses) within %d days, of which this check drops %d (%s) and %d were retired since %s (name the region with --allow-shrink %s if this is real)",
		rr.Include, rr.Region, lostRows, baseRows, lostAddrs, baseAddrs, int(window.Hours()/24), rr.LostRows, nameSome(lost), rr.RecentRows, since, rr.Region)
	refuse(rr, "shrink", msg)
}

// guardGlobal refuses the global record when it lists ip4:/ip6: terms of
// its own: the global record names the regional includes only, and a row
// of region global would pass in every region.
func guardGlobal(rr *RegionReport, c Check) {
	var terms []string
	for _, p := range c.Result.Root.Prefixes {
		terms = append(terms, term(p))
	}
	if len(terms) == 0 {
		return
	}
	refuse(rr, "global-direct", fmt.Sprintf("refresh: %s lists %s directly: the global record must name regional includes only (a range in it would pass in every region)", c.Include, nameSome(terms)))
}
