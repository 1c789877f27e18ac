package cli

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/seed-b311f21d/go-mimecastip/regions"
)

const regionsDescription = `
List Mimecast's regions (grids) with their account-code prefix, SPF
include, number of active mail ranges in the dataset, the date of the
newest evidence for them (the latest last-seen date of the region's active
rows: how old the region's data is) and application URLs,
then the protocol and port table of Mimecast's Data Centers page and the
dataset version. An account's region is named by the start of its account
code (CUSA... is us); every subcommand's --region takes either.

The outbound smarthosts of each region (where your servers relay outbound
mail, with their sources) follow the URLs.

Exit status: 0; 2 bad usage.`

type regionJSON struct {
	Region      string        `json:"region"`
	Name        string        `json:"name"`
	AccountCode string        `json:"account_code,omitempty"`
	SPFInclude  string        `json:"spf_include,omitempty"`
	MailRanges  int           `json:"mail_ranges"`
	Newest      string        `json:"newest_evidence,omitempty"` // latest LastSeen of the region's active rows
	URLs        []regions.URL `json:"urls"`
}

func cmdRegions(env *Env, args []string) int {
	fs := newFlags(env, "regions", "[--region R,...] [--json]", regionsDescription)
	jsonOut := fs.Bool("json", false, "print JSON")
	data := fs.String("data", "", dataFlagUsage)
	region := regionFlag(fs, "; default every region")
	operands, done, status := parseArgs(env, fs, args)
	if done {
		return status
	}
	if len(operands) > 0 {
		errorf(env, "regions", "unexpected argument %q (use --region)", operands[0])
		return ExitUsage
	}
	set, ok := parseRegions(env, "regions", *region)
	if !ok {
		return ExitUsage
	}
	if set.IsEmpty() {
		set = regions.AllSet()
	}
	d, err := loadDataset(*data)
	if err != nil {
		errorf(env, "regions", "%v", err)
		return ExitUsage
	}
	var list []regionJSON
	for _, rg := range set.Regions() {
		in, _ := regions.InfoOf(rg)
		n := 0
		for _, r := range d.Ranges {
			if !r.Retired && r.Service.Mail() && r.Regions.Has(rg) {
				n++
			}
		}
		urls := in.URLs
		if urls == nil {
			urls = []regions.URL{}
		}
		list = append(list, regionJSON{rg.String(), in.Name, in.AccountCode, in.SPFInclude, n, d.NewestEvidence(rg), urls})
	}
	if *jsonOut {
		out := struct {
			Version     string                         `json:"version"`
			Regions     []regionJSON                   `json:"regions"`
			Ports       []regions.Port                 `json:"ports"`
			PortsSource string                         `json:"ports_source"`
			FactsSource string                         `json:"facts_source"`
			Outbound    map[string][]regions.Smarthost `json:"outbound"`
		}{d.Version, list, regions.Ports(), regions.PortsSource(), regions.SourceOfFacts(), outboundJSON(set)}
		b, err := json.MarshalIndent(out, "", "  ")
		if err != nil {
			errorf(env, "regions", "%v", err)
			return ExitUsage
		}
		fmt.Fprintf(env.Stdout, "%s\n", b)
		return ExitOK
	}
	w := tabwriter.NewWriter(env.Stdout, 0, 8, 2, ' ', 0)
	fmt.Fprintf(w, "REGION\tNAME\tACCOUNT\tSPF INCLUDE\tMAIL RANGES\tNEWEST EVIDENCE\n")
	dash := func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	}
	for _, r := range list {
		code := r.AccountCode
		if code != "" {
			code += "..."
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\t%s\n", r.Region, r.Name, dash(code), dash(r.SPFInclude), r.MailRanges, dash(r.Newest))
	}
	w.Flush()
	fmt.Fprintf(env.Stdout, "\nURLs:\n")
	for _, r := range list {
		for _, u := range r.URLs {
			fmt.Fprintf(w, "  %s\t%s\t%s\n", r.Region, u.Name, u.URL)
		}
	}
	w.Flush()
	writeOutbound(env, set)
	fmt.Fprintf(env.Stdout, "\nPorts (%s):\n", regions.PortsSource())
	for _, p := range regions.Ports() {
		fmt.Fprintf(w, "  %s\t%d\t%s\n", p.Protocol, p.Port, dash(p.Usage))
	}
	w.Flush()
	fmt.Fprintf(env.Stdout, "\nDataset %s. Account codes and SPF includes: %s.\n", d.Version, strings.TrimSpace(regions.SourceOfFacts()))
	return ExitOK
}
