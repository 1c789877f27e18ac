package export

import (
	"fmt"
	"strconv"
	"strings"
)

// The formats of this file put the ranges where a mail system behind
// Mimecast needs them besides the port-25 lockdown: the spam filters that
// must treat Mimecast as a trusted relay (SpamAssassin, rspamd,
// postfix-policyd-spf-python), and the MTAs and proxies that accept
// connections (Exim, HAProxy, nginx, firewalld). Each header carries the
// exact lines to paste; the tests feed file and lines to the real tool.

func writeSpamAssassin(w *writer) error {
	w.header("#",
		"SpamAssassin 3.4/4.0: save as /etc/spamassassin/mimecast.cf, then run spamassassin --lint.",
		"Mimecast is your MX, so its gateways are trusted and internal: SPF, DNSBLs and the relay",
		"rules are evaluated at the hop into Mimecast (the real sender), not at Mimecast's address.",
		"Your own MX and relays, when they are not the first hop, belong on both lists too.")
	for _, p := range w.merged {
		w.printf("trusted_networks %s\n", p)
	}
	for _, p := range w.merged {
		w.printf("internal_networks %s\n", p)
	}
	return nil
}

// RspamdMapPath is where the rspamd header tells the admin to save the map.
const RspamdMapPath = "/etc/rspamd/local.d/maps.d/mimecast.map"

func writeRspamd(w *writer) error {
	w.header("#",
		"rspamd radix map: save as "+RspamdMapPath+", then write",
		"/etc/rspamd/local.d/spf.conf (the SPF check, and DMARC with it, then use the hop before",
		"the first Mimecast gateway in the Received headers; rspamd 3.4 as in Debian 12, and later):",
		"  external_relay = \""+RspamdMapPath+"\";",
		"Check with rspamadm configtest. rspamd reloads a changed map file by itself.")
	for _, p := range w.merged {
		w.printf("%s\n", p)
	}
	return nil
}

// EximHostsPath is where the exim header tells the admin to save the list.
const EximHostsPath = "/etc/exim4/mimecast.hosts"

func writeExim(w *writer) error {
	w.header("#",
		"Exim host list: save as "+EximHostsPath+" (one network a line). Main configuration:",
		"  hostlist mimecast_hosts = "+EximHostsPath,
		"  acl_smtp_connect = acl_check_mimecast",
		"ACL section (after begin acl); if acl_smtp_connect is already set, put the rules first in that ACL:",
		"  acl_check_mimecast:",
		"    accept hosts = <; 127.0.0.1 ; ::1",
		"    accept hosts = +mimecast_hosts",
		"    deny   message = $sender_host_address is not a Mimecast gateway",
		"While the file is unreadable Exim drops the connection unanswered (senders retry later).",
		"Test with exim -bh ADDRESS.",
		"Skip Exim's spf ACL condition for +mimecast_hosts: it would check Mimecast's address.")
	for _, p := range w.merged {
		w.printf("%s\n", p)
	}
	return nil
}

// HAProxyPath is where the haproxy header tells the admin to save the list.
const HAProxyPath = "/etc/haproxy/mimecast.lst"

func writeHAProxy(w *writer) error {
	w.header("#",
		"HAProxy ACL file: save as "+HAProxyPath+" (one network a line). In the SMTP frontend:",
		"  frontend smtp_in",
		"      mode tcp",
		"      bind :25",
		"      tcp-request connection reject unless { src -f "+HAProxyPath+" }",
		"      default_backend smtp_mx",
		"  backend smtp_mx",
		"      mode tcp",
		"      server mx 127.0.0.1:2525 send-proxy-v2",
		"The MTA on 127.0.0.1:2525 must read the PROXY header (Postfix: smtpd_upstream_proxy_protocol =",
		"haproxy), or it sees every client as 127.0.0.1. Check with haproxy -c -f /etc/haproxy/haproxy.cfg.")
	for _, p := range w.merged {
		w.printf("%s\n", p)
	}
	return nil
}

// NginxPath is where the nginx header tells the admin to save the file.
const NginxPath = "/etc/nginx/mimecast-allow.conf"

