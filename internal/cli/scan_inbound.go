package cli

import (
	"flag"

	"github.com/seed-b311f21d/go-mimecastip/internal/logscan"
)

type inboundFlags struct{}

func addInboundFlags(fs *flag.FlagSet) *inboundFlags { return &inboundFlags{} }

func (f *inboundFlags) build(env *Env) (*logscan.Inbound, bool) { return nil, true }
