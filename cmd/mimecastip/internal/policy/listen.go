package policy

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"strings"
	"syscall"
	"time"
)

// ParseListen splits a listen address into a network ("tcp" or "unix")
// and an address. The syntax follows Postfix's check_policy_service:
//
//	inet:127.0.0.1:10040, inet:[::1]:10040   TCP (also tcp:HOST:PORT)
//	127.0.0.1:10040, [::1]:10040, :10040    TCP (host:port as net.Listen takes it)
//	unix:/var/spool/postfix/private/mimecastip   a unix socket
//	/run/mimecastip/policy.sock, ./policy.sock   a unix socket (any value with a "/")
func ParseListen(s string) (network, addr string, err error) {
	switch {
	case strings.HasPrefix(s, "unix:"):
		network, addr = "unix", s[len("unix:"):]
	case strings.HasPrefix(s, "inet:"):
		network, addr = "tcp", s[len("inet:"):]
	case strings.HasPrefix(s, "tcp:"):
		network, addr = "tcp", s[len("tcp:"):]
	case strings.Contains(s, "/"):
		network, addr = "unix", s
	default:
		network, addr = "tcp", s
	}
	if addr == "" {
		return "", "", fmt.Errorf("listen address %q: empty address", s)
	}
	if network == "unix" && strings.HasPrefix(addr, "@") {
		// A Linux abstract socket has no file and no permission bits:
		// any local user could ask, whatever --socket-mode says.
		return "", "", fmt.Errorf("listen address %q: abstract unix sockets have no permissions (anyone on the host could ask); use a socket path", s)
	}
	if network == "tcp" {
		if _, port, err := net.SplitHostPort(addr); err != nil || port == "" {
			return "", "", fmt.Errorf("listen address %q: want HOST:PORT, inet:HOST:PORT or unix:/PATH", s)
		}
	}
	return network, addr, nil
}

// Listen opens a listener for a ParseListen address. For a unix socket it
// removes a stale socket file first (one nobody answers on), refuses to
// replace a live socket or a file that is not a socket, sets the socket's
// permission bits to mode (Postfix's smtpd runs as user postfix and needs
// write access), and removes the socket when the listener closes.
func Listen(s string, mode os.FileMode) (net.Listener, error) {
	network, addr, err := ParseListen(s)
	if err != nil {
		return nil, err
	}
	if network == "tcp" {
		return net.Listen("tcp", addr)
	}
	if fi, err := os.Lstat(addr); err == nil {
		if fi.Mode().Type() != fs.ModeSocket {
			return nil, fmt.Errorf("listen %s: file exists and is not a socket", addr)
		}
		c, err := net.DialTimeout("unix", addr, time.Second)
		if err == nil {
			c.Close()
			return nil, fmt.Errorf("listen %s: another server is listening on this socket", addr)
		}
		if !errors.Is(err, syscall.ECONNREFUSED) && !errors.Is(err, syscall.ENOENT) {
			return nil, fmt.Errorf("listen %s: cannot tell whether the existing socket is stale: %w", addr, err)
		}
		if err := os.Remove(addr); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("listen %s: removing stale socket: %w", addr, err)
		}
	}
	l, err := net.Listen("unix", addr)
	if err != nil {
		return nil, err
	}
	if mode != 0 {
		if err := os.Chmod(addr, mode); err != nil {
			l.Close()
			return nil, fmt.Errorf("listen %s: %w", addr, err)
		}
	}
	return l, nil
}
