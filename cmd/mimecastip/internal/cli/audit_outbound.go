package cli

import (
	"encoding/json"
	"fmt"

	"github.com/seed-b311f21d/go-mimecastip/cmd/mimecastip/internal/audit"
)

// auditOutbound runs audit --outbound: it checks an authorized-outbound
// list (see audit.CheckOutbound).
func auditOutbound(env *Env, path string, jsonOut bool, data string) int {
	d, err := loadDataset(data)
	if err != nil {
		errorf(env, "audit", "%v", err)
		return ExitUsage
	}
	r, err := openInput(env, path)
	if err != nil {
		errorf(env, "audit", "%v", err)
		return ExitUsage
	}
	rep, err := audit.CheckOutbound(r, d)
	r.Close()
	name := path
	if path == "-" {
		name = "(standard input)"
	}
	if err != nil {
		errorf(env, "audit", "%s: %v", name, err)
		return ExitUsage
	}
	if len(rep.Entries) == 0 {
		errorf(env, "audit", "%s: no authorized outbound address found", name)
		return ExitUsage
	}
	if jsonOut {
		out := struct {
			File string `json:"file"`
			*audit.OutboundReport
		}{name, rep}
		b, err := json.MarshalIndent(out, "", "  ")
		if err != nil {
			errorf(env, "audit", "%v", err)
			return ExitUsage
		}
		fmt.Fprintf(env.Stdout, "%s\n", b)
	} else if err := rep.WriteText(env.Stdout, name); err != nil {
		errorf(env, "audit", "writing output: %v", err)
		return ExitUsage
	}
	if !rep.OK {
		return ExitFinding
	}
	return ExitOK
}
