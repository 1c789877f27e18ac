package mimecastip_test

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// TestInlining fails when a lookup that the speed of the API rests on stops
// being inlinable: the exported lookups are one-line wrappers so that they
// inline and the caller loads only the fields of the Result it reads (see
// the README's performance section). It builds the packages with
// -gcflags=-m and reads the compiler's report, as net/netip's
// inlining_test.go does.
func TestInlining(t *testing.T) {
	mustInline := map[string][]string{
		"github.com/seed-b311f21d/go-mimecastip/mimecastip": {
			"Lookup", "LookupString", "LookupIP", "LookupNetAddr", "Default",
			"(*Classifier).Lookup", "(*Classifier).LookupString", "(*Classifier).LookupIP", "(*Classifier).LookupNetAddr",
			"(*Classifier).lookup",
			"(*Reloadable).Lookup", "(*Reloadable).LookupString", "(*Reloadable).LookupIP", "(*Reloadable).LookupNetAddr",
			"(*Reloadable).Current",
			"Result.Published", "isMapped",
		},
		"github.com/seed-b311f21d/go-mimecastip/internal/lpm": {
			"(*Table8).Slot", "(*fast4).lookup", "(*Matcher).Contains",
		},
		"github.com/seed-b311f21d/go-mimecastip/matcher": {
			"(*Matcher).Lookup", "(*Matcher).Contains",
		},
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("no go command in PATH: %v", err)
		}
		t.Skipf("no go command in PATH: %v", err)
	}
	var pkgs []string
	for p := range mustInline {
		pkgs = append(pkgs, p)
	}
	cmd := exec.Command(goBin, append([]string{"build", "-gcflags=-m"}, pkgs...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go build -gcflags=-m: %v\n%s", err, out)
	}
	// The report of each package follows a "# import/path" line; its own
	// lines look like "./mimecastip.go:307:6: can inline (*Classifier).Lookup"
	// (lines of other modules' generic code have absolute file names).
	re := regexp.MustCompile(`^[^/\s][^\s]*\.go:\d+:\d+: can inline (\S+)`)
	got := map[string]bool{}
	pkg := ""
	for _, line := range strings.Split(string(out), "\n") {
		if p, ok := strings.CutPrefix(line, "# "); ok {
			pkg = p
			continue
		}
		if m := re.FindStringSubmatch(line); m != nil {
			got[pkg+" "+m[1]] = true
		}
	}
	if len(got) == 0 {
		t.Fatalf("no inlining report in the output of go build -gcflags=-m:\n%s", out)
	}
	for pkg, fns := range mustInline {
		dir := strings.TrimPrefix(pkg, "github.com/seed-b311f21d/go-mimecastip/")
		for _, fn := range fns {
			if !got[pkg+" "+fn] {
				t.Errorf("%s.%s is no longer inlinable (go build -gcflags=-m %s)", dir, fn, pkg)
			}
		}
	}
}
