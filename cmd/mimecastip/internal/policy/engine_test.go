package policy

import (
	"bytes"
	"fmt"
	mrand "math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/seed-b311f21d/go-mimecastip/regions"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func mustEngine(t testing.TB, path string, opt Options) *Engine {
	t.Helper()
	e, err := LoadEngine(path, opt)
	require.NoError(t, err)
	return e
}

// TestEngineTiers: own-region active ranges pass, other regions' gateways
// and retired ranges defer, everything else is rejected; --strict rejects
// other regions.
func TestEngineTiers(t *testing.T) {
	us := mustEngine(t, "", Options{Regions: regions.SetOf(regions.US)})
	website := ""
	for _, r := range regions.Embedded().Active() {
		if r.Service == regions.Website && r.Prefix.Addr().Is4() {
			website = r.Prefix.Addr().String()
			break
		}
	}
	require.NotEmpty(t, website)
	cases := []struct {
		addr    string
		verdict Verdict
		action  string // prefix
		regions string
		prefix  string
		reason  string
	}{
		{usGateway, Pass, "DUNNO", "us", "170.10.129.0/24", ""},
		{usNonSPF, Pass, "DUNNO", "us", "205.139.111.40/29", ""},
		{"::ffff:" + usGateway, Pass, "DUNNO", "us", "170.10.129.0/24", ""},
		{"41.74.201.132", Defer, "DEFER_IF_PERMIT 4.7.1 41.74.201.132 is in Mimecast range 41.74.200.0/23 (za, other region)", "za", "41.74.200.0/23", "other region"},
		{retiredEU, Defer, "DEFER_IF_PERMIT 4.7.1 213.167.75.200 is in Mimecast range 213.167.75.0/24 (eu, retired)", "eu", "213.167.75.0/24", "retired"},
		{"8.8.8.8", Reject, "REJECT 5.7.1 8.8.8.8 is not a Mimecast gateway", "", "", ""},
		{foreignV6, Reject, "REJECT 5.7.1 2001:db8::5 is not", "", "", ""},
		{website, Reject, "REJECT 5.7.1 " + website, "global", website + "/32", ""},
	}
	for _, c := range cases {
		d := us.DecideAddr(netip.MustParseAddr(c.addr))
		assert.Equal(t, c.verdict, d.Verdict, c.addr)
		assert.True(t, strings.HasPrefix(d.Action, c.action), "%s: action %q, want prefix %q", c.addr, d.Action, c.action)
		assert.Equal(t, c.regions, d.Regions().String(), c.addr)
		if c.prefix == "" {
			assert.False(t, d.Prefix().IsValid(), c.addr)
		} else {
			assert.Equal(t, c.prefix, d.Prefix().String(), c.addr)
		}
		assert.Equal(t, c.reason, d.Reason, c.addr)
		assert.Equal(t, c.verdict == Defer, d.Temporary(), c.addr)
	}
	assert.Equal(t, TempFail, us.DecideAddr(netip.Addr{}).Verdict)

	strict := mustEngine(t, "", Options{Regions: regions.SetOf(regions.US), Strict: true})
	d := strict.DecideAddr(netip.MustParseAddr("41.74.201.132"))
	assert.Equal(t, Reject, d.Verdict)
	assert.True(t, d.OtherRegion())
	assert.True(t, strings.HasPrefix(d.Action, "REJECT 5.7.1 41.74.201.132"), d.Action)
	// Retired ranges keep the temporary failure under --strict.
	assert.Equal(t, Defer, strict.DecideAddr(netip.MustParseAddr(retiredEU)).Verdict)

	// Every region: the ZA gateway passes, the retired range still defers.
	all := mustEngine(t, "", Options{})
	assert.Equal(t, Pass, all.DecideAddr(netip.MustParseAddr("41.74.201.132")).Verdict)
	assert.Equal(t, Defer, all.DecideAddr(netip.MustParseAddr(retiredEU)).Verdict)
}

// refTier is the linear-scan reference of the tiers: an active mail row in
// scope passes; else an active mail row of any region defers (rejects with
// strict); else an active website or Web Security row rejects; else a
// retired mail row defers; else reject.
func refTier(rs []regions.Range, scope regions.Set, strict bool, a netip.Addr) Verdict {
	best := func(keep func(regions.Range) bool) (regions.Range, bool) {
		var b regions.Range
		found := false
		for _, r := range rs {
			if keep(r) && r.Prefix.Contains(a) && (!found || r.Prefix.Bits() > b.Prefix.Bits()) {
				b, found = r, true
			}
		}
		return b, found
	}
	inScope := func(r regions.Range) bool {
		if r.Service.Mail() && r.Regions == regions.SetOf(regions.Global) {
			return false // a mail row of global alone never passes
		}
		if r.Service.Mail() { // nor does the global tag widen a mail row
			return scope.IsEmpty() || !(r.Regions.Intersect(scope) &^ regions.SetOf(regions.Global)).IsEmpty()
		}
		return scope.IsEmpty() || !r.Regions.Intersect(scope.Add(regions.Global)).IsEmpty()
	}
	// A website or Web Security row inside a mail range does not hide it.
	if _, ok := best(func(r regions.Range) bool { return !r.Retired && inScope(r) && r.Service.Mail() }); ok {
		return Pass
	}
	if _, ok := best(func(r regions.Range) bool { return !r.Retired && r.Service.Mail() }); ok {
		if strict {
			return Reject
		}
		return Defer
	}
	if _, ok := best(func(r regions.Range) bool { return !r.Retired }); ok {
		return Reject
	}
	if r, ok := best(func(r regions.Range) bool { return r.Retired }); ok && r.Service.Mail() {
		return Defer
	}
	return Reject
}

// TestEngineAgainstLinearScan compares the engine's tier with the
// reference for addresses inside, at the edges of and around every row
// (retired ones included), for several scopes.
func TestEngineAgainstLinearScan(t *testing.T) {
	rs := regions.Ranges()
	r := mrand.New(mrand.NewPCG(1, 2))
	var addrs []netip.Addr
	for _, row := range rs {
		p := row.Prefix
		first := p.Addr()
		addrs = append(addrs, first, first.Prev(), lastAddr(p), lastAddr(p).Next())
		for range 4 {
			b := first.AsSlice()
			host := len(b)*8 - p.Bits()
			for i := len(b) - 1; i >= 0 && host > 0; i-- {
				n := min(host, 8)
				b[i] |= byte(r.IntN(1 << n))
				host -= n
			}
			a, _ := netip.AddrFromSlice(b)
			addrs = append(addrs, a)
		}
	}
	for range 2000 {
		addrs = append(addrs, netip.AddrFrom4([4]byte{byte(r.IntN(224)), byte(r.IntN(256)), byte(r.IntN(256)), byte(r.IntN(256))}))
	}
	scopes := []regions.Set{0, regions.SetOf(regions.US), regions.SetOf(regions.EU), regions.SetOf(regions.ZA, regions.DE), regions.SetOf(regions.USB)}
	for _, scope := range scopes {
		for _, strict := range []bool{false, true} {
			e := mustEngine(t, "", Options{Regions: scope, Strict: strict})
			bad := 0
			for _, a := range addrs {
				if !a.IsValid() {
					continue
				}
				want := refTier(rs, scope, strict, a)
				if got := e.DecideAddr(a).Verdict; got != want {
					if bad++; bad <= 5 {
						t.Errorf("scope %q strict %v: %s: got %v, want %v", scope, strict, a, got, want)
					}
				}
			}
		}
	}
}

func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	host := len(b)*8 - p.Bits()
	for i := len(b) - 1; i >= 0 && host > 0; i-- {
		n := min(host, 8)
		b[i] |= byte(1<<n - 1)
		host -= n
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// TestEngineRegionWithoutMail: a scope that selects no gateway or non-SPF
// relay range of its own is an error, not a lockdown that refuses all
// Mimecast mail.
func TestEngineRegionWithoutMail(t *testing.T) {
	for _, s := range []string{"uspcom", "global"} {
		set, err := regions.ParseSet(s)
		require.NoError(t, err)
		_, err = LoadEngine("", Options{Regions: set})
		if assert.Error(t, err, s) {
			assert.Contains(t, err.Error(), "selects no Mimecast gateway or non-SPF relay range", s)
		}
	}
	// A file in which ZA has only a website row.
	d := regions.Embedded()
	var kept []regions.Range
	for _, r := range d.Ranges {
		if !r.Regions.Has(regions.ZA) {
			kept = append(kept, r)
		}
	}
	d.Ranges = append(kept, regions.Range{Prefix: netip.MustParsePrefix("41.74.192.0/22"), Regions: regions.SetOf(regions.ZA),
		Service: regions.Website, FirstSeen: "2026", LastSeen: "2026", Sources: []string{"dc"}})
	_, err := NewEngine(d, "test", Options{Regions: regions.SetOf(regions.ZA)})
	assert.Error(t, err)
	_, err = NewEngine(d, "test", Options{Regions: regions.SetOf(regions.ZA, regions.US)})
	assert.NoError(t, err)
}

// TestEngineRetiredRow: a range Mimecast has just dropped (the double-run
// period) gets a temporary failure, not a reject, and never a pass.
func TestEngineRetiredRow(t *testing.T) {
	d := regions.Embedded()
	found := false
	for i := range d.Ranges {
		if d.Ranges[i].Prefix.String() == "170.10.129.0/24" {
			d.Ranges[i].Retired, found = true, true
		}
	}
	require.True(t, found)
	for _, scope := range []regions.Set{regions.SetOf(regions.US), regions.SetOf(regions.EU), 0} {
		e, err := NewEngine(d, "test", Options{Regions: scope})
		require.NoError(t, err)
		dec := e.DecideAddr(netip.MustParseAddr(usGateway))
		assert.Equal(t, Defer, dec.Verdict, "scope %q", scope)
		assert.True(t, dec.IsRetired())
		assert.Equal(t, "170.10.129.0/24", dec.Prefix().String())
		assert.Equal(t, "retired", dec.Reason)
	}
}

// writeData writes the embedded dataset, changed by edit, to a file.
func writeData(t testing.TB, path string, edit func(*regions.Dataset)) {
	t.Helper()
	d := regions.Embedded()
	if edit != nil {
		edit(d)
	}
	var buf bytes.Buffer
	require.NoError(t, d.Format(&buf))
	require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o644))
}

