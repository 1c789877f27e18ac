package testenv

import (
	"os"
	"testing"
)

// Executable returns the first of paths that is an executable file, and
// skips (or, in CI, fails) the test when none is: for tools that .ci/run
// unpacks into a directory instead of installing (exim4 conflicts with
// postfix). Empty paths are ignored, so an unset environment variable can
// be passed first.
func Executable(t testing.TB, what string, paths ...string) string {
	t.Helper()
	for _, p := range paths {
		if p == "" {
			continue
		}
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode().Perm()&0o111 != 0 {
			return p
		}
	}
	skipOrFail(t, "%s not found at %v (run .ci/run, which unpacks it)", what, paths)
	return ""
}
