package compare

import (
	"net/netip"
	"sync"
	"testing"

	"github.com/gaissmai/bart"
	"go4.org/netipx"

	"github.com/seed-b311f21d/go-mimecastip/internal/lpm"
	"github.com/seed-b311f21d/go-mimecastip/mimecastip"
	"github.com/seed-b311f21d/go-mimecastip/regions"
)

// peers holds every implementation, built once over the same entries.
type peers struct {
	c      *mimecastip.Classifier
	table  *bart.Table[Code]
	fast   *bart.Fast[Code]
	lite   *bart.Lite
	ipset  *netipx.IPSet
	linear Linear
	sorted *Sorted
	flat   *Flat
	m      *lpm.Matcher // the engine under the Classifier, for lpm.Slot
}

var (
	peersOnce sync.Once
	all       peers
)

func getPeers() *peers {
	peersOnce.Do(func() {
		es := Entries()
		m, err := lpm.New(regions.Ranges())
		if err != nil {
			panic(err)
		}
		all = peers{
			m:      m,
			c:      mimecastip.Default(),
			table:  NewTable(es),
			fast:   NewFast(es),
			lite:   NewLite(es),
			ipset:  NewIPSet(es),
			linear: NewLinear(es),
			sorted: NewSorted(es),
			flat:   NewFlat(es),
		}
	})
	return &all
}

// TestPeersAgree checks that every implementation gives mimecastip's
// answer on every address of every stream, and that the string and
// net.Addr entry points agree with Lookup.
func TestPeersAgree(t *testing.T) {
	p := getPeers()
	for _, name := range Streams {
		as := Addrs(name)
		if len(as) != StreamLen {
			t.Fatalf("stream %s has %d addresses", name, len(as))
		}
		ss := Strings(name)
		ns := NetAddrs(name)
		fails, hits := 0, 0
		for i, a := range as {
			want := CodeOf(p.c.Lookup(a))
			if want != 0 {
				hits++
			}
			t1, _ := p.table.Lookup(a.Unmap())
			f1, _ := p.fast.Lookup(a.Unmap())
			got := map[string]Code{
				"bart.Table": t1,
				"bart.Fast":  f1,
				"linear":     p.linear.Lookup(a),
				"sorted":     p.sorted.Lookup(a),
				"flat":       p.flat.Lookup(a),
			}
			r, err := p.c.LookupString(ss[i])
			if err != nil {
				t.Fatalf("%s: LookupString(%q): %v", name, ss[i], err)
			}
			got["LookupString"] = CodeOf(r)
			got["LookupNetAddr"] = CodeOf(p.c.LookupNetAddr(&ns[i]))
			pa, err := netip.ParseAddr(ss[i])
			if err != nil {
				t.Fatal(err)
			}
			t2, _ := p.table.Lookup(pa.Unmap())
			got["ParseAddr+bart.Table"] = t2
			na, _ := netip.AddrFromSlice(ns[i].IP)
			t3, _ := p.table.Lookup(na.Unmap())
			got["AddrFromSlice+bart.Table"] = t3
			for impl, g := range got {
				if g != want && fails < 10 {
					fails++
					t.Errorf("%s[%d] %s: %s says %d, mimecastip %d", name, i, a, impl, g, want)
				}
			}
			member := want != 0
			for impl, g := range map[string]bool{"bart.Lite": p.lite.Contains(a.Unmap()), "netipx.IPSet": p.ipset.Contains(a.Unmap())} {
				if g != member && fails < 10 {
					fails++
					t.Errorf("%s[%d] %s: %s says %v, mimecastip %v", name, i, a, impl, g, member)
				}
			}
		}
		// The streams are what they claim to be.
		var wantHits [2]int
		switch name {
		case "mixed", "mapped":
			wantHits = [2]int{StreamLen / 10 * 9 / 10, StreamLen / 10 * 11 / 10}
		case "hits":
			wantHits = [2]int{StreamLen, StreamLen}
		default:
			wantHits = [2]int{0, 0}
		}
		if hits < wantHits[0] || hits > wantHits[1] {
			t.Errorf("stream %s: %d hits, want %d..%d", name, hits, wantHits[0], wantHits[1])
		}
		t.Logf("stream %s: %d addresses, %d hits", name, len(as), hits)
	}
}