// TestEngineDataFileRegion: --data F --region eu does not pass a US
// gateway (the scope applies to a data file as to the embedded data).
func TestEngineDataFileRegion(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ranges.txt")
	writeData(t, path, nil)
	eu := mustEngine(t, path, Options{Regions: regions.SetOf(regions.EU)})
	assert.Equal(t, path, eu.Source())
	assert.Equal(t, Defer, eu.DecideAddr(netip.MustParseAddr(usGateway)).Verdict)
	strict := mustEngine(t, path, Options{Regions: regions.SetOf(regions.EU), Strict: true})
	assert.Equal(t, Reject, strict.DecideAddr(netip.MustParseAddr(usGateway)).Verdict)
	assert.Equal(t, Pass, eu.DecideAddr(netip.MustParseAddr(firstAddrOf(t, regions.EU, regions.Gateway))).Verdict)
	us := mustEngine(t, path, Options{Regions: regions.SetOf(regions.US)})
	assert.Equal(t, Pass, us.DecideAddr(netip.MustParseAddr(usGateway)).Verdict)
}

// TestReadDataFileNotRegular: a FIFO, a directory or a device at --data is
// refused at once, at start and at reload, without blocking; the data in
// use stays.
func TestReadDataFileNotRegular(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	require.NoError(t, syscall.Mkfifo(fifo, 0o644))
	for _, p := range []string{fifo, dir, os.DevNull} {
		done := make(chan error, 1)
		go func() { _, err := LoadEngine(p, Options{}); done <- err }()
		select {
		case err := <-done:
			if assert.Error(t, err, p) {
				assert.Contains(t, err.Error(), "not a regular file", p)
			}
		case <-time.After(3 * time.Second):
			t.Fatalf("LoadEngine(%s) blocked", p)
		}
	}
	// At reload: the file is replaced by a FIFO.
	path := filepath.Join(dir, "ranges.txt")
	writeData(t, path, nil)
	live, err := NewLive(Loader(path, Options{Regions: regions.SetOf(regions.US)}))
	require.NoError(t, err)
	before := live.Engine()
	require.NoError(t, os.Remove(path))
	require.NoError(t, syscall.Mkfifo(path, 0o644))
	done := make(chan error, 1)
	go func() { _, err := live.Reload(); done <- err }()
	select {
	case err := <-done:
		assert.ErrorContains(t, err, "a FIFO (named pipe), not a regular file")
	case <-time.After(3 * time.Second):
		t.Fatal("Reload blocked on a FIFO")
	}
	assert.Same(t, before, live.Engine())
	assert.Equal(t, Pass, live.DecideAddr(netip.MustParseAddr(usGateway)).Verdict)
}

