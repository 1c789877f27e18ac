package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"

	"github.com/seed-b311f21d/go-mimecastip/cmd/mimecastip/internal/logscan"
	"github.com/seed-b311f21d/go-mimecastip/mimecastip"
	"github.com/seed-b311f21d/go-mimecastip/regions"
)

type addrJSON struct {
	Address   string      `json:"address"`
	Class     string      `json:"class"`
	Regions   regions.Set `json:"regions"`
	Service   string      `json:"service,omitempty"`
	Prefix    string      `json:"prefix,omitempty"`
	Count     int         `json:"count"`
	Lines     int         `json:"lines"`
	FirstSeen string      `json:"first_seen"`
	LastSeen  string      `json:"last_seen"`
	Sample    struct {
		File string `json:"file"`
		Line int    `json:"line"`
		Text string `json:"text"`
	} `json:"sample"`
}

// writeAddresses prints the distinct-address table: the class is the one
// the scan selected by (with --region, other regions' gateways are
// foreign); the regions are those that publish the address in the whole
// dataset (all), so a foreign row with regions is another region's
// Mimecast gateway.
func writeAddresses(w io.Writer, t *logscan.Addresses, all *mimecastip.Classifier, asJSON bool) {
	rows := t.Sorted()
	if asJSON {
		out := struct {
			Addresses []addrJSON `json:"addresses"`
			Distinct  int        `json:"distinct"`
		}{Addresses: []addrJSON{}, Distinct: len(rows)}
		for _, st := range rows {
			a := addrJSON{Address: st.Addr.String(), Class: st.Result.Class.String(),
				Count: st.Count, Lines: st.Lines, FirstSeen: st.First, LastSeen: st.Last}
			if r := all.Lookup(st.Addr); r.Prefix().IsValid() {
				a.Regions = r.Regions
				a.Service, a.Prefix = r.Service.String(), r.Prefix().String()
			}
			a.Sample.File, a.Sample.Line, a.Sample.Text = st.SampleFile, st.SampleLine, st.Sample
			out.Addresses = append(out.Addresses, a)
		}
		b, _ := json.MarshalIndent(out, "", "  ")
		fmt.Fprintf(w, "%s\n", b)
		return
	}
	if len(rows) == 0 {
		return
	}
	aw, tw := len("ADDRESS"), len("FIRST SEEN")
	for _, st := range rows {
		aw = max(aw, len(st.Addr.String()))
		tw = max(tw, len(st.First), len(st.Last))
	}
	fmt.Fprintf(w, "%-*s %-9s %-10s %8s  %-*s  %-*s  %s\n", aw, "ADDRESS", "CLASS", "REGIONS", "COUNT", tw, "FIRST SEEN", tw, "LAST SEEN", "SAMPLE")
	// the rows as the header's format would print them, without fmt (a
	// table can have a million rows)
	var b []byte
	for _, st := range rows {
		regs := "-"
		if r := all.Lookup(st.Addr); r.Prefix().IsValid() {
			regs = r.Regions.String()
		}
		b = b[:0]
		n := len(b)
		b = st.Addr.AppendTo(b)
		b = padTo(b, n+aw)
		b = append(b, ' ')
		b = padRight(b, st.Result.Class.String(), 9)
		b = append(b, ' ')
		b = padRight(b, regs, 10)
		b = append(b, ' ')
		c := strconv.Itoa(st.Count)
		for range 8 - len(c) {
			b = append(b, ' ')
		}
		b = append(b, c...)
		b = append(b, "  "...)
		b = padRight(b, dash(st.First), tw)
		b = append(b, "  "...)
		b = padRight(b, dash(st.Last), tw)
		b = append(b, "  "...)
		b = append(b, st.SampleFile...)
		b = append(b, ':')
		b = strconv.AppendInt(b, int64(st.SampleLine), 10)
		b = append(b, ": "...)
		b = append(b, st.Sample...)
		b = append(b, '\n')
		w.Write(b)
	}
}

// padRight appends s and spaces to a width of w, as fmt's %-*s.
func padRight(b []byte, s string, w int) []byte {
	n := len(b)
	b = append(b, s...)
	return padTo(b, n+w)
}

// padTo appends spaces to b up to length n.
func padTo(b []byte, n int) []byte {
	for len(b) < n {
		b = append(b, ' ')
	}
	return b
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
