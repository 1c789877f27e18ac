package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/seed-b311f21d/go-mimecastip/cmd/mimecastip/internal/refresh"
	"github.com/seed-b311f21d/go-mimecastip/cmd/mimecastip/internal/spf"
	"github.com/seed-b311f21d/go-mimecastip/regions"
)

// ExitIncomplete is the exit status of refresh when the SPF record of some
// region could not be read (timeout, SERVFAIL, NXDOMAIN, a void include):
// the check is incomplete and nothing was written. Drift found in the other
// regions is still printed.
const ExitIncomplete = 3

// refreshNow is the clock of refresh; tests replace it.
var refreshNow = time.Now

// refreshDefault are the regions refresh checks by default: every regional
// _netblocks include, then the global record.
var refreshDefault = []regions.Region{regions.US, regions.USB, regions.CA, regions.EU, regions.DE, regions.AU, regions.ZA, regions.Global}

const refreshDescription = `
Expand Mimecast's SPF records (us usb ca eu de au za ._netblocks.mimecast.com
and the global _netblocks.mimecast.com) over DNS and print the drift against
the dataset in use, per region: prefixes SPF lists that the dataset lacks
(added) and SPF-published rows SPF no longer lists (removed). Rows from the
Data Centers page and non-SPF relay rows are never reported removed: SPF does
not cover them ("kept" lines say when SPF dropped one). Errors are printed
once, on stderr.

A region whose lookup fails (timeout, SERVFAIL, NXDOMAIN) is "unknown", never
"all removed". An answer is refused when it holds private, documentation or
other special space, a prefix broader than /16 (IPv4) or /32 (IPv6),
unsupported terms (a, mx, ptr, exists, macros, -ip4:, +all), more than 10 DNS
lookups, more than 2 void lookups, more than 4 KiB of TXT, 512 terms or 512
prefixes; when it adds to a region a prefix broader than the broadest the
region may gain (the broadest the dataset holds for it, never broader than
/22), an IPv6 range while the dataset holds none, a prefix in a /16 (IPv4)
or /32 (IPv6) where the dataset holds no row (a new network), or more than
doubles the region's addresses within 30 days (--accept PREFIX,... names
reviewed additions); when the global record lists ip4:/ip6: terms of its own; or when
a region would lose half or more of its SPF-derived rows or addresses within
30 days, counting rows retired or moved to another region in that time
(--allow-shrink REGION,... after review).

--write FILE writes the dataset updated with the drift (never the embedded
regions/ranges.txt in place), changing as little as it can: comments and the
order of rows are kept; @version and the "@source spf-live" line get today's
date; added prefixes become active rows next to their neighbours; removed
rows are retired with a "retired YYYY-MM-DD" note (never deleted;
--keep-removed leaves them active during a double-run period); the "@end
ROWS" line gets the new count. Nothing is written when any region is unknown
or refused; use --region to leave a failing region out.

Exit status: 0 no drift, 1 drift found (also after --write), 2 usage or input
error or a refused answer (nothing written), 3 some region unknown (nothing
written).`

