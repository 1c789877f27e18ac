// Package testenv lets tests that need real tools (postfix, nft, ipset,
// grepcidr, root) skip on a developer's machine that lacks them, and fail
// in CI (CI=true), where .ci/run installs them: a missing install step must
// not turn into a silently skipped test.
package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// InCI reports whether the tests run under CI (the CI variable is "true").
func InCI() bool { return os.Getenv("CI") == "true" }

func skipOrFail(t testing.TB, format string, args ...any) {
	t.Helper()
	if InCI() {
		t.Fatalf("CI=true but "+format, args...)
	}
	t.Skipf(format, args...)
}

// RequireCommands skips (or, in CI, fails) the test unless every named
// command is on PATH.
func RequireCommands(t testing.TB, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			skipOrFail(t, "%s is not installed (run .ci/run, or apt-get install it)", n)
		}
	}
}

// RequireRoot skips (or, in CI, fails) the test unless it runs as root.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		skipOrFail(t, "test needs root")
	}
}
