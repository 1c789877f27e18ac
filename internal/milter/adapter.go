package milter

// The decision adapter: the one place that turns the data into a Decider.
//
// PROVISIONAL. The policy service's request-independent engine
// (internal/policy: policy.LoadEngine / NewEngine and
// (*policy.Engine).DecideAddr with the verdicts Pass/Defer/Reject/TempFail)
// is being written on another branch. When it is merged, replace the body
// of rangesDecider.DecideAddr (or the whole type) by a call to the engine,
// mapping Pass -> Pass, Reject -> Reject, Defer -> TempFail (Tier
// "other-region" or "retired" from Decision.Reason) and TempFail ->
// TempFail (Tier "error"), and build the engine in Loader from the same
// dataset the Tracer is built from. Nothing else in the milter changes.

import (
	"fmt"
	"net/netip"
	"os"

	"github.com/seed-b311f21d/go-mimecastip/mimecastip"
	"github.com/seed-b311f21d/go-mimecastip/mimecastip/trace"
	"github.com/seed-b311f21d/go-mimecastip/regions"
)

// rangesDecider applies the tiers over classifiers built from one dataset:
//
//  1. an active gateway or non-SPF relay range of the scope: Pass
//  2. an active Mimecast mail range of another region: TempFail
//  3. a retired Mimecast mail range, where no active row holds the
//     address: TempFail
//  4. anything else (including Mimecast website and Web Security
//     addresses): Reject
type rangesDecider struct {
	scoped, wide, retired *mimecastip.Classifier
}

// DecideAddr applies the tiers to a.
func (r *rangesDecider) DecideAddr(a netip.Addr) Decision {
	if !a.IsValid() {
		return Decision{Verdict: TempFail, Tier: "error", Reason: "no client address"}
	}
	a = a.Unmap().WithZone("")
	res := r.scoped.Lookup(a)
	d := Decision{Addr: a, Class: res.Class, Regions: res.Regions, Prefix: res.Prefix()}
	if res.Class != mimecastip.Foreign {
		d.Verdict, d.Tier = Pass, "region"
		return d
	}
	w := r.wide.Lookup(a)
	if w.Class != mimecastip.Foreign {
		d.Verdict, d.Tier, d.Regions, d.Prefix = TempFail, "other-region", w.Regions, w.Prefix()
		return d
	}
	if !w.Published() && !res.Published() {
		if rt := r.retired.Lookup(a); rt.Class != mimecastip.Foreign {
			d.Verdict, d.Tier, d.Regions, d.Prefix = TempFail, "retired", rt.Regions, rt.Prefix()
			return d
		}
	}
	d.Verdict, d.Tier = Reject, "foreign"
	return d
}

// Loader returns a function that reads the data file at path (the
// embedded dataset when path is "") once and builds a Snapshot from that
// read: the Decider for the regions of scope (every region when empty)
// and the Tracer for tag mode. A path that is not a regular file is
// refused without being read (a FIFO would block a reload), and so is a
// scope with no Mimecast mail range of its own (a lockdown with it would
// refuse all Mimecast mail).
func Loader(path string, scope regions.Set) func() (*Snapshot, error) {
	return func() (*Snapshot, error) {
		var d *regions.Dataset
		source := "embedded dataset " + regions.Version()
		if path == "" {
			d = regions.Embedded()
		} else {
			fi, err := os.Stat(path)
			if err != nil {
				return nil, err
			}
			if !fi.Mode().IsRegular() {
				return nil, fmt.Errorf("%s: not a regular file", path)
			}
			if d, err = regions.ParseFile(path); err != nil {
				return nil, err
			}
			source = path
		}
		all := scope.IsEmpty() || scope == regions.AllRegions()
		rs := d.Ranges
		if !all {
			rs = regions.Filter(d.Ranges, scope)
		}
		mail := 0
		var retired []regions.Range
		for _, r := range d.Ranges {
			if !r.Service.Mail() {
				continue
			}
			if r.Retired {
				r.Retired = false
				retired = append(retired, r)
			} else if all || !r.Regions.Intersect(scope&^regions.SetOf(regions.Global)).IsEmpty() {
				mail++
			}
		}
		if mail == 0 {
			return nil, fmt.Errorf("%s: --region %s selects no Mimecast gateway or non-SPF relay range; a lockdown with it would refuse all Mimecast mail", source, scope)
		}
		scoped, err := mimecastip.New(rs)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", source, err)
		}
		wide, err := mimecastip.New(d.Ranges)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", source, err)
		}
		ret, err := mimecastip.New(retired)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", source, err)
		}
		var regs regions.Set
		if !all {
			regs = scope
		}
		tr, err := trace.New(trace.Config{Classifier: scoped, Wide: wide, Regions: regs})
		if err != nil {
			return nil, err
		}
		return &Snapshot{Decider: &rangesDecider{scoped: scoped, wide: wide, retired: ret}, Tracer: tr, Source: source, Ranges: scoped.Len()}, nil
	}
}