// TestReloadOneRead: a reload reads the data file once and builds every
// classifier from that read, even when the file changes right after it.
func TestReloadOneRead(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ranges.txt")
	// A: 170.10.129.0/24 is a US row. B: it is an EU row.
	writeData(t, path, nil)
	moved := func(d *regions.Dataset) {
		for i := range d.Ranges {
			if d.Ranges[i].Prefix.String() == "170.10.129.0/24" {
				d.Ranges[i].Regions = regions.SetOf(regions.EU)
			}
		}
	}
	var reads atomic.Int32
	testHookRead = func(string) {
		if reads.Add(1) == 1 {
			writeData(t, path, moved) // the file changes after the first read
		}
	}
	defer func() { testHookRead = nil }()
	e := mustEngine(t, path, Options{Regions: regions.SetOf(regions.EU)})
	assert.Equal(t, int32(1), reads.Load(), "reads of the data file for one engine")
	// Built from A alone: scoped and every-region classifiers agree that
	// it is a US gateway. A mix would defer it as an "other region" of eu.
	d := e.DecideAddr(netip.MustParseAddr(usGateway))
	assert.Equal(t, Defer, d.Verdict)
	assert.Equal(t, "us", d.Regions().String())
}

// TestLiveReloadConsistent: while the data flips between A and B and is
// reloaded again and again, every decision is A's or B's, never a mix.
func TestLiveReloadConsistent(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.txt"), filepath.Join(dir, "b.txt")
	writeData(t, a, nil)
	writeData(t, b, func(d *regions.Dataset) {
		for i := range d.Ranges {
			if d.Ranges[i].Prefix.String() == "170.10.129.0/24" {
				d.Ranges[i].Regions = regions.SetOf(regions.EU)
			}
		}
	})
	path := filepath.Join(dir, "ranges.txt")
	data := map[bool][]byte{}
	data[false], _ = os.ReadFile(a)
	data[true], _ = os.ReadFile(b)
	require.NoError(t, os.WriteFile(path, data[false], 0o644))
	live, err := NewLive(Loader(path, Options{Regions: regions.SetOf(regions.EU)}))
	require.NoError(t, err)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mixed, seenA, seenB atomic.Int64
	addr := netip.MustParseAddr(usGateway)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				d := live.DecideAddr(addr)
				switch {
				case d.Verdict == Pass && d.Result.Regions == regions.SetOf(regions.EU):
					seenB.Add(1)
				case d.Verdict == Defer && d.Regions() == regions.SetOf(regions.US):
					seenA.Add(1)
				default:
					mixed.Add(1)
				}
			}
		}()
	}
	for i := range 40 {
		tmp := path + ".tmp"
		require.NoError(t, os.WriteFile(tmp, data[i%2 == 0], 0o644))
		require.NoError(t, os.Rename(tmp, path))
		_, err := live.Reload()
		require.NoError(t, err)
	}
	close(stop)
	wg.Wait()
	assert.Zero(t, mixed.Load(), "decisions mixing old and new data")
	assert.Positive(t, seenA.Load())
	assert.Positive(t, seenB.Load())
}

