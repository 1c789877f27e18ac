package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b311f21d/go-mimecastip/cmd/mimecastip/internal/refresh"
	"github.com/seed-b311f21d/go-mimecastip/cmd/mimecastip/internal/spf/spftest"
	"github.com/seed-b311f21d/go-mimecastip/mimecastip"
	"github.com/seed-b311f21d/go-mimecastip/regions"
)

// refreshRun runs "mimecastip refresh ARGS" and returns the exit status,
// stdout and stderr.
func refreshRun(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	st := Main(append([]string{"refresh"}, args...), &Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb})
	t.Logf("refresh %s: exit %d\n%s%s", strings.Join(args, " "), st, out.String(), errb.String())
	return st, out.String(), errb.String()
}

// refreshZone returns a zone equal to the embedded dataset's SPF rows, with
// region r's record set to the rows of r with prefixes add added and
// prefixes drop left out.
func refreshZone(t *testing.T, r regions.Region, add, drop []string, extra ...string) map[string][]string {
	t.Helper()
	zone := spftest.ZoneOf(regions.Embedded())
	if r == 0 {
		return zone
	}
	in, _ := regions.InfoOf(r)
	var ps []netip.Prefix
	for _, rg := range regions.Embedded().Active() {
		if rg.Regions.Has(r) && rg.SPFPublished() && !slices.Contains(drop, rg.Prefix.String()) {
			ps = append(ps, rg.Prefix)
		}
	}
	for _, a := range add {
		ps = append(ps, netip.MustParsePrefix(a))
	}
	zone[in.SPFInclude] = []string{spftest.Record(ps, extra...)}
	return zone
}

func refreshFixDate(t *testing.T, day string) {
	t.Helper()
	tm, err := time.Parse(time.DateOnly, day)
	require.NoError(t, err)
	old := refreshNow
	refreshNow = func() time.Time { return tm.Add(10 * time.Hour) }
	t.Cleanup(func() { refreshNow = old })
}

func lineWith(s, sub string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			return l
		}
	}
	return ""
}

func TestRefreshNoDrift(t *testing.T) {
	s := spftest.Start(t, refreshZone(t, 0, nil, nil))
	st, out, errs := refreshRun(t, "--dns", s.Addr)
	assert.Equal(t, ExitOK, st, "stdout:\n%s\nstderr:\n%s", out, errs)
	assert.Empty(t, errs)
	for _, r := range []string{"us", "usb", "ca", "eu", "de", "au", "za", "global"} {
		assert.Regexp(t, "(?m)^"+r+` +ok +\d+ prefixes, no drift$`, out)
	}
	assert.Contains(t, out, "  includes us usb ca eu de au za\n")
	assert.True(t, strings.HasSuffix(out, "ok: no drift\n"), out)
	assert.NotContains(t, out, "removed ")
	assert.NotContains(t, out, "kept ")
}

