package regions

import (
	"bufio"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

//go:embed ranges.txt
var embedded string

// Range is one row of a dataset: a published prefix and what it is.
type Range struct {
	Prefix    netip.Prefix // canonical (masked); IPv4 prefixes are never 4-in-6
	Regions   Set          // every region that publishes this prefix
	Service   Service      // what the prefix is published for
	Retired   bool         // dropped from the published lists; kept as history
	FirstSeen string       // first date the sources show it: YYYY, YYYY-MM or YYYY-MM-DD
	LastSeen  string       // last date the sources show it
	Sources   []string     // IDs of the dataset's sources that publish it
	Comment   string       // free text from the data file, may be ""
	Line      int          // line in the data file; 0 when not read from a file
}

// Source is a document a dataset's rows cite.
type Source struct {
	ID   string // short name the rows use, e.g. "dc"
	Date string // date of the copy used, or "undated"
	Text string // what and where it is
}

// Dataset is a parsed data file: its as-of date, its sources and its rows.
type Dataset struct {
	Version string // as-of date, YYYY-MM-DD
	Sources []Source
	Ranges  []Range
}

// Clone returns a deep copy of d.
func (d *Dataset) Clone() *Dataset {
	c := &Dataset{Version: d.Version, Sources: slices.Clone(d.Sources), Ranges: cloneRanges(d.Ranges)}
	return c
}

func cloneRanges(rs []Range) []Range {
	out := slices.Clone(rs)
	for i := range out {
		out[i].Sources = slices.Clone(out[i].Sources)
	}
	return out
}

// Active returns the rows that are published now (not retired), as a copy.
func (d *Dataset) Active() []Range {
	var out []Range
	for _, r := range d.Ranges {
		if !r.Retired {
			out = append(out, r)
		}
	}
	return cloneRanges(out)
}

var (
	embedOnce sync.Once
	embedData *Dataset
)

func loadEmbedded() {
	d, err := Parse(strings.NewReader(embedded))
	if err != nil {
		// The embedded file is checked by the package's tests; this cannot
		// happen in a released build.
		panic("regions: embedded dataset is invalid: " + err.Error())
	}
	embedData = d
}

// Embedded returns a copy of the dataset embedded in this package. It is
// parsed on first use (well under a millisecond), never at import time.
func Embedded() *Dataset {
	embedOnce.Do(loadEmbedded)
	return embedData.Clone()
}

// Ranges returns a copy of every row of the embedded dataset, retired
// history included (see [Range.Retired] and [Dataset.Active]). It is
// Embedded().Ranges without copying the rest of the dataset.
func Ranges() []Range {
	embedOnce.Do(loadEmbedded)
	return cloneRanges(embedData.Ranges)
}

// Version returns the as-of date of the embedded dataset (YYYY-MM-DD).
func Version() string {
	embedOnce.Do(loadEmbedded)
	return embedData.Version
}

// Filter returns the rows of rs published for any region in set, plus the
// website and Web Security rows published for every account ([Global]).
// The global tag of a mail row (gateway, non-SPF relay) never selects it:
// Mimecast publishes no mail range for every account, so such a row (a
// typo, a poisoned edit) is kept for its other regions only, as the
// policy service does. The result is a new slice.
func Filter(rs []Range, set Set) []Range {
	var out []Range
	for _, r := range rs {
		want := set.Add(Global)
		if r.Service.Mail() {
			want = set &^ SetOf(Global)
		}
		if !r.Regions.Intersect(want).IsEmpty() {
			out = append(out, r)
		}
	}
	return cloneRanges(out)
}

// ParseFile reads and validates a data file; see [Parse].
func ParseFile(path string) (*Dataset, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("regions: %w", err)
	}
	defer f.Close()
	d, err := Parse(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return d, nil
}

// maxErrors caps how many problems Parse reports at once.
const maxErrors = 20

// maxLine caps the text of a line: its fields joined by single spaces plus
// its comment, which is what Format writes back, padded by less than a
// hundred bytes. It is far below the scanner's limit, so Format always
// writes lines that Parse can read.
const maxLine = 4096

func contentLen(fields []string, comment string) int {
	n := len(comment)
	for _, f := range fields {
		n += len(f) + 1
	}
	return n
}

// Parse reads a data file in the format of the embedded ranges.txt and
// validates it: every prefix canonical, not in private, loopback,
// documentation or other special-purpose space, not broader than /16
// (IPv4) or /32 (IPv6) unless its comment says "broad: REASON", and never
// broader than [BroadLimit4] or [BroadLimit6] even then, no prefix twice,
// every cited source defined, a version line, and a last line "@end ROWS"
// whose count equals the rows read (see [EndLine]): a file without it, or
// with a different count, is refused as incomplete. Problems are reported
// together, each naming its line: "regions: line 12: ...".
func Parse(r io.Reader) (*Dataset, error) {
	d := &Dataset{}
	var errs []error
	fail := func(line int, format string, args ...any) {
		if len(errs) < maxErrors {
			errs = append(errs, fmt.Errorf("regions: line %d: %s", line, fmt.Sprintf(format, args...)))
		}
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 64*1024)
	seen := map[netip.Prefix]int{}
	sources := map[string]bool{}
	versionLine, endLine, endRows, badRows, rowsAtEnd := 0, 0, 0, 0, 0
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		if n == 1 {
			line = strings.TrimPrefix(line, "\uFEFF") // a byte-order mark, as Windows editors write
		}
		line = strings.TrimSuffix(line, "\r")
		if !isText(line) {
			fail(n, "line is not printable text")
			continue
		}
		body, comment, _ := strings.Cut(line, "#")
		comment = strings.TrimSpace(comment)
		fields := strings.Fields(body)
		if size := contentLen(fields, comment); size > maxLine {
			fail(n, "line holds %d bytes of text, more than %d", size, maxLine)
			continue
		}
		if len(fields) == 0 {
			continue
		}
		if endLine != 0 {
			// Reported, and the line still checked, so its own errors show.
			fail(n, "text after the @end line (line %d); @end must be the last line", endLine)
		}
		switch fields[0] {
		case "@end":
			if endLine != 0 {
				continue
			}
			endLine, rowsAtEnd = n, len(d.Ranges)+badRows
			v, err := strconv.Atoi(strings.TrimSpace(strings.Join(fields[1:], " ")))
			if len(fields) != 2 || err != nil || v < 0 || fields[1] != strconv.Itoa(v) {
				fail(n, "want \"@end ROWS\" (ROWS the number of rows of the file), got %q", strings.TrimSpace(body))
				endRows = -1
				continue
			}
			endRows = v
			continue
		case "@version":
			if versionLine != 0 {
				fail(n, "second @version (first on line %d)", versionLine)
				continue
			}
			versionLine = n
			if len(fields) != 2 || !validDate(fields[1], true) {
				fail(n, "want \"@version YYYY-MM-DD\", got %q", strings.TrimSpace(body))
				continue
			}
			d.Version = fields[1]
			continue
		case "@source":
			fields = strings.Fields(line) // a source's text may hold '#' (URLs)
			if len(fields) < 4 {
				fail(n, "want \"@source ID DATE TEXT\", got %q", strings.TrimSpace(body))
				continue
			}
			id := fields[1]
			if !validID(id) {
				fail(n, "bad source ID %q (want lower-case letters, digits and '-')", id)
				continue
			}
			if sources[id] {
				fail(n, "source %q defined twice", id)
				continue
			}
			if fields[2] != "undated" && !validDate(fields[2], false) {
				fail(n, "source %q: bad date %q (want YYYY, YYYY-MM, YYYY-MM-DD or undated)", id, fields[2])
				continue
			}
			sources[id] = true
			d.Sources = append(d.Sources, Source{ID: id, Date: fields[2], Text: strings.Join(fields[3:], " ")})
			continue
		}
		if strings.HasPrefix(fields[0], "@") {
			fail(n, "unknown directive %q", fields[0])
			continue
		}
		rg, ok := parseRow(n, fields, comment, fail)
		if !ok {
			badRows++
			continue
		}
		if first, dup := seen[rg.Prefix]; dup {
			fail(n, "prefix %s already on line %d", rg.Prefix, first)
			badRows++
			continue
		}
		seen[rg.Prefix] = n
		d.Ranges = append(d.Ranges, rg)
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, fmt.Errorf("regions: line %d: %w", n+1, err))
	}
	if versionLine == 0 {
		errs = append(errs, errors.New("regions: no @version line"))
	}
	if rows := len(d.Ranges) + badRows; endLine == 0 && sc.Err() == nil {
		errs = append(errs, fmt.Errorf("regions: the file is incomplete: it does not end with an \"@end %d\" line (cut short, or written without one)", rows))
	} else if endLine != 0 && endRows >= 0 && endRows != rowsAtEnd {
		errs = append(errs, fmt.Errorf("regions: line %d: the file is incomplete or was edited: @end declares %d rows, the file has %d (if you added or removed rows on purpose, write \"@end %d\")", endLine, endRows, rowsAtEnd, rowsAtEnd))
	}
	for _, rg := range d.Ranges {
		for _, s := range rg.Sources {
			if !sources[s] {
				fail(rg.Line, "source %q is not defined by a @source line", s)
			}
		}
	}
	if len(d.Ranges) == 0 && len(errs) == 0 {
		errs = append(errs, errors.New("regions: no ranges"))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return d, nil
}

