package export

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/seed-b311f21d/go-mimecastip/mimecastip"
	"github.com/seed-b311f21d/go-mimecastip/regions"
)

func writePlain(w *writer) error {
	w.header("#")
	for _, p := range w.merged {
		w.printf("%s\n", p)
	}
	return nil
}

// rejectAction is the --reject action as written in the table (checked
// by [ValidateReject] in Write).
func rejectAction(action string) string { return oneLine(action) }

// postfixPath is the table's path for the main.cf snippet.
func (w *writer) postfixPath(def string) string {
	if w.o.Path != "" {
		return w.o.Path
	}
	return def
}

func writePostfix(w *writer) error {
	// Port 25 only, after permit_mynetworks and reject_unauth_destination:
	// a global smtpd_client_restrictions would lock out submission and the
	// local network, and OK before reject_unauth_destination is an open
	// relay. Proven by TestPostfixHeaderSnippet in a real Postfix.
	w.header("#",
		"Postfix cidr table, read directly (no postmap); first match wins; reread on postfix reload.",
		"For the public port-25 smtpd only (not submission), after permit_mynetworks and",
		"reject_unauth_destination (OK before it would make an open relay). main.cf:",
		"  mimecast_recipient_restrictions = permit_mynetworks, reject_unauth_destination,",
		"      check_client_access cidr:"+w.postfixPath("/etc/postfix/mimecast.cidr")+", reject",
		"master.cf, under the \"smtp inet ... smtpd\" line only:",
		"  -o smtpd_recipient_restrictions=$mimecast_recipient_restrictions")
	for _, p := range w.merged {
		w.printf("%-24s OK\n", p)
	}
	if w.o.Reject != "" {
		a := rejectAction(w.o.Reject)
		w.printf("# everything else:\n")
		w.printf("%-24s %s\n", "0.0.0.0/0", a)
		w.printf("%-24s %s\n", "::/0", a)
	}
	return nil
}

