package testenv

import (
	"net"
	"testing"
)

// RequireLoopbackSource skips (or, in CI, fails) the test unless a TCP
// socket can be bound to addr, a loopback address such as 127.0.0.2
// (Linux routes all of 127.0.0.0/8 to lo; other systems need an alias).
func RequireLoopbackSource(t testing.TB, addr string) {
	t.Helper()
	ip := net.ParseIP(addr)
	if ip == nil || !ip.IsLoopback() {
		t.Fatalf("testenv: %q is not a loopback address", addr)
	}
	l, err := net.Listen("tcp", net.JoinHostPort(addr, "0"))
	if err != nil {
		skipOrFail(t, "cannot use %s as a source address (add it to lo): %v", addr, err)
		return
	}
	l.Close()
}