// cmdRefresh implements "mimecastip refresh".
func cmdRefresh(env *Env, args []string) int {
	fs := newFlags(env, "refresh", "[--dns HOST:PORT] [--write FILE] [--json] [--data FILE] [--region R,...] [--timeout D] [--keep-removed] [--accept PREFIX,...] [--allow-shrink R,...]", refreshDescription)
	dnsAddr := fs.String("dns", "", "send DNS queries to this server (HOST:PORT; port 53 if omitted) instead of the system resolver")
	write := fs.String("write", "", "write the updated dataset to this file (atomically; never the embedded regions/ranges.txt)")
	asJSON := fs.Bool("json", false, "print the drift as JSON")
	data := fs.String("data", "", dataFlagUsage)
	regionList := fs.String("region", "", "check only these regions (comma-separated; \"global\" for _netblocks.mimecast.com); default: us,usb,ca,eu,de,au,za,global; \"all\" adds uspcom")
	timeout := fs.Duration("timeout", 5*time.Second, "time limit of each DNS lookup")
	keepRemoved := fs.Bool("keep-removed", false, "with --write, leave rows SPF no longer lists active instead of retiring them")
	acceptList := fs.String("accept", "", "added prefixes you have reviewed (comma-separated CIDRs): they pass the guards on broad, IPv6, new-network and more-than-double additions")
	shrinkList := fs.String("allow-shrink", "", "regions you have reviewed that may lose half or more of their SPF-derived rows or addresses within 30 days (comma-separated)")
	if done, st := parseFlags(env, fs, args); done {
		return st
	}
	if fs.NArg() > 0 {
		errorf(env, "refresh", "unexpected argument %q", fs.Arg(0))
		return ExitUsage
	}
	if *timeout <= 0 {
		errorf(env, "refresh", "--timeout must be positive")
		return ExitUsage
	}
	checks, err := refreshRegions(*regionList)
	if err != nil {
		errorf(env, "refresh", "%v", err)
		return ExitUsage
	}
	accept, err := refreshAccept(*acceptList)
	if err != nil {
		errorf(env, "refresh", "%v", err)
		return ExitUsage
	}
	var allowShrink regions.Set
	if strings.TrimSpace(*shrinkList) != "" {
		if allowShrink, err = regions.ParseSet(*shrinkList); err != nil {
			errorf(env, "refresh", "--allow-shrink: %v", err)
			return ExitUsage
		}
	}
	var addr string
	if *dnsAddr != "" {
		if addr, err = refreshServer(*dnsAddr); err != nil {
			errorf(env, "refresh", "%v", err)
			return ExitUsage
		}
	}
	if *write != "" && refresh.IsEmbeddedFile(*write) {
		errorf(env, "refresh", "%s: %v", *write, refresh.ErrEmbeddedFile)
		return ExitUsage
	}
	d, orig, err := refreshLoad(*data)
	if err != nil {
		errorf(env, "refresh", "%v", err)
		return ExitUsage
	}
	var resolver spf.Lookuper = &net.Resolver{}
	server := "system resolver"
	if addr != "" {
		server = addr
		resolver = refreshResolver{&net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var dl net.Dialer
			return dl.DialContext(ctx, network, addr)
		}}, addr}
	}
	day := refreshNow().UTC()
	results := refreshExpand(spf.NewCache(resolver), *timeout, checks)
	rep := refresh.CompareWith(d, results, refresh.Options{Today: day, Accept: accept, AllowShrink: allowShrink})

	out := refreshOutput{
		Dataset: d.Version, Data: "embedded", Resolver: server, Date: day.Format(time.DateOnly),
		Regions: rep.Regions,
	}
	if *data != "" {
		out.Data = *data
	}
	refused, unknown := rep.With(refresh.StatusRefused), rep.With(refresh.StatusUnknown)
	out.Status, out.Exit = "ok", ExitOK
	switch {
	case len(refused) > 0:
		out.Status, out.Exit = "refused", ExitUsage
	case len(unknown) > 0:
		out.Status, out.Exit = "unknown", ExitIncomplete
	case rep.Drift():
		out.Status, out.Exit = "drift", ExitFinding
	}
	var writeErr error
	if *write != "" && out.Exit != ExitUsage && out.Exit != ExitIncomplete {
		var includes []string
		for _, c := range results {
			includes = append(includes, c.Include)
		}
		nd, notes, err := refresh.Apply(d, rep, refresh.ApplyOptions{
			Today:       day,
			SourceText:  fmt.Sprintf("mimecastip refresh: SPF expansion of %s (via %s)", strings.Join(includes, " "), server),
			KeepRemoved: *keepRemoved,
		})
		out.WriteNotes = notes
		var text []byte
		if err == nil {
			text, err = refresh.Render(orig, d, nd)
		}
		if err == nil {
			err = refresh.WriteText(*write, text, len(nd.Ranges))
		}
		if err != nil {
			writeErr = err
			out.Exit = ExitUsage
		} else {
			out.Written = *write
		}
	}
	if *asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			errorf(env, "refresh", "%v", err)
			return ExitUsage
		}
	} else {
		refreshPrint(env.Stdout, &out)
	}
	for _, rr := range refused {
		errorf(env, "refresh", "%s refused: %s", rr.Region, rr.Error)
	}
	for _, rr := range unknown {
		errorf(env, "refresh", "%s unknown: %s", rr.Region, rr.Error)
	}
	switch {
	case writeErr != nil:
		errorf(env, "refresh", "%v; nothing written", writeErr)
	case *write != "" && len(refused) > 0:
		errorf(env, "refresh", "not writing %s: an answer was refused; nothing written", *write)
	case *write != "" && len(unknown) > 0:
		errorf(env, "refresh", "not writing %s: some regions are unknown (leave them out with --region to write the others); nothing written", *write)
	}
	return out.Exit
}

// refreshResolver sends every query to server. Its errors name server,
// not the resolv.conf server the Go resolver thinks it is asking.
type refreshResolver struct {
	r      *net.Resolver
	server string
}

