package testenv

import "testing"

func TestRequireLoopbackSource(t *testing.T) {
	// 127.0.0.1 exists wherever tests run; the call must return.
	RequireLoopbackSource(t, "127.0.0.1")
}
