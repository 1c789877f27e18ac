package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/seed-b311f21d/go-mimecastip/cmd/mimecastip/internal/logscan"
	"github.com/seed-b311f21d/go-mimecastip/mimecastip"
	"github.com/seed-b311f21d/go-mimecastip/regions"
)

const openRelayHelp = `
With --open-relay, find Postfix smtp deliveries that Mimecast refused with
"Open relay not allowed": Mimecast accepts outbound mail only from the
account's authorized outbound addresses (single public IPv4 addresses) and
temporarily fails any other sender so. One line per sending host (the
syslog host name of the refused lines) with the count, the first and last
time and the gateways that answered. Postfix does not log the address it
sends from: the address to ask Mimecast Support to add to the authorized
outbounds (Administration | Gateway | Authorized Outbounds lists them) is
the public address that host reaches Mimecast from (its smtp_bind_address
or its NAT address); a dynamic address needs SMTP authentication instead.`

// gatewayJSON is a server that refused a delivery.
type gatewayJSON struct {
	Address string      `json:"address"`
	Class   string      `json:"class"`
	Regions regions.Set `json:"regions"` // the regions that publish it
}

func (g gatewayJSON) String() string {
	if g.Regions.IsEmpty() {
		return g.Address + " (" + g.Class + ")"
	}
	return g.Address + " (" + g.Class + " " + g.Regions.String() + ")"
}

// openRelayRow is one sending host of the --open-relay report.
type openRelayRow struct {
	Host      string        `json:"host"`
	Count     int           `json:"count"`
	FirstSeen string        `json:"first_seen"`
	LastSeen  string        `json:"last_seen"`
	Gateways  []gatewayJSON `json:"gateways"` // the refusing servers, at most 16
	Sample    struct {
		File string `json:"file"`
		Line int    `json:"line"`
		Text string `json:"text"`
	} `json:"sample"`

	seen logscan.TimeRange
}

type openRelays struct {
	rows  map[string]*openRelayRow
	order []string
}

// maxOpenRelayHosts bounds the report's memory on hostile input.
const maxOpenRelayHosts = 1 << 16

func (o *openRelays) add(file string, l *logscan.Line, all *mimecastip.Classifier) error {
	host := string(logscan.SyslogHost(l.Text))
	if o.rows == nil {
		o.rows = map[string]*openRelayRow{}
	}
	r := o.rows[host]
	if r == nil {
		if len(o.rows) >= maxOpenRelayHosts {
			return logscan.ErrTooManyAddresses
		}
		r = &openRelayRow{Host: host, Gateways: []gatewayJSON{}}
		text := logscan.TrimEOL(l.Text)
		if len(text) > logscan.MaxSample {
			text = text[:logscan.MaxSample]
		}
		r.Sample.File, r.Sample.Line, r.Sample.Text = file, l.Num, string(text)
		o.rows[host] = r
		o.order = append(o.order, host)
	}
	r.Count++
	r.seen.See(string(l.Time))
	r.FirstSeen, r.LastSeen = r.seen.First, r.seen.Last
	res := all.Lookup(l.Matches[0].Addr)
	gw := gatewayJSON{Address: l.Matches[0].Addr.String(), Class: res.Class.String()}
	if res.Prefix().IsValid() {
		gw.Regions = res.Regions
	}
	known := slices.ContainsFunc(r.Gateways, func(g gatewayJSON) bool { return g.Address == gw.Address })
	if !known && len(r.Gateways) < 16 {
		r.Gateways = append(r.Gateways, gw)
	}
	return nil
}

func (o *openRelays) write(w io.Writer, asJSON bool) {
	rows := make([]*openRelayRow, 0, len(o.order))
	for _, h := range o.order {
		rows = append(rows, o.rows[h])
	}
	slices.SortStableFunc(rows, func(a, b *openRelayRow) int { return b.Count - a.Count })
	if asJSON {
		out := struct {
			Hosts []*openRelayRow `json:"hosts"`
		}{Hosts: rows}
		if out.Hosts == nil {
			out.Hosts = []*openRelayRow{}
		}
		b, _ := json.MarshalIndent(out, "", "  ")
		fmt.Fprintf(w, "%s\n", b)
		return
	}
	if len(rows) == 0 {
		return
	}
	hw, tw := len("SENDING HOST"), len("FIRST SEEN")
	for _, r := range rows {
		hw = max(hw, len(r.Host))
		tw = max(tw, len(r.FirstSeen), len(r.LastSeen))
	}
	fmt.Fprintf(w, "%-*s %8s  %-*s  %-*s  %s\n", hw, "SENDING HOST", "COUNT", tw, "FIRST SEEN", tw, "LAST SEEN", "REFUSED BY")
	for _, r := range rows {
		gws := make([]string, len(r.Gateways))
		for i, g := range r.Gateways {
			gws[i] = g.String()
		}
		fmt.Fprintf(w, "%-*s %8d  %-*s  %-*s  %s\n", hw, dash(r.Host), r.Count, tw, dash(r.FirstSeen), tw, dash(r.LastSeen), strings.Join(gws, ", "))
	}
}
