package audit_test

import (
	"fmt"
	"strings"

	"github.com/seed-b311f21d/go-mimecastip/cmd/mimecastip/internal/audit"
	"github.com/seed-b311f21d/go-mimecastip/regions"
)

// An allowlist with a foreign entry and a malformed one fails, naming
// their lines.
func ExampleAudit() {
	list := "170.10.128.0/22 OK\n8.8.8.8 OK\n300.1.1.1 OK\n"
	entries, err := audit.Parse(strings.NewReader(list))
	if err != nil {
		panic(err)
	}
	rep := audit.Audit(entries, audit.Options{Regions: regions.SetOf(regions.US)})
	for _, e := range rep.Entries {
		fmt.Println(e.Line, e.Text, e.Status)
	}
	fmt.Println("ok:", rep.OK)
	// Output:
	// 1 170.10.128.0/22 ok
	// 2 8.8.8.8 foreign
	// 3 300.1.1.1 invalid
	// ok: false
}
