// Package export writes Mimecast ranges as allowlists in the formats mail
// systems and firewalls take: plain CIDR lists, Postfix cidr tables,
// postscreen access lists, nftables, ipset and iptables-restore files,
// Exchange Online and Exchange Server PowerShell, SPF TXT records, JSON
// and CSV.
//
// Every output starts with a header (in the format's comment syntax; a
// field in JSON) naming the dataset version, the regions and the classes.
// Address-list formats get the union of the selected ranges as the fewest
// canonical prefixes: nested ranges (a non-SPF /29 inside a gateway /24)
// disappear and adjacent ones merge, so nftables interval sets load
// without "conflicting intervals" and Postfix never meets a non-canonical
// rule. JSON and CSV list every selected published range with its
// metadata instead.
package export

import (
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/seed-b311f21d/go-mimecastip/cmd/mimecastip/internal/iprange"
	"github.com/seed-b311f21d/go-mimecastip/mimecastip"
	"github.com/seed-b311f21d/go-mimecastip/regions"
)

// Format describes one output format.
type Format struct {
	Name        string
	Description string
	write       func(*writer) error
}

// Formats returns the formats, in the order the help lists them.
func Formats() []Format {
	return []Format{
		{"plain", "one CIDR a line (Google Workspace inbound gateway, HAProxy -f, rspamd radix maps, grepcidr -f)", writePlain},
		{"postfix", "Postfix cidr table for check_client_access (value OK; --reject adds catch-all lines)", writePostfix},
		{"postscreen", "Postfix cidr table for postscreen_access_list (permit; --reject adds catch-all reject lines)", writePostscreen},
		{"nftables", "nft -f file: table inet NAME with interval sets NAME_v4/NAME_v6 and a tcp dport chain (--port/--service)", writeNftables},
		{"ipset", "ipset restore file: hash:net sets NAME4 and NAME6 (load with ipset -exist restore)", writeIpset},
		{"iptables", "iptables-restore --noflush file (IPv4): chain NAME-SMTP accepting the ranges, rejecting the rest", writeIptables},
		{"ip6tables", "ip6tables-restore --noflush file (IPv6): the same chain for IPv6", writeIp6tables},
		{"m365", "Exchange Online PowerShell: inbound connector restricted to the ranges, Enhanced Filtering -EFSkipIPs (IPv4, /24 or longer)", writeM365},
		{"exchange", "Exchange Server PowerShell: Set-ReceiveConnector -RemoteIPRanges, Set-TransportConfig -InternalSMTPServers", writeExchange},
		{"spamassassin", "SpamAssassin .cf: trusted_networks and internal_networks, so SPF and DNSBLs check the hop into Mimecast", writeSpamAssassin},
		{"rspamd", "rspamd radix map for the SPF module's external_relay (the snippet is in the header)", writeRspamd},
		{"policyd-spf", "postfix-policyd-spf-python: the Whitelist = line for policyd-spf.conf", writePolicydSPF},
		{"exim", "Exim host list for hostlist mimecast_hosts, with the acl_smtp_connect ACL in the header", writeExim},
		{"haproxy", "HAProxy ACL file for tcp-request connection reject unless { src -f FILE } (frontend in the header)", writeHAProxy},
		{"nginx", "nginx stream include: allow lines and deny all (server block in the header)", writeNginx},
		{"firewalld", "firewalld ipset XML (IPv4), with the rich rules for --port/--service in the header", writeFirewalld},
		{"spf", "DNS zone TXT record: v=spf1 ip4:/ip6: terms in strings of at most 255 bytes", writeSPF},
		{"json", "JSON: version, generated, regions, classes and every selected published range", writeJSON},
		{"csv", "CSV with a # header line: every selected published range", writeCSV},
	}
}

// Lookup returns the format named name ("nft" is accepted for nftables).
func Lookup(name string) (Format, bool) {
	name = strings.ToLower(strings.TrimSpace(name))
	if name == "nft" {
		name = "nftables"
	}
	for _, f := range Formats() {
		if f.Name == name {
			return f, true
		}
	}
	return Format{}, false
}

// Options controls an export.
type Options struct {
	Version string                        // dataset version for the header
	Regions regions.Set                   // the selected regions, for the header
	Classes []mimecastip.Class            // the selected classes, for the header
	Reject  string                        // postfix, postscreen: add catch-all lines with this access(5) action when not "" (see [ValidateReject])
	Name    string                        // nftables table, ipset and iptables chain base name; default "mimecast"
	Port    int                           // nftables: TCP port of the ready chain; default 25
	SPFAll  string                        // spf: the final all term; default "~all"
	Now     time.Time                     // json: the generated time; default time.Now
	Warn    func(format string, a ...any) // called for warnings (IPv6 dropped, record too long); may be nil

	// Allow lists client networks that the firewall formats (nftables,
	// iptables, ip6tables) accept on the port besides the ranges: the
	// admin's own relays and monitoring. Canonical prefixes only.
	Allow []netip.Prefix
	// NoLoopback drops the loopback exemption of the firewall formats
	// (sources 127.0.0.0/8 and ::1), which is on by default: local
	// clients (a content filter's reinjection, monitoring) keep working.
	NoLoopback bool
	// Path is where the output goes, for the config snippets in the
	// postfix and postscreen headers; default /etc/postfix/mimecast.cidr
	// (postscreen: /etc/postfix/mimecast-postscreen.cidr).
	Path string
	// Ports, when not empty, replaces Port: the TCP ports the firewall
	// formats (nftables, iptables, ip6tables, firewalld) open to the ranges.
	Ports []int
	// M365IPAllowList makes m365 also add the ranges to the connection
	// filter's IP Allow List, against CIS Microsoft 365 2.1.12 and CISA
	// MS.EXO.12.1; off by default.
	M365IPAllowList bool
}

