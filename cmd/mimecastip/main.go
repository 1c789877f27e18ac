// Command mimecastip classifies addresses as Mimecast, Mimecast non-SPF
// relay or foreign, scans logs, exports allowlists in the formats mail
// systems and firewalls take, audits existing allowlists, serves Postfix
// policy requests and checks the data against Mimecast's SPF records.
//
//	mimecastip lookup 170.10.128.5 8.8.8.8            classify addresses
//	mimecastip scan --class foreign --region us LOG   lines with addresses of a class
//	mimecastip export --format nftables --region eu   an allowlist (plain, postfix, postscreen,
//	                                                  nftables, ipset, iptables, ip6tables, m365,
//	                                                  exchange, spf, json, csv)
//	mimecastip audit --region us allowlist.txt        what an allowlist misses or lets through
//	mimecastip regions                                regions, account codes, SPF includes, ports
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