func parseRow(n int, f []string, comment string, fail func(int, string, ...any)) (Range, bool) {
	if len(f) != 7 {
		fail(n, "want 7 columns (PREFIX REGIONS SERVICE STATUS FIRST LAST SOURCES), got %d", len(f))
		return Range{}, false
	}
	p, err := netip.ParsePrefix(f[0])
	if err != nil {
		fail(n, "bad prefix %q: %v", f[0], err)
		return Range{}, false
	}
	if err := CheckPrefix(p); err != nil {
		if !(errors.Is(err, ErrBroad) && broadReason(comment)) {
			fail(n, "%v", err)
			return Range{}, false
		}
		if limit := broadLimit(p); p.Bits() < limit {
			fail(n, "prefix %s is broader than /%d, the limit even with a \"# broad:\" reason", p, limit)
			return Range{}, false
		}
	}
	set, err := ParseSet(f[1])
	if err != nil || set.IsEmpty() || strings.EqualFold(f[1], "all") {
		fail(n, "bad regions %q", f[1])
		return Range{}, false
	}
	svc, err := ParseService(f[2])
	if err != nil {
		fail(n, "%s", strings.TrimPrefix(err.Error(), "regions: "))
		return Range{}, false
	}
	var retired bool
	switch f[3] {
	case "active":
	case "retired":
		retired = true
	default:
		fail(n, "bad status %q (want active or retired)", f[3])
		return Range{}, false
	}
	if !validDate(f[4], false) || !validDate(f[5], false) {
		fail(n, "bad dates %q %q (want YYYY, YYYY-MM or YYYY-MM-DD)", f[4], f[5])
		return Range{}, false
	}
	if f[4] > f[5] && !strings.HasPrefix(f[4], f[5]) {
		fail(n, "first seen %s is after last seen %s", f[4], f[5])
		return Range{}, false
	}
	srcs := strings.Split(f[6], ",")
	for _, s := range srcs {
		if !validID(s) {
			fail(n, "bad source ID %q", s)
			return Range{}, false
		}
	}
	return Range{
		Prefix: p, Regions: set, Service: svc, Retired: retired,
		FirstSeen: f[4], LastSeen: f[5], Sources: srcs, Comment: comment, Line: n,
	}, true
}

