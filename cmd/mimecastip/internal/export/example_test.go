package export_test

import (
	"net/netip"
	"os"
	"time"

	"github.com/seed-b311f21d/go-mimecastip/cmd/mimecastip/internal/export"
	"github.com/seed-b311f21d/go-mimecastip/mimecastip"
	"github.com/seed-b311f21d/go-mimecastip/regions"
)

// A cidr table for a test dataset, with a catch-all action.
func ExampleWrite() {
	rs := []regions.Range{{Prefix: netip.MustParsePrefix("192.0.2.0/24"), Regions: regions.SetOf(regions.US), Service: regions.Gateway}}
	f, _ := export.Lookup("postfix")
	err := export.Write(os.Stdout, f, rs, export.Options{
		Version: "test", Regions: regions.SetOf(regions.US), Classes: []mimecastip.Class{mimecastip.Mimecast},
		Reject: "554 5.7.1 Not a Mimecast relay", Now: time.Unix(0, 0),
	})
	if err != nil {
		panic(err)
	}
	// Output:
	// # mimecastip export --format postfix: dataset test, regions us, classes mimecast
	// # 1 published ranges as 1 prefixes. Not an official Mimecast product.
	// # Postfix cidr table, read directly (no postmap); first match wins; reread on postfix reload.
	// # For the public port-25 smtpd only (not submission), after permit_mynetworks and
	// # reject_unauth_destination (OK before it would make an open relay). main.cf:
	// #   mimecast_recipient_restrictions = permit_mynetworks, reject_unauth_destination,
	// #       check_client_access cidr:/etc/postfix/mimecast.cidr, reject
	// # master.cf, under the "smtp inet ... smtpd" line only:
	// #   -o smtpd_recipient_restrictions=$mimecast_recipient_restrictions
	// 192.0.2.0/24             OK
	// # everything else:
	// 0.0.0.0/0                554 5.7.1 Not a Mimecast relay
	// ::/0                     554 5.7.1 Not a Mimecast relay
}
