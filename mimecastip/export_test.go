package mimecastip

import (
	"net/netip"

	"github.com/seed-b311f21d/go-mimecastip/regions"
)

// MakeResult builds a Result with a prefix, for the external tests'
// expected values.
func MakeResult(c Class, set regions.Set, v regions.Service, p netip.Prefix) Result {
	return Result{Class: c, Regions: set, Service: v, prefix: compact(p)}
}