func TestRefreshDrift(t *testing.T) {
	// usb gains 170.10.158.0/24 and drops 170.10.151.0/24 (an SPF-only
	// row); us drops 170.10.129.0/24, which the Data Centers page also
	// lists: it must be kept, not removed.
	zone := refreshZone(t, regions.USB, []string{"170.10.158.0/24"}, []string{"170.10.151.0/24"})
	usIn, _ := regions.InfoOf(regions.US)
	zone[usIn.SPFInclude] = refreshZone(t, regions.US, nil, []string{"170.10.129.0/24"})[usIn.SPFInclude]
	s := spftest.Start(t, zone)

	st, out, errs := refreshRun(t, "--dns", s.Addr)
	assert.Equal(t, ExitFinding, st, "stdout:\n%s\nstderr:\n%s", out, errs)
	assert.Regexp(t, `(?m)^usb +drift +6 prefixes: 1 added, 1 removed$`, out)
	assert.Regexp(t, `(?m)^  added +170\.10\.158\.0/24 +in usb\._netblocks\.mimecast\.com$`, out)
	assert.Regexp(t, `(?m)^  removed +170\.10\.151\.0/24 +usb, last seen 2026-02-14, sources mail-usa,spf-b \(line \d+\)$`, out)
	assert.Regexp(t, `(?m)^us +ok `, out, "a row kept for the Data Centers page is not drift")
	assert.Contains(t, lineWith(out, "170.10.129.0/24"), "kept     170.10.129.0/24      no longer in SPF; kept: listed on the Data Centers page (dc)")
	assert.Contains(t, out, "drift: drift in usb (1 added, 1 removed)\n")

	// The same as JSON.
	st, out, _ = refreshRun(t, "--dns", s.Addr, "--json")
	assert.Equal(t, ExitFinding, st)
	var got struct {
		Status  string `json:"status"`
		Exit    int    `json:"exit"`
		Regions []struct {
			Region  string `json:"region"`
			Status  string `json:"status"`
			Include string `json:"include"`
			Added   []struct {
				Prefix string `json:"prefix"`
				Via    string `json:"via"`
				Region string `json:"region"`
			} `json:"added"`
			Removed []struct {
				Prefix string `json:"prefix"`
				Row    struct {
					Regions  []string `json:"regions"`
					LastSeen string   `json:"last_seen"`
					Sources  []string `json:"sources"`
				} `json:"row"`
			} `json:"removed"`
			Kept []struct {
				Prefix string `json:"prefix"`
				Kept   string `json:"kept"`
			} `json:"kept"`
		} `json:"regions"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &got), out)
	assert.Equal(t, "drift", got.Status)
	assert.Equal(t, 1, got.Exit)
	require.Len(t, got.Regions, 8)
	usb := got.Regions[1]
	assert.Equal(t, "usb", usb.Region)
	assert.Equal(t, "drift", usb.Status)
	require.Len(t, usb.Added, 1)
	assert.Equal(t, "170.10.158.0/24", usb.Added[0].Prefix)
	assert.Equal(t, "usb", usb.Added[0].Region)
	require.Len(t, usb.Removed, 1)
	assert.Equal(t, "170.10.151.0/24", usb.Removed[0].Prefix)
	assert.Equal(t, []string{"mail-usa", "spf-b"}, usb.Removed[0].Row.Sources)
	assert.Equal(t, []string{"usb"}, usb.Removed[0].Row.Regions, "regions are an array of tokens")
	us := got.Regions[0]
	assert.Equal(t, "ok", us.Status)
	require.Len(t, us.Kept, 1)
	assert.Equal(t, "170.10.129.0/24", us.Kept[0].Prefix)
}

func TestRefreshWrite(t *testing.T) {
	refreshFixDate(t, "2026-12-01")
	zone := refreshZone(t, regions.USB, []string{"170.10.158.0/24"}, []string{"170.10.151.0/24"})
	usIn, _ := regions.InfoOf(regions.US)
	zone[usIn.SPFInclude] = refreshZone(t, regions.US, nil, []string{"170.10.129.0/24"})[usIn.SPFInclude]
	s := spftest.Start(t, zone)
	dir := t.TempDir()
	file := filepath.Join(dir, "ranges.txt")

	st, out, errs := refreshRun(t, "--dns", s.Addr, "--write", file)
	require.Equal(t, ExitFinding, st, "stdout:\n%s\nstderr:\n%s", out, errs)
	assert.Contains(t, out, "wrote "+file)
	entries, _ := os.ReadDir(dir)
	assert.Len(t, entries, 1, "no temporary file left behind")

	d, err := regions.ParseFile(file)
	require.NoError(t, err)
	old := regions.Embedded()
	assert.Equal(t, "2026-12-01", d.Version)
	src := d.Sources[len(d.Sources)-1]
	assert.Equal(t, "spf-live", src.ID)
	assert.Equal(t, "2026-12-01", src.Date)
	assert.Contains(t, src.Text, "_netblocks.mimecast.com")
	byP := map[netip.Prefix]regions.Range{}
	for _, r := range d.Ranges {
		byP[r.Prefix] = r
	}
	oldByP := map[netip.Prefix]regions.Range{}
	for _, r := range old.Ranges {
		oldByP[r.Prefix] = r
	}
	assert.Len(t, d.Ranges, len(old.Ranges)+1, "one row added, none deleted")

	added := byP[netip.MustParsePrefix("170.10.158.0/24")]
	assert.Equal(t, regions.SetOf(regions.USB), added.Regions)
	assert.Equal(t, regions.Gateway, added.Service)
	assert.False(t, added.Retired)
	assert.Equal(t, []string{"spf-live"}, added.Sources)
	assert.Equal(t, "2026-12-01", added.FirstSeen)

	gone := byP[netip.MustParsePrefix("170.10.151.0/24")]
	assert.True(t, gone.Retired)
	assert.Equal(t, "2026-02-14", gone.LastSeen, "a retired row keeps its last seen date")
	assert.Equal(t, []string{"mail-usa", "spf-b"}, gone.Sources)
	assert.Contains(t, gone.Comment, "retired 2026-12-01: not in usb._netblocks.mimecast.com")

	kept := byP[netip.MustParsePrefix("170.10.129.0/24")]
	assert.False(t, kept.Retired, "a Data Centers row is never retired")
	assert.Equal(t, oldByP[kept.Prefix].Sources, kept.Sources)

	for _, r := range d.Ranges {
		o, ok := oldByP[r.Prefix]
		if !ok || r.Prefix == gone.Prefix || r.Prefix == kept.Prefix {
			continue
		}
		// Every other row, still listed or not in SPF, is left as it is.
		assert.Equal(t, o.LastSeen, r.LastSeen, r.Prefix)
		assert.Equal(t, o.Sources, r.Sources, r.Prefix)
		assert.Equal(t, o.Retired, r.Retired, r.Prefix)
		assert.Equal(t, o.Comment, r.Comment, r.Prefix)
	}
	// Non-SPF relay rows are untouched.
	ns := byP[netip.MustParsePrefix("207.211.30.40/29")]
	assert.Equal(t, regions.NonSPF, ns.Service)
	assert.Equal(t, oldByP[ns.Prefix], withLine(ns, oldByP[ns.Prefix].Line))

	// The file classifies.
	d, err = regions.ParseFile(file)
	require.NoError(t, err)
	c, err := mimecastip.Load(d, 0)
	require.NoError(t, err)
	assert.Equal(t, mimecastip.Mimecast, c.Lookup(netip.MustParseAddr("170.10.158.9")).Class)
	assert.Equal(t, regions.SetOf(regions.USB), c.Lookup(netip.MustParseAddr("170.10.158.9")).Regions)
	assert.Equal(t, mimecastip.Foreign, c.Lookup(netip.MustParseAddr("170.10.151.9")).Class)
	assert.Equal(t, mimecastip.Mimecast, c.Lookup(netip.MustParseAddr("170.10.129.9")).Class)
	assert.Equal(t, mimecastip.NonSPF, c.Lookup(netip.MustParseAddr("207.211.30.45")).Class)

	// A second refresh of the written file against the same zone finds no
	// drift, and writing again changes nothing.
	first, err := os.ReadFile(file)
	require.NoError(t, err)
	st, out, errs = refreshRun(t, "--dns", s.Addr, "--data", file, "--write", file)
	assert.Equal(t, ExitOK, st, "stdout:\n%s\nstderr:\n%s", out, errs)
	assert.Contains(t, out, "ok: no drift; wrote "+file)
	second, err := os.ReadFile(file)
	require.NoError(t, err)
	assert.Equal(t, string(first), string(second))
}

func withLine(r regions.Range, line int) regions.Range { r.Line = line; return r }

func TestRefreshKeepRemoved(t *testing.T) {
	refreshFixDate(t, "2026-12-01")
	s := spftest.Start(t, refreshZone(t, regions.USB, nil, []string{"170.10.151.0/24"}))
	file := filepath.Join(t.TempDir(), "ranges.txt")
	st, out, errs := refreshRun(t, "--dns", s.Addr, "--write", file, "--keep-removed")
	require.Equal(t, ExitFinding, st, "stdout:\n%s\nstderr:\n%s", out, errs)
	assert.Contains(t, out, "write: kept active (--keep-removed): 170.10.151.0/24")
	d, err := regions.ParseFile(file)
	require.NoError(t, err)
	for _, r := range d.Ranges {
		if r.Prefix.String() == "170.10.151.0/24" {
			assert.False(t, r.Retired)
			assert.Equal(t, "2026-02-14", r.LastSeen)
		}
	}
	// It is reported again next time.
	st, _, _ = refreshRun(t, "--dns", s.Addr, "--data", file)
	assert.Equal(t, ExitFinding, st)
}

func TestRefreshUnknownRegions(t *testing.T) {
	zone := refreshZone(t, 0, nil, nil)
	delete(zone, "za._netblocks.mimecast.com")
	s := spftest.Start(t, zone)
	s.Rcode("ca._netblocks.mimecast.com", dns.RcodeServerFailure)
	dir := t.TempDir()
	file := filepath.Join(dir, "out.txt")

	st, out, errs := refreshRun(t, "--dns", s.Addr, "--write", file)
	assert.Equal(t, ExitIncomplete, st, "stdout:\n%s\nstderr:\n%s", out, errs)
	assert.Regexp(t, `(?m)^mimecastip refresh: ca unknown: spf: ca\._netblocks\.mimecast\.com: `, errs)
	assert.Regexp(t, `(?m)^mimecastip refresh: za unknown: spf: za\._netblocks\.mimecast\.com: `, errs)
	assert.Regexp(t, `(?m)^global +unknown +`, out, "the global record includes ca and za")
	assert.Regexp(t, `(?m)^us +ok `, out)
	assert.NotContains(t, out, "removed ", "an unknown region is never all removed")
	assert.Contains(t, out, "unknown: region(s) ca za global unknown (lookup failed; not checked)\n")
	assert.Contains(t, errs, "mimecastip refresh: ca unknown: ")
	assert.Contains(t, errs, "not writing "+file+": some regions are unknown")
	assert.NoFileExists(t, file)

	// Leaving the failing regions out lets the others be written.
	st, out, errs = refreshRun(t, "--dns", s.Addr, "--write", file, "--region", "us,usb,eu,de,au")
	assert.Equal(t, ExitOK, st, "stdout:\n%s\nstderr:\n%s", out, errs)
	assert.FileExists(t, file)
	assert.NotContains(t, out, "ca ")
}

func TestRefreshTimeout(t *testing.T) {
	addr := spftest.StartSilent(t)
	start := time.Now()
	st, out, errs := refreshRun(t, "--dns", addr, "--timeout", "300ms", "--region", "us,eu,global")
	assert.Equal(t, ExitIncomplete, st, "stdout:\n%s\nstderr:\n%s", out, errs)
	assert.Less(t, time.Since(start), 10*time.Second)
	for _, r := range []string{"us", "eu", "global"} {
		assert.Regexp(t, "(?m)^"+r+" +unknown +timeout ", out)
		assert.Regexp(t, "(?m)^mimecastip refresh: "+r+" unknown: ", errs)
	}
	// One region silent, the rest answering.
	s := spftest.Start(t, refreshZone(t, 0, nil, nil))
	s.Silence("de._netblocks.mimecast.com")
	st, out, errs = refreshRun(t, "--dns", s.Addr, "--timeout", "1s") // long enough for the others on a loaded machine
	assert.Equal(t, ExitIncomplete, st)
	assert.Regexp(t, `(?m)^mimecastip refresh: de unknown: `, errs)
	assert.Regexp(t, `(?m)^eu +ok `, out)
}

func TestRefreshRefusesPoison(t *testing.T) {
	for _, tc := range []struct{ name, term, want string }{
		{"private", "ip4:10.0.0.0/8", "private"},
		{"everything", "ip4:0.0.0.0/0", "this-network"},
		{"documentation", "ip4:192.0.2.0/24", "documentation"},
		{"slash8", "ip4:12.0.0.0/8", "broader than /16"},
		{"ip6-documentation", "ip6:2001:db8::/32", "documentation"},
		{"pass-all", "+all", "every address a sender"},
		{"mx", "mx", "unsupported in a netblock record"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			zone := refreshZone(t, regions.EU, nil, nil, tc.term, "-all")
			s := spftest.Start(t, zone)
			dir := t.TempDir()
			file := filepath.Join(dir, "ranges.txt")
			require.NoError(t, os.WriteFile(file, []byte("previous content\n"), 0o644))
			st, out, errs := refreshRun(t, "--dns", s.Addr, "--write", file)
			assert.Equal(t, ExitUsage, st, "stdout:\n%s\nstderr:\n%s", out, errs)
			assert.Regexp(t, `(?m)^mimecastip refresh: eu refused: spf: eu\._netblocks\.mimecast\.com: term "`+regexpQuote(tc.term)+`": .*`+tc.want, errs)
			assert.Regexp(t, `(?m)^eu +refused +refused \(the error is on stderr\)$`, out)
			assert.Contains(t, errs, `mimecastip refresh: eu refused: spf: eu._netblocks.mimecast.com: term "`+tc.term+`"`)
			assert.Contains(t, errs, "nothing written")
			b, _ := os.ReadFile(file)
			assert.Equal(t, "previous content\n", string(b), "nothing written")
			entries, _ := os.ReadDir(dir)
			assert.Len(t, entries, 1)
		})
	}
}

func regexpQuote(s string) string {
	return strings.NewReplacer(".", `\.`, "+", `\+`, "/", "/").Replace(s)
}

func TestRefreshRefusesShrink(t *testing.T) {
	// eu keeps only 3 of its 14 SPF rows.
	var drop []string
	for _, r := range regions.Embedded().Active() {
		if r.Regions.Has(regions.EU) && r.SPFPublished() {
			drop = append(drop, r.Prefix.String())
		}
	}
	require.Greater(t, len(drop), 6)
	zone := refreshZone(t, regions.EU, nil, drop[3:])
	s := spftest.Start(t, zone)
	file := filepath.Join(t.TempDir(), "ranges.txt")
	st, out, errs := refreshRun(t, "--dns", s.Addr, "--write", file)
	assert.Equal(t, ExitUsage, st, "stdout:\n%s\nstderr:\n%s", out, errs)
	assert.Regexp(t, `(?m)^mimecastip refresh: eu refused: refresh: eu\._netblocks\.mimecast\.com: region eu would lose half or more of its SPF-derived data: \d+ of \d+ rows`, errs)
	assert.Regexp(t, `(?m)^eu +refused +shrink \(the error is on stderr\)$`, out)
	assert.Equal(t, 1, strings.Count(out+errs, "would lose half or more"), "the error is printed once")
	assert.NoFileExists(t, file)

	// An empty record ("v=spf1 -all") is a shrink to nothing.
	zone["za._netblocks.mimecast.com"] = []string{"v=spf1 -all"}
	s = spftest.Start(t, zone)
	st, _, errs = refreshRun(t, "--dns", s.Addr, "--region", "za")
	assert.Equal(t, ExitUsage, st)
	assert.Regexp(t, `(?m)^mimecastip refresh: za refused: .*: 5 of 5 rows`, errs)

	// Dropping less than half is drift, not a refusal.
	zone = refreshZone(t, regions.EU, nil, drop[:2])
	s = spftest.Start(t, zone)
	st, out, _ = refreshRun(t, "--dns", s.Addr, "--region", "eu")
	assert.Equal(t, ExitFinding, st, out)
}

func TestRefreshRefusesBrokenRecords(t *testing.T) {
	t.Run("oversized", func(t *testing.T) {
		var extra []string
		for i := range 300 {
			extra = append(extra, "ip4:45.1."+strconv.Itoa(i%256)+"."+strconv.Itoa(i/256)+"/32")
		}
		zone := refreshZone(t, regions.AU, nil, nil, extra...)
		s := spftest.Start(t, zone)
		st, _, errs := refreshRun(t, "--dns", s.Addr)
		assert.Equal(t, ExitUsage, st)
		assert.Regexp(t, `(?m)^mimecastip refresh: au refused: spf: au\._netblocks\.mimecast\.com: TXT answer of \d+ bytes is larger than the limit of 4096$`, errs)
		_, tcp := s.Queries()
		assert.Positive(t, tcp, "the oversized answer came over TCP")
	})
	t.Run("loop", func(t *testing.T) {
		zone := refreshZone(t, regions.DE, nil, nil, "include:loop._netblocks.mimecast.com", "-all")
		zone["loop._netblocks.mimecast.com"] = []string{"v=spf1 include:de._netblocks.mimecast.com -all"}
		s := spftest.Start(t, zone)
		st, _, errs := refreshRun(t, "--dns", s.Addr)
		assert.Equal(t, ExitUsage, st)
		assert.Regexp(t, `(?m)^mimecastip refresh: de refused: spf: loop\._netblocks\.mimecast\.com: term "include:de\._netblocks\.mimecast\.com": include loop`, errs)
	})
	t.Run("too-many-lookups", func(t *testing.T) {
		zone := refreshZone(t, 0, nil, nil)
		for i := range 11 {
			zone["n"+strconv.Itoa(i)+".example.com"] = []string{"v=spf1 include:n" + strconv.Itoa(i+1) + ".example.com -all"}
		}
		zone["n11.example.com"] = []string{"v=spf1 -all"}
		zone["ca._netblocks.mimecast.com"] = refreshZone(t, regions.CA, nil, nil, "include:n0.example.com", "-all")["ca._netblocks.mimecast.com"]
		s := spftest.Start(t, zone)
		st, _, errs := refreshRun(t, "--dns", s.Addr, "--region", "ca")
		assert.Equal(t, ExitUsage, st)
		assert.Regexp(t, `(?m)^mimecastip refresh: ca refused: .*more than 10 DNS-querying terms`, errs)
	})
	t.Run("void-lookups", func(t *testing.T) {
		zone := refreshZone(t, regions.CA, nil, nil, "include:gone1.example.com", "-all")
		s := spftest.Start(t, zone)
		st, _, errs := refreshRun(t, "--dns", s.Addr, "--region", "ca")
		assert.Equal(t, ExitIncomplete, st, "one void include makes the region unknown")
		assert.Regexp(t, `(?m)^mimecastip refresh: ca unknown: .*gone1\.example\.com not found`, errs)

		zone = refreshZone(t, regions.CA, nil, nil, "include:gone1.example.com", "include:gone2.example.com", "include:gone3.example.com", "-all")
		s = spftest.Start(t, zone)
		st, _, errs = refreshRun(t, "--dns", s.Addr, "--region", "ca")
		assert.Equal(t, ExitUsage, st, "three void lookups are refused")
		assert.Regexp(t, `(?m)^mimecastip refresh: ca refused: .*more than 2 void lookups`, errs)
	})
}

// Measured failure 2: a direct ip4: term in the global record became a
// row of region global, which passes in every region (policy --region eu
// then answered DUNNO for 8.8.8.8). It is refused, and nothing written.
func TestRefreshGlobal(t *testing.T) {
	refreshFixDate(t, "2026-12-01")
	zone := refreshZone(t, 0, nil, nil)
	// The global record drops ca, adds an include no region uses, and lists
	// one prefix itself.
	var incs []string
	for _, r := range []regions.Region{regions.US, regions.USB, regions.EU, regions.DE, regions.AU, regions.ZA} {
		in, _ := regions.InfoOf(r)
		incs = append(incs, "include:"+in.SPFInclude)
	}
	zone["_netblocks.mimecast.com"] = []string{spftest.Record(nil, append(incs, "include:xx._netblocks.mimecast.com", "ip4:8.8.8.0/24", "~all")...)}
	zone["xx._netblocks.mimecast.com"] = []string{"v=spf1 ip4:45.81.0.0/22 ip4:170.10.128.0/24 -all"}
	s := spftest.Start(t, zone)
	file := filepath.Join(t.TempDir(), "ranges.txt")

	st, out, errs := refreshRun(t, "--dns", s.Addr, "--write", file)
	assert.Equal(t, ExitUsage, st, "stdout:\n%s\nstderr:\n%s", out, errs)
	assert.Regexp(t, `(?m)^global +refused +global-direct \(the error is on stderr\)$`, out)
	assert.Contains(t, errs, "mimecastip refresh: global refused: refresh: _netblocks.mimecast.com lists ip4:8.8.8.0/24 directly: the global record must name regional includes only")
	assert.Contains(t, errs, "nothing written")
	assert.NoFileExists(t, file)
	// --accept does not let it through.
	st, _, _ = refreshRun(t, "--dns", s.Addr, "--write", file, "--accept", "8.8.8.0/24")
	assert.Equal(t, ExitUsage, st)
	assert.NoFileExists(t, file)

	// Without the direct term: drift, and the unknown include's prefix is
	// reported but never written.
	zone["_netblocks.mimecast.com"] = []string{spftest.Record(nil, append(incs, "include:xx._netblocks.mimecast.com", "~all")...)}
	s = spftest.Start(t, zone)
	st, out, errs = refreshRun(t, "--dns", s.Addr, "--write", file)
	assert.Equal(t, ExitFinding, st, "stdout:\n%s\nstderr:\n%s", out, errs)
	assert.Regexp(t, `(?m)^global +drift +\d+ prefixes: 1 added, 0 removed$`, out)
	assert.Regexp(t, `(?m)^  added +45\.81\.0\.0/22 +in xx\._netblocks\.mimecast\.com \(no known region\)$`, out)
	assert.Contains(t, out, "  includes us usb eu de au za xx._netblocks.mimecast.com\n")
	assert.Contains(t, out, "note     the global record does not include ca._netblocks.mimecast.com")
	assert.Contains(t, out, "note     the global record includes xx._netblocks.mimecast.com, which no known region uses")
	assert.Contains(t, out, "write: not written: 45.81.0.0/22")

	d, err := regions.ParseFile(file)
	require.NoError(t, err)
	assert.Len(t, d.Ranges, len(regions.Embedded().Ranges))
	c, err := mimecastip.Load(d, regions.SetOf(regions.EU))
	require.NoError(t, err)
	assert.Equal(t, mimecastip.Foreign, c.Lookup(netip.MustParseAddr("8.8.8.8")).Class)
	assert.Equal(t, mimecastip.Foreign, c.Lookup(netip.MustParseAddr("45.81.0.1")).Class)
}

func TestRefreshEmbeddedFileRefused(t *testing.T) {
	path := filepath.Join("..", "..", "..", "..", "regions", "ranges.txt")
	before, err := os.ReadFile(path)
	require.NoError(t, err)
	s := spftest.Start(t, refreshZone(t, 0, nil, nil))
	st, _, errs := refreshRun(t, "--dns", s.Addr, "--write", path)
	assert.Equal(t, ExitUsage, st)
	assert.Contains(t, errs, "refusing to write the embedded data file")
	abs, _ := filepath.Abs(path)
	st, _, _ = refreshRun(t, "--dns", s.Addr, "--write", abs)
	assert.Equal(t, ExitUsage, st)
	// Through a symlink too.
	link := filepath.Join(t.TempDir(), "data.txt")
	require.NoError(t, os.Symlink(abs, link))
	st, _, _ = refreshRun(t, "--dns", s.Addr, "--write", link)
	assert.Equal(t, ExitUsage, st)
	after, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, before, after)
	assert.Empty(t, s.Log(), "refused before any lookup")
	assert.True(t, refresh.IsEmbeddedFile(path))
}

func TestRefreshUsage(t *testing.T) {
	for _, args := range [][]string{
		{"--bogus"},
		{"extra"},
		{"--region", "mars"},
		{"--region", "je"},
		{"--timeout", "0s"},
		{"--dns", "a b"},
		{"--dns", ":53"},
		{"--data", "/nonexistent/ranges.txt"},
	} {
		st, out, errs := refreshRun(t, args...)
		assert.Equal(t, ExitUsage, st, "%v: %s %s", args, out, errs)
		assert.NotEmpty(t, errs, args)
	}
	st, out, _ := refreshRun(t, "--help")
	assert.Equal(t, ExitOK, st)
	assert.Contains(t, out, "Usage: mimecastip refresh")
	assert.Contains(t, out, "3 some region unknown")

	checks, err := refreshRegions("all")
	require.NoError(t, err)
	var names []string
	for _, c := range checks {
		names = append(names, c.Region.String())
	}
	assert.Equal(t, []string{"us", "usb", "ca", "eu", "de", "au", "za", "uspcom", "global"}, names)
	checks, err = refreshRegions("")
	require.NoError(t, err)
	assert.Len(t, checks, 8)
	assert.Equal(t, "_netblocks.mimecast.com", checks[7].Include)

	addr, err := refreshServer("127.0.0.1")
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:53", addr)
	addr, err = refreshServer("::1")
	require.NoError(t, err)
	assert.Equal(t, "[::1]:53", addr)
	addr, err = refreshServer("[::1]:5353")
	require.NoError(t, err)
	assert.Equal(t, "[::1]:5353", addr)
}

func TestRefreshDataFile(t *testing.T) {
	// A custom data file whose non-SPF relay and website rows cite an SPF
	// source: SPF not listing them must not report them removed.
	data := `@version 2026-11-01
@source dc 2026-11-01 Data Centers page
@source spf-x 2026-11-01 an SPF capture
45.1.2.0/24  za  gateway  active  2026-11-01  2026-11-01  spf-x
45.1.3.0/24  za  gateway  active  2026-11-01  2026-11-01  spf-x
45.1.4.0/24  za  gateway  active  2026-11-01  2026-11-01  spf-x
45.1.5.0/29  za  non-spf  active  2026-11-01  2026-11-01  spf-x
45.1.6.1/32  za  website  active  2026-11-01  2026-11-01  spf-x
@end 5
`
	file := filepath.Join(t.TempDir(), "custom.txt")
	require.NoError(t, os.WriteFile(file, []byte(data), 0o600))
	zone := map[string][]string{"za._netblocks.mimecast.com": {"v=spf1 ip4:45.1.2.0/24 ip4:45.1.3.0/24 ip4:45.1.4.0/24 -all"}}
	s := spftest.Start(t, zone)
	st, out, errs := refreshRun(t, "--dns", s.Addr, "--data", file, "--region", "za")
	assert.Equal(t, ExitOK, st, "stdout:\n%s\nstderr:\n%s", out, errs)
	assert.Contains(t, out, "dataset 2026-11-01 ("+file+")")
	assert.Contains(t, out, "kept     45.1.5.0/29          no longer in SPF; kept: non-spf row")
	assert.Contains(t, out, "kept     45.1.6.1/32          no longer in SPF; kept: website row")

	out2 := filepath.Join(t.TempDir(), "new.txt")
	st, _, _ = refreshRun(t, "--dns", s.Addr, "--data", file, "--region", "za", "--write", out2)
	assert.Equal(t, ExitOK, st)
	d, err := regions.ParseFile(out2)
	require.NoError(t, err)
	for _, r := range d.Ranges {
		assert.False(t, r.Retired, r.Prefix)
	}
	fi, err := os.Stat(out2)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o644), fi.Mode().Perm())
	// Writing over an existing file keeps its mode.
	st, _, _ = refreshRun(t, "--dns", s.Addr, "--data", file, "--region", "za", "--write", file)
	assert.Equal(t, ExitOK, st)
	fi, err = os.Stat(file)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
}

// usRecordWith is the embedded dataset's us record with extra terms.
func usRecordWith(t *testing.T, extra ...string) map[string][]string {
	t.Helper()
	return refreshZone(t, regions.US, nil, nil, extra...)
}

// Done when: a us._netblocks answer adding 400 public /16s is refused
// with exit 2 and nothing written; one adding a single new /24 is
// reported (exit 1) and written with --write.
func TestRefreshBoundedAdditions(t *testing.T) {
	refreshFixDate(t, "2026-12-01")
	zone := refreshZone(t, 0, nil, nil)
	var incs []string
	// Two included records of 200 /16s each: every answer within the size
	// limits, and the global record within 10 lookups, so only the new
	// guard stands between them and the file.
	for r := range 2 {
		var terms []string
		for i := range 200 {
			terms = append(terms, fmt.Sprintf("ip4:%d.%d.0.0/16", 11+r, i))
		}
		name := fmt.Sprintf("us%d.example.com", r)
		zone[name] = []string{spftest.Record(nil, terms...)}
		incs = append(incs, "include:"+name)
	}
	zone["us._netblocks.mimecast.com"] = usRecordWith(t, incs...)["us._netblocks.mimecast.com"]
	s := spftest.Start(t, zone)
	dir := t.TempDir()
	file := filepath.Join(dir, "ranges.txt")
	st, out, errs := refreshRun(t, "--dns", s.Addr, "--write", file)
	assert.Equal(t, ExitUsage, st)
	assert.Regexp(t, `(?m)^us +refused +growth \(the error is on stderr\)$`, out)
	assert.Regexp(t, `(?m)^global +ok `, out, "only the us guard refuses")
	assert.Contains(t, errs, "mimecastip refresh: us refused: refresh: us._netblocks.mimecast.com: refusing additions to region us: the additions would take region us from")
	assert.Contains(t, errs, "ip4:11.0.0.0/16 in us0.example.com is broader than /24")
	assert.Contains(t, errs, "nothing written")
	entries, _ := os.ReadDir(dir)
	assert.Empty(t, entries, "nothing written")

	// An IPv6 range, while no source has ever published one.
	s = spftest.Start(t, usRecordWith(t, "ip6:2a00:1450::/32"))
	st, _, errs = refreshRun(t, "--dns", s.Addr, "--write", file, "--region", "us")
	assert.Equal(t, ExitUsage, st)
	assert.Contains(t, errs, "ip6:2a00:1450::/32 in us._netblocks.mimecast.com is IPv6, and no source has ever published an IPv6 range")
	assert.NoFileExists(t, file)

	// One new /24: drift, written.
	s = spftest.Start(t, usRecordWith(t, "ip4:170.10.158.0/24"))
	st, out, errs = refreshRun(t, "--dns", s.Addr, "--write", file)
	assert.Equal(t, ExitFinding, st, "stdout:\n%s\nstderr:\n%s", out, errs)
	assert.Regexp(t, `(?m)^  added +170\.10\.158\.0/24 +in us\._netblocks\.mimecast\.com$`, out)
	d, err := regions.ParseFile(file)
	require.NoError(t, err)
	c, err := mimecastip.Load(d, regions.SetOf(regions.US))
	require.NoError(t, err)
	assert.Equal(t, mimecastip.Mimecast, c.Lookup(netip.MustParseAddr("170.10.158.9")).Class)

	// A reviewed broad addition passes with --accept naming it.
	s = spftest.Start(t, usRecordWith(t, "ip4:170.10.160.0/22"))
	st, _, errs = refreshRun(t, "--dns", s.Addr, "--region", "us")
	assert.Equal(t, ExitUsage, st)
	assert.Contains(t, errs, "ip4:170.10.160.0/22 in us._netblocks.mimecast.com is broader than /24")
	st, _, _ = refreshRun(t, "--dns", s.Addr, "--region", "us", "--accept", "170.10.160.0/22")
	assert.Equal(t, ExitFinding, st)
	st, _, errs = refreshRun(t, "--dns", s.Addr, "--region", "us", "--accept", "170.10.160.1/22")
	assert.Equal(t, ExitUsage, st)
	assert.Contains(t, errs, `--accept: "170.10.160.1/22" is not a canonical CIDR prefix`)
}

// Done when: two successive --write runs that each drop 40% of EU's rows
// are refused on the second run.
func TestRefreshShrinkRatchet(t *testing.T) {
	var eu []string
	for _, r := range regions.Embedded().Active() {
		if r.Regions.Has(regions.EU) && r.SPFPublished() {
			eu = append(eu, r.Prefix.String())
		}
	}
	require.Len(t, eu, 13)
	file := filepath.Join(t.TempDir(), "ranges.txt")
	// Night 1 drops 5 of 13 /24-or-narrower rows (38%, under half of the
	// rows and of the addresses); 185.58.84.0/22 stays.
	night1 := []string{"91.220.42.0/24", "146.101.78.0/24", "147.28.36.0/24", "195.130.217.0/24", "207.82.80.0/24"}
	refreshFixDate(t, "2026-12-01")
	s := spftest.Start(t, refreshZone(t, regions.EU, nil, night1))
	st, out, errs := refreshRun(t, "--dns", s.Addr, "--write", file)
	require.Equal(t, ExitFinding, st, "stdout:\n%s\nstderr:\n%s", out, errs)
	// Night 2 drops 40% of the 8 left (3 more): refused, nothing written.
	refreshFixDate(t, "2026-12-02")
	before, err := os.ReadFile(file)
	require.NoError(t, err)
	s = spftest.Start(t, refreshZone(t, regions.EU, nil, append(slices.Clone(night1), "213.167.75.0/25", "213.167.81.0/25", "193.7.206.0/25")))
	st, out, errs = refreshRun(t, "--dns", s.Addr, "--data", file, "--write", file)
	assert.Equal(t, ExitUsage, st, "stdout:\n%s\nstderr:\n%s", out, errs)
	assert.Contains(t, errs, "region eu would lose half or more of its SPF-derived data: 8 of 13 rows")
	assert.Contains(t, errs, "5 were retired since 2026-11-02")
	after, err := os.ReadFile(file)
	require.NoError(t, err)
	assert.Equal(t, string(before), string(after), "nothing written")
	// The admin names the region: written.
	st, _, _ = refreshRun(t, "--dns", s.Addr, "--data", file, "--write", file, "--allow-shrink", "eu")
	assert.Equal(t, ExitFinding, st)
	st, _, errs = refreshRun(t, "--dns", s.Addr, "--data", file, "--allow-shrink", "mars")
	assert.Equal(t, ExitUsage, st)
	assert.Contains(t, errs, "--allow-shrink")
}

// A refresh that finds nothing new rewrites only the dated header, and
// one new prefix is a small diff (measured failure 8, from the command).
func TestRefreshWriteMinimalDiff(t *testing.T) {
	file := filepath.Join(t.TempDir(), "ranges.txt")
	orig, err := os.ReadFile(filepath.Join("..", "..", "..", "..", "regions", "ranges.txt"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(file, orig, 0o644))
	s := spftest.Start(t, refreshZone(t, 0, nil, nil))
	refreshFixDate(t, "2026-12-01")
	st, _, _ := refreshRun(t, "--dns", s.Addr, "--data", file, "--write", file)
	require.Equal(t, ExitOK, st)
	first, _ := os.ReadFile(file)
	refreshFixDate(t, "2026-12-02")
	st, _, _ = refreshRun(t, "--dns", s.Addr, "--data", file, "--write", file)
	require.Equal(t, ExitOK, st)
	second, _ := os.ReadFile(file)
	changed := func(a, b []byte) []string {
		al, bl := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
		var out []string
		if len(al) != len(bl) {
			return []string{fmt.Sprintf("%d lines, then %d", len(al), len(bl))}
		}
		for i := range al {
			if al[i] != bl[i] {
				out = append(out, bl[i])
			}
		}
		return out
	}
	d := changed(first, second)
	require.Len(t, d, 2, "%q", d)
	assert.Equal(t, "@version 2026-12-02", d[0])
	assert.True(t, strings.HasPrefix(d[1], "@source spf-live 2026-12-02 mimecastip refresh: SPF expansion of"), d[1])
	assert.Len(t, strings.Split(string(first), "\n"), len(strings.Split(string(orig), "\n"))+1, "the first write adds the spf-live source line only")
}

// Done when: lookup --data F, where F is regions/ranges.txt without its
// last 10 rows, exits 2 and says the file is incomplete (measured failure
// 4: a file cut at a line boundary loaded as valid).
func TestLookupTruncatedData(t *testing.T) {
	orig, err := os.ReadFile(filepath.Join("..", "..", "..", "..", "regions", "ranges.txt"))
	require.NoError(t, err)
	lines := strings.SplitAfter(strings.TrimRight(string(orig), "\n"), "\n")
	dir := t.TempDir()
	for _, cut := range []int{1, 10, 11, 40} {
		f := filepath.Join(dir, fmt.Sprintf("cut%d.txt", cut))
		require.NoError(t, os.WriteFile(f, []byte(strings.Join(lines[:len(lines)-cut], "")), 0o644))
		r := cliRun("", "lookup", "--data", f, "8.8.8.8")
		assert.Equal(t, ExitUsage, r.code, "cut %d: %s", cut, r.stdout)
		assert.Contains(t, r.stderr, "incomplete", "cut %d", cut)
		assert.Empty(t, r.stdout)
	}
	// The last 10 rows, keeping the @end line: the count tells.
	var kept []string
	rows := 0
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(lines[i])
		if rows < 10 && l != "" && !strings.HasPrefix(l, "#") && !strings.HasPrefix(l, "@") {
			rows++
			continue
		}
		kept = append([]string{lines[i]}, kept...)
	}
	f := filepath.Join(dir, "rows.txt")
	require.NoError(t, os.WriteFile(f, []byte(strings.Join(kept, "")), 0o644))
	r := cliRun("", "lookup", "--data", f, "8.8.8.8")
	assert.Equal(t, ExitUsage, r.code)
	assert.Contains(t, r.stderr, "incomplete or was edited")
}

// issue 11: --dns bogus::: was not validated (exit 3, then a query to the
// system resolver). It is a usage error, printed once on stderr, and no
// query is sent.
func TestRefreshDNSValidated(t *testing.T) {
	for _, bad := range []string{"bogus:::", "bogus:::53", "host:", ":53", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:x", "a b:53", "-bad-:53", "[::1]:", "[fe80::1%lo]:53", "[bogus]:53"} {
		st, out, errs := refreshRun(t, "--dns", bad)
		assert.Equal(t, ExitUsage, st, bad)
		assert.Empty(t, out, bad)
		assert.Equal(t, 1, strings.Count(errs, "--dns"), "%s: printed once: %s", bad, errs)
	}
	for in, want := range map[string]string{"127.0.0.1": "127.0.0.1:53", "127.0.0.1:5353": "127.0.0.1:5353", "::1": "[::1]:53", "[::1]": "[::1]:53", "[::1]:5353": "[::1]:5353", "ns1.example.com": "ns1.example.com:53", "localhost:53": "localhost:53"} {
		got, err := refreshServer(in)
		if assert.NoError(t, err, in) {
			assert.Equal(t, want, got, in)
		}
	}
}