func writeNginx(w *writer) error {
	w.header("#",
		"nginx stream module (Debian: libnginx-mod-stream; the mail module has no allow/deny).",
		"Save as "+NginxPath+" and include it in the server that takes SMTP:",
		"  stream {",
		"      server {",
		"          listen 25;",
		"          include "+NginxPath+";",
		"          proxy_pass 127.0.0.1:2525;",
		"          proxy_protocol on;",
		"      }",
		"  }",
		"The MTA on 127.0.0.1:2525 must read the PROXY header (Postfix: smtpd_upstream_proxy_protocol =",
		"haproxy), or it sees every client as 127.0.0.1. Check with nginx -t. The final deny all",
		"refuses every other address.")
	for _, p := range w.merged {
		w.printf("allow %s;\n", p)
	}
	w.printf("deny all;\n")
	return nil
}

func writePolicydSPF(w *writer) error {
	w.header("#",
		"postfix-policyd-spf-python: put this line into /etc/postfix-policyd-spf-python/policyd-spf.conf",
		"(it replaces any Whitelist line; add your own relays to it, comma separated). SPF is then",
		"not checked against Mimecast's address, which is never in the sender's SPF record.")
	ps := make([]string, len(w.merged))
	for i, p := range w.merged {
		ps[i] = p.String()
	}
	w.printf("Whitelist = %s\n", strings.Join(ps, ","))
	return nil
}

// nftPorts is ports as nft writes them: "25", or "{ 25, 389 }".
func nftPorts(ports []int) string {
	if len(ports) == 1 {
		return strconv.Itoa(ports[0])
	}
	s := make([]string, len(ports))
	for i, p := range ports {
		s[i] = strconv.Itoa(p)
	}
	return "{ " + strings.Join(s, ", ") + " }"
}

// xtablesPorts is the iptables match for ports: "--dport 25", or
// "-m multiport --dports 25,389".
func xtablesPorts(ports []int) string {
	if len(ports) == 1 {
		return "--dport " + strconv.Itoa(ports[0])
	}
	s := make([]string, len(ports))
	for i, p := range ports {
		s[i] = strconv.Itoa(p)
	}
	return "-m multiport --dports " + strings.Join(s, ",")
}

func writeFirewalld(w *writer) error {
	v4, v6 := split(w.merged)
	if len(v6) > 0 {
		w.o.Warn("firewalld: %d IPv6 prefixes left out (the ipset is family inet)", len(v6))
	}
	set := w.o.Name + "4"
	var h strings.Builder
	hw := &writer{w: &h, f: w.f, rs: w.rs, o: w.o, merged: w.merged}
	lines := []string{
		fmt.Sprintf("firewalld ipset (IPv4): save as /etc/firewalld/ipsets/%s.xml, then let only the", set),
		"ranges reach the ports (firewall-offline-cmd writes the permanent configuration):",
	}
	for _, p := range w.o.Ports {
		lines = append(lines, fmt.Sprintf(`  firewall-offline-cmd --zone=public --add-rich-rule='rule family="ipv4" source ipset="%s" port port="%d" protocol="tcp" accept'`, set, p))
	}
	lines = append(lines,
		"  firewall-offline-cmd --zone=public --remove-service-from-zone=smtp",
		"  firewall-offline-cmd --check-config",
		"With firewalld running, firewall-cmd --reload applies it. Remove any other rule that opens the ports.")
	if len(v6) > 0 {
		lines = append(lines, fmt.Sprintf("%d IPv6 prefixes left out: the ipset is family inet.", len(v6)))
	}
	hw.header("", lines...)
	if hw.err != nil {
		return hw.err
	}
	var desc strings.Builder
	for _, l := range strings.Split(strings.TrimRight(h.String(), "\n"), "\n") {
		desc.WriteString("\n    " + strings.TrimPrefix(l, " "))
	}
	// No XML declaration: the document is UTF-8 without one, and a
	// version number would read as an address to audit.
	w.printf("<ipset type=\"hash:net\">\n")
	w.printf("  <short>%s</short>\n  <description>%s\n  </description>\n", xmlText(set), xmlText(desc.String()))
	w.printf("  <option name=\"family\" value=\"inet\"/>\n")
	w.printf("  <option name=\"maxelem\" value=\"%d\"/>\n", maxElem(len(v4)))
	for _, p := range v4 {
		w.printf("  <entry>%s</entry>\n", p)
	}
	w.printf("</ipset>\n")
	return nil
}

func maxElem(k int) int {
	m := 1024
	for m < 2*k {
		m *= 2
	}
	return m
}

// xmlText escapes s for XML element text.
func xmlText(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
