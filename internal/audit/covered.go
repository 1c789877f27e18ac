package audit

import (
	"container/heap"
	"net/netip"
	"slices"
)

// coveredByEarlier returns, for every entry, whether it is an allow entry
// whose addresses are all covered by earlier allow entries (valid, not on
// a rejecting line). It takes O(n log n) time and O(n) memory.
//
// A sweep over the entries' endpoints finds, for each elementary segment
// between consecutive endpoints, the earliest entry covering it. An entry
// that is the earliest for no segment of its own is covered by earlier
// ones.
func coveredByEarlier(entries []Entry) []bool {
	var idx []int
	for i, e := range entries {
		if e.Invalid == "" && !e.Deny && e.Range.From.IsValid() {
			idx = append(idx, i)
		}
	}
	covered := make([]bool, len(entries))
	if len(idx) == 0 {
		return covered
	}
	starts := slices.Clone(idx)
	slices.SortFunc(starts, func(a, b int) int { return entries[a].Range.From.Compare(entries[b].Range.From) })
	coords := make([]netip.Addr, 0, 2*len(idx))
	for _, i := range idx {
		coords = append(coords, entries[i].Range.From)
		if n := entries[i].Range.To.Next(); n.IsValid() {
			coords = append(coords, n)
		}
	}
	slices.SortFunc(coords, netip.Addr.Compare)
	coords = slices.Compact(coords)

	owns := make([]bool, len(entries))
	h := &minIndex{}
	p := 0
	for _, c := range coords {
		for p < len(starts) && entries[starts[p]].Range.From == c {
			heap.Push(h, starts[p])
			p++
		}
		for h.Len() > 0 && entries[(*h)[0]].Range.To.Less(c) {
			heap.Pop(h)
		}
		if h.Len() > 0 {
			owns[(*h)[0]] = true
		}
	}
	for _, i := range idx {
		covered[i] = !owns[i]
	}
	return covered
}

// minIndex is a min-heap of entry indexes.
type minIndex []int

func (h minIndex) Len() int           { return len(h) }
func (h minIndex) Less(i, j int) bool { return h[i] < h[j] }
func (h minIndex) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *minIndex) Push(x any)        { *h = append(*h, x.(int)) }
func (h *minIndex) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
