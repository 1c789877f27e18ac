package logscan

import (
	"cmp"
	"errors"
	"net/netip"
	"slices"

	"github.com/seed-b311f21d/go-mimecastip/mimecastip"
)

// MaxDistinct is the default limit on the distinct addresses an
// [Addresses] table holds, which bounds its memory on hostile input: an
// address with its sample line takes about 400 bytes of heap (about
// 600 MB of resident memory when the table is full).
const MaxDistinct = 1 << 20

// MaxSample is the longest sample line an [Addresses] table keeps; longer
// lines are cut.
const MaxSample = 512

// ErrTooManyAddresses is returned by [Addresses.Add] when the table is
// full.
var ErrTooManyAddresses = errors.New("too many distinct addresses")

// AddrStat is what an [Addresses] table knows of one address.
type AddrStat struct {
	Addr   netip.Addr
	Result mimecastip.Result // as the Scanner's classifier classified it
	Count  int               // occurrences
	Lines  int               // lines holding it

	// The earliest and latest time stamps of those lines (see
	// [TimeRange]).
	TimeRange
	// The first line holding the address (cut at MaxSample bytes, without
	// its terminator), its file and its number.
	Sample     string
	SampleFile string
	SampleLine int

	lastSeq int
}

// TimeRange is the earliest and latest of the time stamps given to See
// ("" when none was), whatever their order: "scan --addresses mail.log*"
// reads the newest file first. Stamps that cannot be compared (of
// different kinds, or not understood) are taken in input order.
type TimeRange struct {
	First, Last string

	firstKey, lastKey timeKey
}

// See takes the time stamp ts, as [Timestamp] or a log's time column
// wrote it; "" is ignored.
func (st *TimeRange) See(ts string) {
	if ts == "" {
		return
	}
	k := parseTimeKey(ts)
	if st.First == "" {
		st.First, st.Last, st.firstKey, st.lastKey = ts, ts, k, k
		return
	}
	if earlier, ok := k.before(st.firstKey); ok && earlier {
		st.First, st.firstKey = ts, k
	}
	if earlier, ok := k.before(st.lastKey); !ok || !earlier {
		st.Last, st.lastKey = ts, k
	}
}

// Addresses tallies the distinct wanted addresses of the lines given to
// Add; an IPv4-mapped IPv6 address (::ffff:1.2.3.4) is the same address
// as its IPv4 form (1.2.3.4), as the classifier and Postfix see it. The zero value is ready to use (with the limit MaxDistinct).
type Addresses struct {
	Want    ClassMask // the classes to count; normally the Scanner's Want
	Max     int       // the most distinct addresses held; 0 means MaxDistinct
	Samples bool      // keep timestamps and a sample line of each address

	m   map[netip.Addr]*AddrStat
	seq int
}

// Add counts the wanted addresses of l, read from file. It returns
// ErrTooManyAddresses, without counting l, when l holds a new address and
// the table is full.
func (a *Addresses) Add(file string, l *Line) error {
	if a.m == nil {
		a.m = make(map[netip.Addr]*AddrStat)
	}
	max := a.Max
	if max <= 0 {
		max = MaxDistinct
	}
	if len(a.m)+len(l.Matches) > max { // near the limit: count the new addresses
		fresh := 0
		for i, m := range l.Matches {
			if a.Want.Has(l.Results[i].Class) && a.m[m.Addr.Unmap()] == nil {
				fresh++
			}
		}
		if len(a.m)+fresh > max {
			return ErrTooManyAddresses
		}
	}
	a.seq++
	var ts string
	tsDone := false
	for i, m := range l.Matches {
		r := l.Results[i]
		if !a.Want.Has(r.Class) {
			continue
		}
		key := m.Addr.Unmap() // ::ffff:1.2.3.4 is the client 1.2.3.4
		st := a.m[key]
		if st == nil {
			st = &AddrStat{Addr: key, Result: r}
			a.m[key] = st
			if a.Samples {
				text := TrimEOL(l.Text)
				if len(text) > MaxSample {
					text = text[:MaxSample]
				}
				st.Sample, st.SampleFile, st.SampleLine = string(text), file, l.Num
			}
		}
		st.Count++
		if st.lastSeq != a.seq {
			st.lastSeq = a.seq
			st.Lines++
			if a.Samples {
				if !tsDone {
					ts, tsDone = string(l.Time), true
				}
				st.See(ts)
			}
		}
	}
	return nil
}

// Len returns the number of distinct addresses counted.
func (a *Addresses) Len() int { return len(a.m) }

// Sorted returns the addresses by decreasing count, then by address.
func (a *Addresses) Sorted() []*AddrStat {
	out := make([]*AddrStat, 0, len(a.m))
	for _, st := range a.m {
		out = append(out, st)
	}
	slices.SortFunc(out, func(x, y *AddrStat) int {
		if c := cmp.Compare(y.Count, x.Count); c != 0 {
			return c
		}
		return x.Addr.Compare(y.Addr)
	})
	return out
}