// ExampleEngine_DecideAddr decides two addresses for a US account.
func ExampleEngine_DecideAddr() {
	e, err := LoadEngine("", Options{Regions: regions.SetOf(regions.US)})
	if err != nil {
		panic(err)
	}
	for _, s := range []string{"170.10.129.5", "41.74.201.132", "198.51.100.9"} {
		d := e.DecideAddr(netip.MustParseAddr(s))
		fmt.Println(s, d.Verdict, d.Regions(), d.Prefix())
	}
	// Output:
	// 170.10.129.5 pass us 170.10.129.0/24
	// 41.74.201.132 defer za 41.74.200.0/23
	// 198.51.100.9 reject  invalid Prefix
}

// TestEngineAllocs: a pass with the default action costs no allocation.
func TestEngineAllocs(t *testing.T) {
	e := mustEngine(t, "", Options{Regions: regions.SetOf(regions.US)})
	a := netip.MustParseAddr(usGateway)
	if n := testing.AllocsPerRun(1000, func() { e.DecideAddr(a) }); n != 0 {
		t.Errorf("pass: %v allocations, want 0", n)
	}
	f := netip.MustParseAddr(foreignV4)
	if n := testing.AllocsPerRun(1000, func() { e.DecideAddr(f) }); n > 1 {
		t.Errorf("reject: %v allocations, want at most 1 (the expanded action)", n)
	}
}

