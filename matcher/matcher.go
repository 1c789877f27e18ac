// Package matcher answers longest-prefix-match questions over a set of
// [regions.Range] rows: which row holds an address, if any.
//
// A [Matcher] is built once by [New] and never changes afterwards, so it is
// safe for concurrent use by any number of goroutines without locking. A
// lookup allocates nothing.
//
// Address rules, the same for every method:
//   - IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are unmapped first, so they
//     match IPv4 prefixes. A dual-stack listener reports IPv4 clients that
//     way.
//   - IPv6 zones are ignored: fe80::1%eth0 is looked up as fe80::1.
//   - The zero [netip.Addr] matches nothing.
//
// When prefixes nest, the most specific one decides.
package matcher

import (
	"net/netip"

	"github.com/seed-b311f21d/go-mimecastip/internal/lpm"
	"github.com/seed-b311f21d/go-mimecastip/regions"
)

// MaxRanges is the most active rows a Matcher can hold; [New] returns an
// error for more.
const MaxRanges = 1<<16 - 1

// Matcher finds the most specific active range containing an address.
//
// The zero Matcher (and a nil *Matcher) is empty: it matches nothing.
type Matcher struct {
	t *lpm.Matcher // nil for the zero Matcher; lpm's methods accept nil
}

// New builds a Matcher from rs. Retired rows ([regions.Range.Retired]) are
// skipped: they are history and never match. The active rows must have
// valid, canonical prefixes (host bits zero), IPv4 prefixes must not be
// written in 4-in-6 form, and no prefix may appear twice; otherwise New
// returns an error naming every offending row. rs is copied; the caller may
// change it afterwards.
func New(rs []regions.Range) (*Matcher, error) {
	t, err := lpm.New(rs)
	if err != nil {
		return nil, err
	}
	return &Matcher{t: t}, nil
}

// engine returns m's table, nil for a nil or zero Matcher.
func (m *Matcher) engine() *lpm.Matcher {
	if m == nil {
		return nil
	}
	return m.t
}

// Lookup returns the most specific range containing addr, and whether there
// is one; the range's Prefix is the matched prefix. The returned Range
// shares its Sources slice with the Matcher; callers must not modify it.
func (m *Matcher) Lookup(addr netip.Addr) (regions.Range, bool) {
	return m.engine().Lookup(addr)
}

// Contains reports whether any range contains addr.
func (m *Matcher) Contains(addr netip.Addr) bool { return m.engine().Contains(addr) }

// Len returns the number of active ranges in m.
func (m *Matcher) Len() int { return m.engine().Len() }

// Ranges returns a copy of the active ranges in m, in the order given to
// [New].
func (m *Matcher) Ranges() []regions.Range { return m.engine().Ranges() }
