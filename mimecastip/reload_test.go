package mimecastip_test

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b311f21d/go-mimecastip/mimecastip"
	"github.com/seed-b311f21d/go-mimecastip/regions"
)

// Two datasets that answer differently for every probe address.
const reloadDataA = `@version 2026-11-01
@source spf-a 2026-11-01 test
45.1.0.0/16        us      gateway  active  2026-11-01  2026-11-01  spf-a
45.2.0.0/24        eu      gateway  active  2026-11-01  2026-11-01  spf-a
45.3.0.0/24        za      gateway  retired 2026-11-01  2026-11-01  spf-a
2a00:1450::/32     de      gateway  active  2026-11-01  2026-11-01  spf-a
@end 4
`

const reloadDataB = `@version 2026-11-02
@source dc 2026-11-02 test
45.1.0.0/24        eu      non-spf  active  2026-11-02  2026-11-02  dc
45.3.0.0/24        za      gateway  active  2026-11-02  2026-11-02  dc
45.4.0.1/32        global  website  active  2026-11-02  2026-11-02  dc
2a00:1450:4000::/36 us,usb gateway  active  2026-11-02  2026-11-02  dc
@end 4
`

var reloadProbes = []string{"45.1.0.7", "45.1.9.9", "45.2.0.1", "45.3.0.1", "45.4.0.1", "2a00:1450:4001::1", "2a00:1450:8000::1", "8.8.8.8"}

func reloadFile(t testing.TB, name, data string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, []byte(data), 0o644))
	return p
}

func reloadRes(c mimecastip.Class, set regions.Set, v regions.Service, p string) mimecastip.Result {
	return mimecastip.MakeResult(c, set, v, netip.MustParsePrefix(p))
}

// reloadWant is what each dataset answers for reloadProbes.
var reloadWant = map[string][]mimecastip.Result{
	"A": {
		reloadRes(mimecastip.Mimecast, regions.SetOf(regions.US), regions.Gateway, "45.1.0.0/16"),
		reloadRes(mimecastip.Mimecast, regions.SetOf(regions.US), regions.Gateway, "45.1.0.0/16"),
		reloadRes(mimecastip.Mimecast, regions.SetOf(regions.EU), regions.Gateway, "45.2.0.0/24"),
		{}, // retired
		{},
		reloadRes(mimecastip.Mimecast, regions.SetOf(regions.DE), regions.Gateway, "2a00:1450::/32"),
		reloadRes(mimecastip.Mimecast, regions.SetOf(regions.DE), regions.Gateway, "2a00:1450::/32"),
		{},
	},
	"B": {
		reloadRes(mimecastip.NonSPF, regions.SetOf(regions.EU), regions.NonSPF, "45.1.0.0/24"),
		{},
		{},
		reloadRes(mimecastip.Mimecast, regions.SetOf(regions.ZA), regions.Gateway, "45.3.0.0/24"),
		reloadRes(mimecastip.Foreign, regions.SetOf(regions.Global), regions.Website, "45.4.0.1/32"),
		reloadRes(mimecastip.Mimecast, regions.SetOf(regions.US, regions.USB), regions.Gateway, "2a00:1450:4000::/36"),
		{},
		{},
	},
}

func TestReloadLoadFile(t *testing.T) {
	a := reloadFile(t, "a.txt", reloadDataA)
	c, err := loadFile(a, 0)
	require.NoError(t, err)
	assert.Equal(t, 3, c.Len(), "the retired row is not classified")
	for i, p := range reloadProbes {
		assert.Equal(t, reloadWant["A"][i], c.Lookup(netip.MustParseAddr(p)), p)
	}

	// A scope keeps the regions in it and the global rows.
	b := reloadFile(t, "b.txt", reloadDataB)
	c, err = loadFile(b, regions.SetOf(regions.ZA))
	require.NoError(t, err)
	assert.Equal(t, 2, c.Len())
	assert.Equal(t, mimecastip.Mimecast, c.Lookup(netip.MustParseAddr("45.3.0.1")).Class)
	assert.Equal(t, regions.Website, c.Lookup(netip.MustParseAddr("45.4.0.1")).Service)
	assert.Equal(t, mimecastip.Result{}, c.Lookup(netip.MustParseAddr("45.1.0.7")), "an eu row is foreign to a za account")

	// The embedded file loads to the same answers as Default.
	emb := filepath.Join("..", "regions", "ranges.txt")
	c, err = loadFile(emb, 0)
	require.NoError(t, err)
	assert.Equal(t, mimecastip.Default().Len(), c.Len())
	for _, r := range regions.Ranges() {
		a := r.Prefix.Addr()
		assert.Equal(t, mimecastip.Default().Lookup(a), c.Lookup(a), a)
	}
}

func TestReloadLoadFileErrors(t *testing.T) {
	_, err := loadFile(filepath.Join(t.TempDir(), "missing.txt"), 0)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "missing.txt")
	assert.ErrorIs(t, err, os.ErrNotExist)

	bad := reloadFile(t, "bad.txt", strings.Replace(reloadDataA, "@end 4\n", "10.0.0.0/8  us  gateway  active  2026-11-01  2026-11-01  spf-a\n@end 5\n", 1))
	_, err = loadFile(bad, 0)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "bad.txt: regions: line 7: prefix 10.0.0.0/8 overlaps private space")

	empty := reloadFile(t, "empty.txt", "")
	_, err = loadFile(empty, 0)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no @version line")
}