func writePostscreen(w *writer) error {
	w.header("#",
		"Postfix cidr table for postscreen. main.cf:",
		"  postscreen_access_list = permit_mynetworks, cidr:"+w.postfixPath("/etc/postfix/mimecast-postscreen.cidr"))
	for _, p := range w.merged {
		w.printf("%-24s permit\n", p)
	}
	if w.o.Reject != "" {
		w.printf("# everything else (postscreen_denylist_action decides what reject does): %s\n", oneLine(w.o.Reject))
		w.printf("%-24s reject\n", "0.0.0.0/0")
		w.printf("%-24s reject\n", "::/0")
	}
	return nil
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func writeNftables(w *writer) error {
	v4, v6 := split(w.merged)
	n := w.o.Name
	w.printf("#!/usr/sbin/nft -f\n")
	w.header("#",
		fmt.Sprintf("Load with: nft -f FILE (replaces table inet %s atomically; check first with nft -c -f FILE).", n),
		fmt.Sprintf("Membership: nft get element inet %s %s_v4 '{ 170.10.128.1 }'", n, n),
		w.exemptText(""))
	// Declaring, deleting and re-declaring the table makes the file
	// reloadable: the first line creates it when missing.
	w.printf("table inet %s\ndelete table inet %s\n\n", n, n)
	w.printf("table inet %s {\n", n)
	set := func(name, typ string, ps []netip.Prefix) {
		w.printf("\tset %s {\n\t\ttype %s\n\t\tflags interval\n\t\tauto-merge\n", name, typ)
		if len(ps) > 0 {
			w.printf("\t\telements = {\n")
			for i, p := range ps {
				sep := ","
				if i == len(ps)-1 {
					sep = ""
				}
				w.printf("\t\t\t%s%s\n", p, sep)
			}
			w.printf("\t\t}\n")
		}
		w.printf("\t}\n\n")
	}
	set(n+"_v4", "ipv4_addr", v4)
	set(n+"_v6", "ipv6_addr", v6)
	if len(w.o.Ports) == 1 && w.o.Ports[0] == 25 {
		w.printf("\t# Inbound SMTP only from the ranges above.\n")
	} else {
		w.printf("\t# Inbound TCP ports %s only from the ranges above.\n", strings.Trim(nftPorts(w.o.Ports), "{ }"))
	}
	w.printf("\tchain smtp_in {\n")
	w.printf("\t\ttype filter hook input priority filter; policy accept;\n")
	w.printf("\t\ttcp dport %s ip saddr @%s_v4 accept\n", nftPorts(w.o.Ports), n)
	w.printf("\t\ttcp dport %s ip6 saddr @%s_v6 accept\n", nftPorts(w.o.Ports), n)
	w.nftExempt(nftPorts(w.o.Ports))
	w.printf("\t\ttcp dport %s counter reject with tcp reset\n", nftPorts(w.o.Ports))
	w.printf("\t}\n}\n")
	return nil
}

func writeIpset(w *writer) error {
	v4, v6 := split(w.merged)
	n := w.o.Name
	w.header("#",
		"Load with: ipset -exist restore < FILE (creates or empties the sets, then fills them).",
		fmt.Sprintf("Use (loopback exempt): iptables -I INPUT -p tcp --dport 25 ! -s 127.0.0.0/8 -m set ! --match-set %s4 src -j REJECT --reject-with tcp-reset", n),
		fmt.Sprintf("                       ip6tables -I INPUT -p tcp --dport 25 ! -s ::1/128 -m set ! --match-set %s6 src -j REJECT --reject-with tcp-reset", n))
	maxelem := func(k int) int {
		m := 1024
		for m < 2*k {
			m *= 2
		}
		return m
	}
	w.printf("create %s4 hash:net family inet hashsize 64 maxelem %d\n", n, maxelem(len(v4)))
	w.printf("flush %s4\n", n)
	for _, p := range v4 {
		w.printf("add %s4 %s\n", n, p)
	}
	w.printf("create %s6 hash:net family inet6 hashsize 64 maxelem %d\n", n, maxelem(len(v6)))
	w.printf("flush %s6\n", n)
	for _, p := range v6 {
		w.printf("add %s6 %s\n", n, p)
	}
	return nil
}

func chainName(n string) string { return strings.ToUpper(n) + "-SMTP" }

func writeIptables(w *writer) error {
	v4, v6 := split(w.merged)
	if len(v6) > 0 {
		w.o.Warn("iptables: %d IPv6 prefixes left out; use --format ip6tables for them", len(v6))
	}
	return writeXtables(w, "iptables", v4)
}

func writeIp6tables(w *writer) error {
	v4, v6 := split(w.merged)
	if len(v4) > 0 {
		w.o.Warn("ip6tables: %d IPv4 prefixes left out; use --format iptables for them", len(v4))
	}
	return writeXtables(w, "ip6tables", v6)
}

func writeXtables(w *writer, cmd string, ps []netip.Prefix) error {
	c := chainName(w.o.Name)
	family := "4"
	if cmd == "ip6tables" {
		family = "6"
	}
	w.header("#",
		fmt.Sprintf("Load without touching other rules: %s-restore --noflush < FILE (reloading replaces the chain's rules).", cmd),
		fmt.Sprintf("Then send inbound SMTP through it once: %s -I INPUT -p tcp %s -j %s", cmd, xtablesPorts(w.o.Ports), c),
		w.exemptText(family))
	w.printf("*filter\n:%s - [0:0]\n-F %s\n", c, c)
	for _, p := range ps {
		w.printf("-A %s -s %s -j ACCEPT\n", c, p)
	}
	w.xtablesExempt(c, family == "4")
	w.printf("-A %s -p tcp -j REJECT --reject-with tcp-reset\nCOMMIT\n", c)
	return nil
}

// M365MaxEntries is the most entries Microsoft documents for a connection
// filter allow list.
const M365MaxEntries = 1273

func psList(ps []netip.Prefix) string {
	var b strings.Builder
	b.WriteString("@(\n")
	for i, p := range ps {
		b.WriteString("    \"" + p.String() + "\"")
		if i < len(ps)-1 {
			b.WriteString(",")
		}
		b.WriteString("\n")
	}
	b.WriteString(")")
	return b.String()
}

func writeM365(w *writer) error {
	ps, dropped := SplitTo24(w.merged)
	if dropped > 0 {
		w.o.Warn("m365: %d IPv6 prefixes left out (Exchange Online connectors and connection filters take IPv4 only)", dropped)
	}
	if w.o.M365IPAllowList && len(ps) > M365MaxEntries {
		w.o.Warn("m365: %d entries, more than the %d a connection filter allow list holds", len(ps), M365MaxEntries)
	}
	extra := []string{
		"Exchange Online PowerShell (run Connect-ExchangeOnline first).",
		"IPv4 only; every prefix shorter than /24 is split into /24s, as connectors require (/24 to /32):",
		fmt.Sprintf("%d entries.", len(ps)),
	}
	if dropped > 0 {
		extra = append(extra, fmt.Sprintf("%d IPv6 prefixes left out: Exchange Online does not take them here.", dropped))
	}
	extra = append(extra,
		"The connector accepts your domains' mail only from these addresses, and Enhanced Filtering",
		"for Connectors (skip listing) makes EOP skip the Mimecast hops, so SPF, DKIM and DMARC are",
		"checked against the real sender (EFSkipLastIP off, EFSkipIPs the ranges).")
	if w.o.M365IPAllowList {
		extra = append(extra, "--m365-ip-allow-list: also adds the ranges to the connection-filter IP Allow List (see below).")
	} else {
		extra = append(extra, "The connection-filter IP Allow List is left alone (CIS Microsoft 365 2.1.12, CISA MS.EXO.12.1).")
	}
	w.header("#", extra...)
	w.printf("\n$MimecastIPs = %s\n\n", psList(ps))
	w.printf(`# Inbound connector for mail from Mimecast, restricted to its ranges, with
# Enhanced Filtering for Connectors skipping those ranges.
$ConnectorName = "Mimecast inbound"
if (Get-InboundConnector -Identity $ConnectorName -ErrorAction SilentlyContinue) {
    Set-InboundConnector -Identity $ConnectorName -SenderIPAddresses $MimecastIPs -RestrictDomainsToIPAddresses $true ` + "`" + `
        -EFSkipLastIP $false -EFSkipIPs $MimecastIPs
} else {
    New-InboundConnector -Name $ConnectorName -ConnectorType Partner -SenderDomains * ` + "`" + `
        -RestrictDomainsToIPAddresses $true -RequireTls $true -SenderIPAddresses $MimecastIPs ` + "`" + `
        -EFSkipLastIP $false -EFSkipIPs $MimecastIPs
}
`)
	if w.o.M365IPAllowList {
		w.printf(`
# Connection filter IP Allow List (--m365-ip-allow-list). Mail from these IPs
# skips spam filtering and sender authentication: against CIS Microsoft 365
# 2.1.12 and CISA MS.EXO.12.1, and not needed with Enhanced Filtering. Add
# does not remove entries of earlier exports; review the list when ranges
# are retired.
Set-HostedConnectionFilterPolicy -Identity Default -IPAllowList @{Add=$MimecastIPs}
`)
	}
	return nil
}

func writeExchange(w *writer) error {
	w.header("#", "Exchange Server (on-premises) Management Shell. Replaces the connector's RemoteIPRanges;",
		"adds the ranges to the transport's InternalSMTPServers, keeping its other entries.")
	w.printf("\n$MimecastIPs = %s\n\n", psList(w.merged))
	w.printf(`# A receive connector dedicated to Mimecast; the most specific match wins.
$ConnectorName = "$env:COMPUTERNAME\Mimecast inbound"
Set-ReceiveConnector -Identity $ConnectorName -RemoteIPRanges $MimecastIPs

# Mimecast's gateways are the last hop before this server: list them as
# internal SMTP servers, so Sender ID and connection filtering evaluate the
# hop into Mimecast (the real sender) instead of Mimecast's own address.
Set-TransportConfig -InternalSMTPServers @{Add=$MimecastIPs}
`)
	return nil
}

// SPFMaxString is the longest character-string of a TXT record.
const SPFMaxString = 255

// SPFRecommended is the record length RFC 7208 §3.4 advises staying under.
const SPFRecommended = 450

// SPFRecord returns the SPF record for ps: "v=spf1", an ip4: or ip6: term
// per prefix (without /32 and /128) and the all term.
func SPFRecord(ps []netip.Prefix, all string) string {
	terms := []string{"v=spf1"}
	for _, p := range ps {
		t := "ip6:"
		if p.Addr().Is4() {
			t = "ip4:"
		}
		if p.IsSingleIP() {
			terms = append(terms, t+p.Addr().String())
		} else {
			terms = append(terms, t+p.String())
		}
	}
	if all != "" {
		terms = append(terms, all)
	}
	return strings.Join(terms, " ")
}

// SplitTXT splits record into character-strings of at most SPFMaxString
// bytes, each cut after a space (resolvers concatenate the strings without
// adding spaces). A word longer than a string is cut where it must be.
func SplitTXT(record string) []string {
	var out []string
	for len(record) > SPFMaxString {
		cut := strings.LastIndexByte(record[:SPFMaxString], ' ')
		if cut < 0 {
			cut = SPFMaxString - 1
		}
		out = append(out, record[:cut+1])
		record = record[cut+1:]
	}
	return append(out, record)
}

func writeSPF(w *writer) error {
	rec := SPFRecord(w.merged, w.o.SPFAll)
	extra := []string{"DNS zone file TXT record; replace @ with the record's name. ip4/ip6 terms cost no DNS lookups."}
	if len(rec) > SPFRecommended {
		msg := fmt.Sprintf("the record is %d bytes, more than the %d RFC 7208 advises; it may not fit a UDP answer", len(rec), SPFRecommended)
		w.o.Warn("spf: %s", msg)
		extra = append(extra, "WARNING: "+msg+".")
	}
	w.header(";", extra...)
	w.printf("@\tIN\tTXT\t(")
	for i, s := range SplitTXT(rec) {
		if i > 0 {
			w.printf("\n\t\t\t")
		}
		w.printf(" %q", s)
	}
	w.printf(" )\n")
	return nil
}

// JSONRange is one range of the JSON export.
type JSONRange struct {
	CIDR      string      `json:"cidr"`
	Family    int         `json:"family"`
	Regions   regions.Set `json:"regions"`
	Service   string      `json:"service"`
	Class     string      `json:"class"`
	FirstSeen string      `json:"first_seen"`
	LastSeen  string      `json:"last_seen"`
	Sources   []string    `json:"sources"`
}

// JSONDoc is the JSON export.
type JSONDoc struct {
	Comment   string      `json:"comment"`
	Version   string      `json:"version"`
	Generated string      `json:"generated"`
	Regions   regions.Set `json:"regions"`
	Classes   []string    `json:"classes"`
	Merged    []string    `json:"merged"`
	Ranges    []JSONRange `json:"ranges"`
}

func family(p netip.Prefix) int {
	if p.Addr().Is4() {
		return 4
	}
	return 6
}

func writeJSON(w *writer) error {
	doc := JSONDoc{
		Comment:   "mimecastip export; not an official Mimecast product",
		Version:   w.o.Version,
		Generated: w.o.Now.UTC().Format(time.RFC3339),
		Regions:   w.o.Regions,
		Classes:   strings.Split(classList(w.o.Classes), ","),
		Merged:    []string{},
		Ranges:    []JSONRange{},
	}
	for _, p := range w.merged {
		doc.Merged = append(doc.Merged, p.String())
	}
	for _, r := range w.rs {
		doc.Ranges = append(doc.Ranges, JSONRange{
			CIDR: r.Prefix.String(), Family: family(r.Prefix), Regions: r.Regions,
			Service: r.Service.String(), Class: mimecastip.ClassOf(r.Service).String(),
			FirstSeen: r.FirstSeen, LastSeen: r.LastSeen, Sources: append([]string{}, r.Sources...),
		})
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	w.printf("%s\n", b)
	return nil
}

func writeCSV(w *writer) error {
	w.header("#")
	cw := csv.NewWriter(w.w)
	cw.Write([]string{"cidr", "family", "regions", "service", "class", "first_seen", "last_seen", "sources"})
	for _, r := range w.rs {
		cw.Write([]string{r.Prefix.String(), fmt.Sprint(family(r.Prefix)), r.Regions.String(), r.Service.String(),
			mimecastip.ClassOf(r.Service).String(), r.FirstSeen, r.LastSeen, strings.Join(r.Sources, ",")})
	}
	cw.Flush()
	return cw.Error()
}