func (r refreshResolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	txt, err := r.r.LookupTXT(ctx, name)
	var de *net.DNSError
	if errors.As(err, &de) {
		c := *de
		c.Server = r.server
		c.Err = strings.ReplaceAll(c.Err, "dial udp "+r.server+": ", "")
		c.Err = strings.ReplaceAll(c.Err, "dial tcp "+r.server+": ", "")
		err = &c
	}
	return txt, err
}

// refreshOutput is what refresh prints (as JSON with --json).
type refreshOutput struct {
	Dataset    string                 `json:"dataset"`  // the dataset's version
	Data       string                 `json:"data"`     // "embedded" or the --data file
	Resolver   string                 `json:"resolver"` // "system resolver" or HOST:PORT
	Date       string                 `json:"date"`     // day of the check (UTC)
	Status     string                 `json:"status"`   // ok, drift, unknown or refused
	Exit       int                    `json:"exit"`
	Regions    []refresh.RegionReport `json:"regions"`
	Written    string                 `json:"written,omitempty"`
	WriteNotes []string               `json:"write_notes,omitempty"`
}

// refreshRegions parses --region into the checks to run, the global record
// last.
func refreshRegions(list string) ([]refresh.Check, error) {
	want := refreshDefault
	if strings.EqualFold(strings.TrimSpace(list), "all") {
		want = nil
		for _, r := range regions.List() {
			if in, _ := regions.InfoOf(r); in.SPFInclude != "" || r == regions.Global {
				want = append(want, r)
			}
		}
	} else if strings.TrimSpace(list) != "" {
		set, err := regions.ParseSet(list)
		if err != nil {
			return nil, err
		}
		want = set.Regions() // fixed order: Global last
	}
	var out []refresh.Check
	for _, r := range want {
		in, _ := regions.InfoOf(r)
		if r == regions.Global {
			in.SPFInclude = regions.GlobalSPFRecord // the record including every region's
		}
		if in.SPFInclude == "" {
			return nil, fmt.Errorf("region %s has no known SPF include", r)
		}
		out = append(out, refresh.Check{Region: r, Include: in.SPFInclude})
	}
	return out, nil
}

// refreshServer checks --dns (an IP address or a host name, with an
// optional port 1-65535) and adds port 53 when it has none.
func refreshServer(s string) (string, error) {
	bad := fmt.Errorf("--dns %q: want HOST:PORT or HOST (an IP address or a host name; port 53 if omitted)", s)
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		host, port = s, "53"
		if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
			host = s[1 : len(s)-1]
		} else if strings.Count(s, ":") == 1 {
			return "", bad // "host:" or ":port" forms SplitHostPort refused
		}
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || port != strconv.Itoa(n) {
		return "", bad
	}
	bracketed := strings.HasPrefix(s, "[")
	if _, err := netip.ParseAddr(host); err != nil && (bracketed || !validHostName(host)) {
		return "", bad
	}
	if a, err := netip.ParseAddr(host); err == nil && a.Zone() != "" {
		return "", bad
	}
	return net.JoinHostPort(host, port), nil
}

