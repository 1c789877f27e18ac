// Command mimecastip classifies addresses as Mimecast, Mimecast non-SPF
// relay or foreign, scans logs, exports allowlists in the formats mail
// systems and firewalls take, audits existing allowlists, serves Postfix
// policy requests and checks the data against Mimecast's SPF records.
//
// Run "mimecastip help" for the subcommands.
package main

import (
	"os"

	"github.com/seed-b311f21d/go-mimecastip/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], cli.StdEnv()))
}
