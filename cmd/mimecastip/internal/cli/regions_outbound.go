package cli

import (
	"fmt"
	"slices"
	"text/tabwriter"

	"github.com/seed-b311f21d/go-mimecastip/regions"
)

// outboundJSON returns the outbound smarthosts of the regions of set, by
// region name (an empty list for a region without any).
func outboundJSON(set regions.Set) map[string][]regions.Smarthost {
	m := map[string][]regions.Smarthost{}
	for _, rg := range set.Regions() {
		m[rg.String()] = append([]regions.Smarthost{}, regions.Outbound(rg)...)
	}
	return m
}

// writeOutbound prints the outbound smarthosts of the regions of set, each
// with the number of its source, then the sources.
func writeOutbound(env *Env, set regions.Set) {
	var sources []string
	w := tabwriter.NewWriter(env.Stdout, 0, 8, 2, ' ', 0)
	fmt.Fprintf(env.Stdout, "\nOutbound smarthosts (relay: your servers' send connector; m365: a Microsoft 365 outbound connector;\nMimecast accepts mail only from the account's authorized outbound addresses or after SMTP AUTH):\n")
	for _, rg := range set.Regions() {
		for _, h := range regions.Outbound(rg) {
			i := slices.Index(sources, h.Source)
			if i < 0 {
				sources = append(sources, h.Source)
				i = len(sources) - 1
			}
			fmt.Fprintf(w, "  %s\t%s\t%s\t[%d]\n", rg, h.Use, h.Host, i+1)
		}
	}
	w.Flush()
	for i, s := range sources {
		fmt.Fprintf(env.Stdout, "  [%d] %s\n", i+1, s)
	}
}
