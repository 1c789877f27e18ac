package milter

// The decision adapter: the one place that turns the data into a Decider.
// It uses the policy service's engine, so the milter and the policy
// service decide alike.

import (
	"net/netip"

	"github.com/seed-b311f21d/go-mimecastip/cmd/mimecastip/internal/policy"
	"github.com/seed-b311f21d/go-mimecastip/mimecastip"
	"github.com/seed-b311f21d/go-mimecastip/mimecastip/trace"
	"github.com/seed-b311f21d/go-mimecastip/regions"
)

// engineDecider maps the policy engine's verdicts onto the milter's.
type engineDecider struct{ e *policy.Engine }

// DecideAddr asks the engine.
func (x engineDecider) DecideAddr(a netip.Addr) Decision {
	d := x.e.DecideAddr(a)
	out := Decision{Addr: d.Addr, Class: d.Result.Class, Regions: d.Regions(), Prefix: d.Prefix(), Reason: d.Reason}
	switch d.Verdict {
	case policy.Pass:
		out.Verdict, out.Tier = Pass, "region"
	case policy.Reject:
		out.Verdict, out.Tier = Reject, "foreign"
	case policy.Defer:
		out.Verdict = TempFail
		switch d.Reason {
		case "other region":
			out.Tier = "other-region"
		case "retired":
			out.Tier = "retired"
		default:
			out.Tier = "defer"
		}
	default:
		out.Verdict, out.Tier = TempFail, "error"
	}
	return out
}

// Loader returns a function that reads the data file at path (the
// embedded dataset when path is "") once and builds a Snapshot from that
// read: the policy engine for the regions of scope and the Tracer.
func Loader(path string, scope regions.Set) func() (*Snapshot, error) {
	return func() (*Snapshot, error) {
		d, source := regions.Embedded(), "embedded dataset "+regions.Version()
		if path != "" {
			var err error
			if d, err = policy.ReadDataFile(path); err != nil {
				return nil, err
			}
			source = path
		}
		e, err := policy.NewEngine(d, source, policy.Options{Regions: scope})
		if err != nil {
			return nil, err
		}
		all := scope.IsEmpty() || scope == regions.AllSet()
		rs := d.Ranges
		var regs regions.Set
		if !all {
			rs, regs = regions.Filter(d.Ranges, scope), scope
		}
		scoped, err := mimecastip.New(rs)
		if err != nil {
			return nil, err
		}
		wide, err := mimecastip.New(d.Ranges)
		if err != nil {
			return nil, err
		}
		retired, err := trace.RetiredClassifier(d.Ranges)
		if err != nil {
			return nil, err
		}
		tr, err := trace.New(trace.Config{Classifier: scoped, Wide: wide, Retired: retired, Regions: regs})
		if err != nil {
			return nil, err
		}
		return &Snapshot{Decider: engineDecider{e}, Tracer: tr, Source: source, Ranges: e.Len()}, nil
	}
}