func TestReloadable(t *testing.T) {
	ca, err := loadFile(reloadFile(t, "a.txt", reloadDataA), 0)
	require.NoError(t, err)
	cb, err := loadFile(reloadFile(t, "b.txt", reloadDataB), 0)
	require.NoError(t, err)
	r := mimecastip.NewReloadable(ca)
	assert.Same(t, ca, r.Current())
	check := func(name string) {
		t.Helper()
		for i, p := range reloadProbes {
			a := netip.MustParseAddr(p)
			want := reloadWant[name][i]
			assert.Equal(t, want, r.Lookup(a), p)
			got, err := r.LookupString(p)
			require.NoError(t, err)
			assert.Equal(t, want, got, p)
			assert.Equal(t, want, r.LookupIP(net.IP(a.AsSlice())), p)
			assert.Equal(t, want, r.LookupNetAddr(&net.TCPAddr{IP: net.IP(a.AsSlice()), Port: 25}), p)
		}
	}
	check("A")
	assert.Same(t, ca, r.Swap(cb))
	assert.Same(t, cb, r.Current())
	check("B")
	assert.Same(t, cb, r.Swap(ca))
	check("A")
	_, err = r.LookupString("not an address")
	assert.Error(t, err)

	// A nil Classifier classifies everything as foreign.
	r.Swap(nil)
	assert.Equal(t, mimecastip.Result{}, r.Lookup(netip.MustParseAddr("45.1.0.7")))
	assert.Equal(t, mimecastip.Result{}, mimecastip.NewReloadable(nil).Lookup(netip.MustParseAddr("45.1.0.7")))
}

// TestReloadableRace runs lookups in many goroutines while another
// goroutine reloads many times, alternating two datasets, each reload a
// freshly built Classifier. Every answer must be one of the two datasets'
// answers for that address, and every Classifier taken with Current must
// answer all probes from one dataset: never a mix, never a half-built
// state. Run with -race.
func TestReloadableRace(t *testing.T) {
	pa := reloadFile(t, "a.txt", reloadDataA)
	pb := reloadFile(t, "b.txt", reloadDataB)
	load := func(p string) *mimecastip.Classifier {
		c, err := loadFile(p, 0)
		if err != nil {
			panic(err)
		}
		return c
	}
	addrs := make([]netip.Addr, len(reloadProbes))
	for i, p := range reloadProbes {
		addrs[i] = netip.MustParseAddr(p)
	}
	r := mimecastip.NewReloadable(load(pa))

	reloads := 300
	if testing.Short() {
		reloads = 50
	}
	var (
		stop      atomic.Bool
		lookups   atomic.Int64
		sawA      atomic.Int64
		sawB      atomic.Int64
		wg        sync.WaitGroup
		failOnce  sync.Once
		failure   atomic.Value
		reloadsOK atomic.Int64
	)
	fail := func(format string, args ...any) {
		failOnce.Do(func() { failure.Store(fmt.Sprintf(format, args...)) })
		stop.Store(true)
	}
	// whichOf returns "A" or "B" when every probe answer of c matches one
	// dataset, "" otherwise.
	whichOf := func(c *mimecastip.Classifier) string {
		for _, name := range []string{"A", "B"} {
			ok := true
			for i, a := range addrs {
				if c.Lookup(a) != reloadWant[name][i] {
					ok = false
					break
				}
			}
			if ok {
				return name
			}
		}
		return ""
	}
	workers := 4 * runtime.GOMAXPROCS(0)
	if workers < 8 {
		workers = 8
	}
	for w := range workers {
		wg.Go(func() {
			for n := 0; !stop.Load(); n++ {
				i := (n + w) % len(addrs)
				got := r.Lookup(addrs[i])
				if got != reloadWant["A"][i] && got != reloadWant["B"][i] {
					fail("Lookup(%s) = %v: neither dataset's answer", addrs[i], got)
					return
				}
				if s, err := r.LookupString(reloadProbes[i]); err != nil || s != reloadWant["A"][i] && s != reloadWant["B"][i] {
					fail("LookupString(%s) = %v, %v", reloadProbes[i], s, err)
					return
				}
				if n%16 == 0 {
					switch whichOf(r.Current()) {
					case "A":
						sawA.Add(1)
					case "B":
						sawB.Add(1)
					default:
						fail("a Classifier from Current answers from neither dataset alone")
						return
					}
				}
				lookups.Add(1)
			}
		})
	}
	wg.Go(func() {
		defer stop.Store(true)
		for i := 0; i < reloads && !stop.Load(); i++ {
			p := pa
			if i%2 == 0 {
				p = pb
			}
			r.Swap(load(p))
			reloadsOK.Add(1)
			if i%8 == 0 {
				time.Sleep(100 * time.Microsecond) // let lookups see each state
			}
		}
	})
	wg.Wait()
	if f := failure.Load(); f != nil {
		t.Fatal(f)
	}
	assert.EqualValues(t, reloads, reloadsOK.Load())
	assert.Positive(t, lookups.Load())
	t.Logf("%d reloads, %d lookups, %d snapshots of A, %d of B", reloadsOK.Load(), lookups.Load(), sawA.Load(), sawB.Load())
}