// BroadLimit4 and BroadLimit6 are the broadest prefixes a data file may
// hold at all: a row broader than /16 (IPv4) or /32 (IPv6) needs a
// "# broad: REASON" comment, and no reason admits one broader than these.
// The broadest range Mimecast has ever published is a /22.
const (
	BroadLimit4 = 12
	BroadLimit6 = 28
)

func broadLimit(p netip.Prefix) int {
	if p.Addr().Is4() {
		return BroadLimit4
	}
	return BroadLimit6
}

// broadReason reports whether comment holds "broad:" followed by a reason.
func broadReason(comment string) bool {
	_, reason, ok := strings.Cut(comment, "broad:")
	return ok && strings.TrimSpace(reason) != ""
}

// ErrBroad is wrapped by [CheckPrefix] for a prefix broader than /16 (IPv4)
// or /32 (IPv6).
var ErrBroad = errors.New("broader than /16 (IPv4) or /32 (IPv6)")

// CheckPrefix reports why p cannot be a Mimecast range: invalid, not
// canonical (host bits set), IPv4 written in 4-in-6 form, overlapping
// private, loopback, link-local, documentation, multicast or other
// special-purpose space, or broader than /16 (IPv4) or /32 (IPv6), which
// wraps [ErrBroad]. It returns nil for an acceptable prefix.
func CheckPrefix(p netip.Prefix) error {
	if !p.IsValid() {
		return fmt.Errorf("invalid prefix %s", p)
	}
	if p.Addr().Zone() != "" {
		return fmt.Errorf("prefix %s has a zone", p)
	}
	if p != p.Masked() {
		return fmt.Errorf("prefix %s is not canonical (want %s)", p, p.Masked())
	}
	if p.Addr().Is4In6() {
		return fmt.Errorf("prefix %s is an IPv4 range in 4-in-6 form (write %s)", p, netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96).Masked())
	}
	for _, b := range bogons() {
		if b.p.Overlaps(p) {
			return fmt.Errorf("prefix %s overlaps %s space %s", p, b.what, b.p)
		}
	}
	if p.Addr().Is6() && !globalUnicast6.Contains(p.Addr()) {
		return fmt.Errorf("prefix %s is outside IPv6 global unicast space 2000::/3", p)
	}
	if p.Addr().Is4() && p.Bits() < 16 || p.Addr().Is6() && p.Bits() < 32 {
		return fmt.Errorf("prefix %s is %w", p, ErrBroad)
	}
	return nil
}

var globalUnicast6 = netip.MustParsePrefix("2000::/3")

type bogon struct {
	p    netip.Prefix
	what string
}

