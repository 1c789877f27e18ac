package cli

import (
	"fmt"
	"slices"
	"text/tabwriter"
)

// writeOutbound prints the outbound smarthosts of the listed regions, each
// with the number of its source, then the sources.
func writeOutbound(env *Env, list []regionJSON) {
	var sources []string
	w := tabwriter.NewWriter(env.Stdout, 0, 8, 2, ' ', 0)
	fmt.Fprintf(env.Stdout, "\nOutbound smarthosts (relay: your servers' send connector; m365: a Microsoft 365 outbound connector;\nMimecast accepts mail only from the account's authorized outbound addresses or after SMTP AUTH):\n")
	for _, r := range list {
		for _, h := range r.Outbound {
			i := slices.Index(sources, h.Source)
			if i < 0 {
				sources = append(sources, h.Source)
				i = len(sources) - 1
			}
			fmt.Fprintf(w, "  %s\t%s\t%s\t[%d]\n", r.Region, h.Use, h.Host, i+1)
		}
	}
	w.Flush()
	for i, s := range sources {
		fmt.Fprintf(env.Stdout, "  [%d] %s\n", i+1, s)
	}
}
