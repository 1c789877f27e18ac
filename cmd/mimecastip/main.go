// Command mimecastip classifies addresses as Mimecast, Mimecast non-SPF
// relay or foreign, scans mail logs, exports allowlists in the formats mail
// systems, spam filters and firewalls take, audits existing allowlists,
// serves the lockdown as a Postfix policy service or a milter, traces
// whether a message really came through Mimecast and checks the data
// against Mimecast's SPF records.
//
//	mimecastip lookup 170.10.128.5 8.8.8.8             classify addresses
//	mimecastip scan --inbound --class foreign --region us --addresses LOG
//	                                                   who bypasses the lockdown
//	mimecastip export --format nftables --region eu    an allowlist (see export --help)
//	mimecastip audit --region us allowlist.txt         what an allowlist misses or lets through
//	mimecastip regions                                 regions, account codes, SPF includes, ports
//	mimecastip policy --listen 127.0.0.1:10040 --region us
//	                                                   a Postfix policy service
//	mimecastip milter --listen 127.0.0.1:8899 --region us
//	                                                   a milter
//	mimecastip trace --region us message.eml           did it come through Mimecast
//	mimecastip refresh                                 drift against Mimecast's SPF records
//
// Every subcommand takes --help, reads standard input when given no file
// or address, and --data FILE for a data file instead of the embedded
// dataset. Exit status: 0 ok, 1 a finding (a foreign address, a missing
// range, no line selected by scan), 2 bad usage or input.
//
// Run "mimecastip help" for the subcommands.
package main

import (
	"os"

	"github.com/seed-b311f21d/go-mimecastip/cmd/mimecastip/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], cli.StdEnv()))
}