// Select returns the active ranges of d whose service is a mail service
// of one of classes and that are published by a region in set (global
// ranges only when set has Global), sorted by prefix. Retired ranges are
// never selected.
func Select(d *regions.Dataset, set regions.Set, classes []mimecastip.Class) []regions.Range {
	var out []regions.Range
	for _, r := range d.Ranges {
		if r.Retired || r.Regions.Intersect(set).IsEmpty() || !slices.Contains(classes, mimecastip.ClassOf(r.Service)) {
			continue
		}
		if mimecastip.ClassOf(r.Service) == mimecastip.Foreign {
			continue
		}
		r.Sources = slices.Clone(r.Sources)
		out = append(out, r)
	}
	SortRanges(out)
	return out
}

// SortRanges sorts rs by address family, address and prefix length.
func SortRanges(rs []regions.Range) {
	slices.SortStableFunc(rs, func(a, b regions.Range) int { return iprange.ComparePrefix(a.Prefix, b.Prefix) })
}

// Merge returns the fewest canonical prefixes that cover exactly the
// prefixes of rs, IPv4 first.
func Merge(rs []regions.Range) []netip.Prefix {
	var b iprange.Builder
	for _, r := range rs {
		b.AddPrefix(r.Prefix)
	}
	return b.Set().Prefixes()
}

// SplitTo24 returns ps with every IPv4 prefix shorter than /24 split into
// /24s, and IPv6 prefixes dropped; the second result counts the dropped
// ones.
func SplitTo24(ps []netip.Prefix) (out []netip.Prefix, droppedV6 int) {
	for _, p := range ps {
		if !p.Addr().Is4() {
			droppedV6++
			continue
		}
		if p.Bits() >= 24 {
			out = append(out, p)
			continue
		}
		r := iprange.RangeOf(p)
		for a := r.From; ; {
			out = append(out, netip.PrefixFrom(a, 24))
			last := iprange.RangeOf(netip.PrefixFrom(a, 24)).To
			if last == r.To {
				break
			}
			a = last.Next()
		}
	}
	return out, droppedV6
}

// Write writes rs (as returned by [Select]) in format f.
func Write(w io.Writer, f Format, rs []regions.Range, o Options) error {
	if o.Name == "" {
		o.Name = "mimecast"
	}
	if o.Port == 0 {
		o.Port = 25
	}
	if len(o.Ports) == 0 {
		o.Ports = []int{o.Port}
	}
	o.Ports = slices.Clone(o.Ports)
	if o.SPFAll == "" {
		o.SPFAll = "~all"
	}
	if err := checkOptions(&o); err != nil {
		return err
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	if o.Warn == nil {
		o.Warn = func(string, ...any) {}
	}
	wr := &writer{w: w, f: f, rs: rs, o: o, merged: Merge(rs)}
	if err := f.write(wr); err != nil {
		return err
	}
	return wr.err
}

type writer struct {
	w      io.Writer
	f      Format
	rs     []regions.Range
	o      Options
	merged []netip.Prefix
	err    error
}

func (w *writer) printf(format string, a ...any) {
	if w.err == nil {
		_, w.err = fmt.Fprintf(w.w, format, a...)
	}
}

func classList(cs []mimecastip.Class) string {
	s := make([]string, len(cs))
	for i, c := range cs {
		s[i] = c.String()
	}
	return strings.Join(s, ",")
}

// header writes the standard header with the comment marker c.
func (w *writer) header(c string, extra ...string) {
	w.printf("%s mimecastip export --format %s: dataset %s, regions %s, classes %s\n",
		c, w.f.Name, w.o.Version, regionsText(w.o.Regions), classList(w.o.Classes))
	w.printf("%s %d published ranges as %d prefixes. Not an official Mimecast product.\n", c, len(w.rs), len(w.merged))
	for _, e := range extra {
		w.printf("%s %s\n", c, e)
	}
}

// regionsText names the regions of set, or "all" for every region.
func regionsText(set regions.Set) string {
	if set == regions.AllSet() {
		return "all"
	}
	return set.String()
}

func split(ps []netip.Prefix) (v4, v6 []netip.Prefix) {
	for _, p := range ps {
		if p.Addr().Is4() {
			v4 = append(v4, p)
		} else {
			v6 = append(v6, p)
		}
	}
	return
}
