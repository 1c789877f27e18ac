package mimecastip

import (
	"net"
	"net/netip"
	"sync/atomic"
)

// Reloadable holds the current [Classifier] of a long-running server and
// lets it be replaced while lookups go on: a reload builds a complete new
// Classifier and swaps it in atomically, so a lookup sees either the old
// data or the new, never a half-built state. Its lookup methods are those
// of Classifier. Safe for concurrent use.
//
// The zero Reloadable holds no Classifier, and a nil *Reloadable is read
// the same way: Current returns nil and every address is Foreign, as for
// a nil *Classifier. Only Swap needs a non-nil Reloadable.
type Reloadable struct {
	cur atomic.Pointer[Classifier]
}

// NewReloadable returns a Reloadable serving c.
func NewReloadable(c *Classifier) *Reloadable {
	r := &Reloadable{}
	r.cur.Store(c)
	return r
}

// Current returns the Classifier in use now; nil for the zero Reloadable
// and for a nil *Reloadable.
func (r *Reloadable) Current() *Classifier {
	if r == nil {
		return nil
	}
	return r.cur.Load()
}

// Swap makes c the Classifier in use and returns the previous one. It
// panics on a nil *Reloadable, which has nowhere to keep c.
func (r *Reloadable) Swap(c *Classifier) *Classifier {
	if r == nil {
		panic("mimecastip: Swap on a nil *Reloadable")
	}
	return r.cur.Swap(c)
}

// The exported lookups are one-line wrappers over functions that return a
// pointer into the Classifier's results, so that they inline and the caller
// copies only what it reads (as the Classifier's own methods do).

// Lookup classifies addr with the current Classifier.
func (r *Reloadable) Lookup(addr netip.Addr) Result { return *r.lookup(addr) }

func (r *Reloadable) lookup(addr netip.Addr) *Result { return r.Current().lookup(addr) }

// LookupString parses and classifies s with the current Classifier.
func (r *Reloadable) LookupString(s string) (Result, error) {
	res, err := r.lookupString(s)
	return *res, err
}

func (r *Reloadable) lookupString(s string) (*Result, error) { return r.Current().lookupString(s) }

// LookupIP classifies ip with the current Classifier.
func (r *Reloadable) LookupIP(ip net.IP) Result { return *r.Current().lookupIP(ip) }

// LookupNetAddr classifies a's address with the current Classifier.
func (r *Reloadable) LookupNetAddr(a net.Addr) Result { return *r.Current().lookupNetAddr(a) }
