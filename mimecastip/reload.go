package mimecastip

import (
	"fmt"
	"net"
	"net/netip"
	"sync/atomic"

	"github.com/seed-b311f21d/go-mimecastip/regions"
)

// Reloadable holds the current [Classifier] of a long-running server and
// lets it be replaced while lookups go on: a reload builds a complete new
// Classifier and swaps it in atomically, so a lookup sees either the old
// data or the new, never a half-built state. Its lookup methods are those
// of Classifier. Safe for concurrent use.
type Reloadable struct {
	cur atomic.Pointer[Classifier]
}

// NewReloadable returns a Reloadable serving c.
func NewReloadable(c *Classifier) *Reloadable {
	r := &Reloadable{}
	r.cur.Store(c)
	return r
}

// Current returns the Classifier in use now.
func (r *Reloadable) Current() *Classifier { return r.cur.Load() }

// Swap makes c the Classifier in use and returns the previous one.
func (r *Reloadable) Swap(c *Classifier) *Classifier { return r.cur.Swap(c) }

// The exported lookups are one-line wrappers over functions that return a
// pointer into the Classifier's results, so that they inline and the caller
// copies only what it reads (as the Classifier's own methods do).

// Lookup classifies addr with the current Classifier.
func (r *Reloadable) Lookup(addr netip.Addr) Result { return *r.lookup(addr) }

func (r *Reloadable) lookup(addr netip.Addr) *Result { return r.cur.Load().lookup(addr) }

// LookupString parses and classifies s with the current Classifier.
func (r *Reloadable) LookupString(s string) (Result, error) {
	res, err := r.cur.Load().lookupString(s)
	return *res, err
}

// LookupIP classifies ip with the current Classifier.
func (r *Reloadable) LookupIP(ip net.IP) Result { return *r.cur.Load().lookupIP(ip) }

// LookupNetAddr classifies a's address with the current Classifier.
func (r *Reloadable) LookupNetAddr(a net.Addr) Result { return *r.cur.Load().lookupNetAddr(a) }

// LoadFile reads and validates a data file (see [regions.Parse]) and builds
// a Classifier from it, restricted to the regions in scope (and the global
// addresses) unless scope is empty.
func LoadFile(path string, scope regions.Set) (*Classifier, error) {
	d, err := regions.ParseFile(path)
	if err != nil {
		return nil, err
	}
	rs := d.Ranges
	if !scope.IsEmpty() {
		rs = regions.Filter(rs, scope)
	}
	c, err := New(rs)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}