// validHostName reports whether s is a DNS host name: labels of letters,
// digits and inner hyphens, at most 63 bytes each, 253 in all.
func validHostName(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > 253 {
		return false
	}
	for _, l := range strings.Split(s, ".") {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// refreshAccept parses --accept.
func refreshAccept(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(list, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil || p != p.Masked() {
			return nil, fmt.Errorf("--accept: %q is not a canonical CIDR prefix", f)
		}
		out = append(out, p)
	}
	if strings.TrimSpace(list) != "" && len(out) == 0 {
		return nil, fmt.Errorf("--accept: no prefix in %q", list)
	}
	return out, nil
}

// refreshLoad reads the dataset in use and the text it was parsed from
// (the embedded file when path is ""), so --write can change only what
// changed.
func refreshLoad(path string) (*regions.Dataset, []byte, error) {
	if path == "" {
		return regions.Embedded(), regions.EmbeddedFile(), nil
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, nil, fmt.Errorf("regions: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, nil, fmt.Errorf("%s: not a regular file", path)
	}
	text, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("regions: %w", err)
	}
	d, err := regions.Parse(bytes.NewReader(text))
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return d, text, nil
}

// refreshExpand expands every regional include concurrently, then the
// global record (whose includes then come from the cache, so it is judged
// on the same answers).
func refreshExpand(l spf.Lookuper, timeout time.Duration, checks []refresh.Check) []refresh.Check {
	x := &spf.Expander{Resolver: l, Timeout: timeout}
	out := append([]refresh.Check(nil), checks...)
	run := func(i int) {
		out[i].Result, out[i].Err = x.Expand(context.Background(), out[i].Include)
		if out[i].Err != nil {
			out[i].Result = nil
		}
	}
	var wg sync.WaitGroup
	for i := range out {
		if out[i].Region != regions.Global {
			wg.Go(func() { run(i) })
		}
	}
	wg.Wait()
	for i := range out {
		if out[i].Region == regions.Global {
			run(i)
		}
	}
	return out
}

func refreshPrint(w io.Writer, o *refreshOutput) {
	fmt.Fprintf(w, "dataset %s (%s) against SPF via %s on %s\n", o.Dataset, o.Data, o.Resolver, o.Date)
	var drift, unknown, refused []string
	added, removed := 0, 0
	for _, rr := range o.Regions {
		switch rr.Status {
		case refresh.StatusOK:
			fmt.Fprintf(w, "%-7s %-8s %d prefixes, no drift\n", rr.Region, rr.Status, len(rr.Listed))
		case refresh.StatusDrift:
			fmt.Fprintf(w, "%-7s %-8s %d prefixes: %d added, %d removed\n", rr.Region, rr.Status, len(rr.Listed), len(rr.Added), len(rr.Removed))
			drift = append(drift, rr.Region.String())
			added += len(rr.Added)
			removed += len(rr.Removed)
		case refresh.StatusUnknown:
			fmt.Fprintf(w, "%-7s %-8s %s (the error is on stderr)\n", rr.Region, rr.Status, rr.ErrorKind)
			unknown = append(unknown, rr.Region.String())
		case refresh.StatusRefused:
			fmt.Fprintf(w, "%-7s %-8s %s (the error is on stderr)\n", rr.Region, rr.Status, rr.ErrorKind)
			refused = append(refused, rr.Region.String())
		}
		for _, a := range rr.Added {
			fmt.Fprintf(w, "  added    %-20s in %s", a.Prefix, a.Via)
			switch {
			case a.Region == 0:
				fmt.Fprintf(w, " (no known region)")
			case a.Region != rr.Region:
				fmt.Fprintf(w, " (region %s, not checked)", a.Region)
			}
			if e := a.Existing; e != nil {
				state := "active"
				if e.Retired {
					state = "retired"
				}
				fmt.Fprintf(w, "; dataset has it %s for %s (line %d)", state, e.Regions, e.Line)
			}
			fmt.Fprintln(w)
		}
		for _, r := range rr.Removed {
			fmt.Fprintf(w, "  removed  %-20s %s, last seen %s, sources %s (line %d)%s\n", r.Prefix, r.Row.Regions, r.Row.LastSeen, strings.Join(r.Row.Sources, ","), r.Row.Line, refreshCovered(r))
		}
		for _, r := range rr.Kept {
			fmt.Fprintf(w, "  kept     %-20s no longer in SPF; kept: %s (line %d)%s\n", r.Prefix, r.Kept, r.Row.Line, refreshCovered(r))
		}
		if len(rr.Includes) > 0 {
			var names []string
			for _, in := range rr.Includes {
				n := in.Region.String()
				if in.Region == 0 {
					n = in.Name
				}
				if in.Void != "" {
					n += "(" + in.Void + ")"
				}
				names = append(names, n)
			}
			fmt.Fprintf(w, "  includes %s\n", strings.Join(names, " "))
		}
		for _, n := range rr.Notes {
			fmt.Fprintf(w, "  note     %s\n", n)
		}
	}
	for _, n := range o.WriteNotes {
		fmt.Fprintf(w, "write: %s\n", n)
	}
	var parts []string
	if len(drift) > 0 {
		parts = append(parts, fmt.Sprintf("drift in %s (%d added, %d removed)", strings.Join(drift, " "), added, removed))
	}
	if len(unknown) > 0 {
		parts = append(parts, fmt.Sprintf("region(s) %s unknown (lookup failed; not checked)", strings.Join(unknown, " ")))
	}
	if len(refused) > 0 {
		parts = append(parts, fmt.Sprintf("region(s) %s refused (answer rejected; nothing written)", strings.Join(refused, " ")))
	}
	if len(parts) == 0 {
		parts = append(parts, "no drift")
	}
	if o.Written != "" {
		parts = append(parts, "wrote "+o.Written)
	}
	fmt.Fprintf(w, "%s: %s\n", o.Status, strings.Join(parts, "; "))
}

func refreshCovered(r refresh.Removed) string {
	if len(r.CoveredBy) == 0 {
		return ""
	}
	var s []string
	for _, p := range r.CoveredBy {
		s = append(s, p.String())
	}
	return "; still inside " + strings.Join(s, " ")
}