var bogonList = []struct{ cidr, what string }{
	{"0.0.0.0/8", "this-network"},
	{"10.0.0.0/8", "private"},
	{"100.64.0.0/10", "shared (CGN)"},
	{"127.0.0.0/8", "loopback"},
	{"169.254.0.0/16", "link-local"},
	{"172.16.0.0/12", "private"},
	{"192.0.0.0/24", "IETF protocol assignment"},
	{"192.0.2.0/24", "documentation"},
	{"192.31.196.0/24", "AS112 service"},
	{"192.52.193.0/24", "AMT"},
	{"192.175.48.0/24", "AS112 direct delegation"},
	{"192.88.99.0/24", "6to4 relay anycast"},
	{"192.168.0.0/16", "private"},
	{"198.18.0.0/15", "benchmarking"},
	{"198.51.100.0/24", "documentation"},
	{"203.0.113.0/24", "documentation"},
	{"224.0.0.0/4", "multicast"},
	{"240.0.0.0/4", "reserved"},
	{"2001::/23", "IETF protocol assignment"},
	{"2001:db8::/32", "documentation"},
	{"2002::/16", "6to4"},
	{"3fff::/20", "documentation"},
}

var bogonsOnce = sync.OnceValue(func() []bogon {
	out := make([]bogon, len(bogonList))
	for i, b := range bogonList {
		out[i] = bogon{netip.MustParsePrefix(b.cidr), b.what}
	}
	return out
})

func bogons() []bogon { return bogonsOnce() }

func validID(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// validDate accepts YYYY-MM-DD, and also YYYY and YYYY-MM unless full is set.
func validDate(s string, full bool) bool {
	digits := func(t string) bool {
		for i := 0; i < len(t); i++ {
			if t[i] < '0' || t[i] > '9' {
				return false
			}
		}
		return t != ""
	}
	parts := strings.Split(s, "-")
	if full && len(parts) != 3 || len(parts) > 3 || len(parts[0]) != 4 || !digits(parts[0]) {
		return false
	}
	if len(parts) >= 2 {
		if len(parts[1]) != 2 || !digits(parts[1]) || parts[1] < "01" || parts[1] > "12" {
			return false
		}
	}
	if len(parts) == 3 {
		if len(parts[2]) != 2 || !digits(parts[2]) || parts[2] < "01" || parts[2] > "31" {
			return false
		}
		if _, err := time.Parse(time.DateOnly, s); err != nil {
			return false // a day the month does not have, such as 2026-02-30
		}
	}
	return true
}

func isText(s string) bool {
	for _, r := range s {
		if r == '\t' {
			continue
		}
		if r < ' ' || r == 0x7f || r == '\uFFFD' {
			return false
		}
	}
	return true
}

// Format writes d in the data-file format that [Parse] reads: the
// directives, then one row a range in the order of d.Ranges.
func (d *Dataset) Format(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "# go-mimecastip dataset; format described in ranges.txt of package regions.\n")
	fmt.Fprintf(bw, "@version %s\n\n", d.Version)
	for _, s := range d.Sources {
		fmt.Fprintf(bw, "@source %s %s %s\n", s.ID, s.Date, s.Text)
	}
	bw.WriteString("\n")
	for _, r := range d.Ranges {
		bw.WriteString(FormatRow(r))
		bw.WriteString("\n")
	}
	fmt.Fprintf(bw, "\n%s\n", EndLine(len(d.Ranges)))
	return bw.Flush()
}

// FormatRow returns r as one row of a data file, without a newline, in
// the column layout [Dataset.Format] writes.
func FormatRow(r Range) string {
	status := "active"
	if r.Retired {
		status = "retired"
	}
	s := fmt.Sprintf("%-21s %-7s %-8s %-7s %-11s %-11s %s", r.Prefix, r.Regions, r.Service, status, r.FirstSeen, r.LastSeen, strings.Join(r.Sources, ","))
	if r.Comment != "" {
		s += "  # " + r.Comment
	}
	return s
}

// EndLine returns the line that must end a data file of rows rows:
// "@end ROWS". [Parse] refuses a file without it, or whose count differs
// from the rows it read, as incomplete: a file cut short at a line
// boundary (a copy or write interrupted, a reader racing a writer) never
// loads as a smaller valid dataset.
func EndLine(rows int) string { return "@end " + strconv.Itoa(rows) }

// SPFPublished reports whether any of r's sources is an expansion of
// Mimecast's SPF records (a source ID starting with "spf"). Only such rows
// can be judged by comparing with live SPF; rows from the Data Centers page
// and other sources are outside what SPF publishes.
func (r Range) SPFPublished() bool {
	for _, s := range r.Sources {
		if strings.HasPrefix(s, "spf") {
			return true
		}
	}
	return false
}