// TestEngineNoRetiredRows: a data file without retired rows works.
func TestEngineNoRetiredRows(t *testing.T) {
	d := regions.Embedded()
	d.Ranges = d.Active()
	e, err := NewEngine(d, "test", Options{Regions: regions.SetOf(regions.US)})
	require.NoError(t, err)
	assert.Equal(t, Reject, e.DecideAddr(netip.MustParseAddr(retiredEU)).Verdict)
	assert.Equal(t, Pass, e.DecideAddr(netip.MustParseAddr(usGateway)).Verdict)
}

// FuzzDecideAddr: for any address the engine's tier equals the linear-scan
// reference (a false pass is the worst bug), for a US scope, strict or not.
func FuzzDecideAddr(f *testing.F) {
	f.Add([]byte{170, 10, 129, 5}, false)
	f.Add([]byte{41, 74, 201, 132}, true)
	f.Add([]byte{213, 167, 75, 200}, false)
	f.Add(netip.MustParseAddr("2001:db8::5").AsSlice(), false)
	rs := regions.Ranges()
	us := regions.SetOf(regions.US)
	engines := map[bool]*Engine{
		false: mustEngine(f, "", Options{Regions: us}),
		true:  mustEngine(f, "", Options{Regions: us, Strict: true}),
	}
	f.Fuzz(func(t *testing.T, b []byte, strict bool) {
		a, ok := netip.AddrFromSlice(b)
		if !ok {
			return
		}
		a = a.Unmap()
		d := engines[strict].DecideAddr(a)
		if want := refTier(rs, us, strict, a); d.Verdict != want {
			t.Fatalf("%s strict=%v: %v, reference %v", a, strict, d.Verdict, want)
		}
		if strings.ContainsAny(d.Action, "\r\n") || d.Action == "" {
			t.Fatalf("%s: action %q", a, d.Action)
		}
	})
}

// TestEngineGlobalMailRowNeverPasses: a gateway row of "global" alone (as
// a poisoned refresh once wrote) passes in no scope; it defers.
func TestEngineGlobalMailRowNeverPasses(t *testing.T) {
	d := regions.Embedded()
	d.Ranges = append(d.Ranges, regions.Range{Prefix: netip.MustParsePrefix("8.8.8.0/24"), Regions: regions.SetOf(regions.Global),
		Service: regions.Gateway, FirstSeen: "2026", LastSeen: "2026", Sources: []string{"dc"}})
	for _, scope := range []regions.Set{regions.SetOf(regions.EU), regions.SetOf(regions.US, regions.Global), 0} {
		e, err := NewEngine(d, "test", Options{Regions: scope})
		require.NoError(t, err)
		dec := e.DecideAddr(netip.MustParseAddr("8.8.8.8"))
		assert.Equal(t, Defer, dec.Verdict, "scope %q", scope)
		assert.Equal(t, "global", dec.Regions().String())
		eu := e.DecideAddr(netip.MustParseAddr(firstAddrOf(t, regions.EU, regions.Gateway))).Verdict
		assert.Equal(t, scope.IsEmpty() || scope.Has(regions.EU), eu == Pass, "scope %q: EU gateway %v", scope, eu)
	}
	// A region selecting only that row selects no mail range.
	_, err := NewEngine(d, "test", Options{Regions: regions.SetOf(regions.Global)})
	assert.Error(t, err)
}

// ExampleLive holds the engine of a long-running service (the policy
// server, a milter) and reloads it, as on SIGHUP.
func ExampleLive() {
	live, err := NewLive(Loader("", Options{Regions: regions.SetOf(regions.EU), Strict: true}))
	if err != nil {
		panic(err)
	}
	d := live.DecideAddr(netip.MustParseAddr("170.10.129.5"))
	fmt.Println(d.Verdict, d.Reason, d.Regions(), d.Temporary())
	if _, err := live.Reload(); err != nil {
		fmt.Println("reload failed; the old engine stays:", err)
	}
	fmt.Println(live.Engine().MailRanges() > 0)
	// Output:
	// reject other region us false
	// true
}
