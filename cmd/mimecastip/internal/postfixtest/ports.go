package postfixtest

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// Port allocation. Tests of several packages run in parallel (go test runs
// one process per package), each starting Postfix instances and servers on
// loopback ports that are chosen before the server binds them. A port
// found free by listening on :0 and closing again is no reservation: the
// kernel may hand the same ephemeral port to another process's :0 listener
// or outgoing connection (a dial to a port in the ephemeral range that
// nobody listens on yet can even connect to itself), and another test
// process may pick it too. So FreePort
//
//   - picks ports below the kernel's ephemeral range
//     (net.ipv4.ip_local_port_range), which the kernel never assigns on
//     its own, and
//   - reserves each with an exclusive flock(2) on a file named after the
//     port in a directory shared by all test processes, held until the
//     test ends; the kernel drops the lock when the process dies, so
//     there are no stale reservations.
//
// Every cooperating test process (any using this package) therefore gets
// a port no other one holds, and the port was bindable when reserved.

// portDir is where the reservation files live.
var portDir = filepath.Join(os.TempDir(), "postfixtest-ports")

// portRange returns the range [lo, hi] to pick ports from.
func portRange() (lo, hi int) {
	elo, ehi := 32768, 60999
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			a, err1 := strconv.Atoi(f[0])
			b, err2 := strconv.Atoi(f[1])
			if err1 == nil && err2 == nil && a <= b {
				elo, ehi = a, b
			}
		}
	}
	switch {
	case elo-1 >= 12000: // below the ephemeral range
		return 10000, elo - 1
	case ehi <= 63000: // above it
		return ehi + 1, 65535
	default: // no room outside: the ephemeral range, still reserved
		return 1024, 65535
	}
}

// FreePort returns a loopback TCP port that was bindable on 127.0.0.1 and
// that no other test process using this package holds. It stays reserved
// until t ends.
func FreePort(t testing.TB) int {
	t.Helper()
	p, err := reservePort()
	if err != nil {
		t.Fatalf("postfixtest: %v", err)
	}
	t.Cleanup(func() { p.release() })
	return p.port
}

type reservation struct {
	port int
	f    *os.File
}

func (r reservation) release() { r.f.Close() }

func reservePort() (reservation, error) {
	if err := os.MkdirAll(portDir, 0o777); err != nil {
		return reservation{}, fmt.Errorf("port reservations: %v", err)
	}
	lo, hi := portRange()
	n := hi - lo + 1
	start := rand.IntN(n)
	for i := 0; i < n && i < 5000; i++ {
		port := lo + (start+i)%n
		f, err := os.OpenFile(filepath.Join(portDir, strconv.Itoa(port)), os.O_CREATE|os.O_RDWR, 0o666)
		if err != nil {
			return reservation{}, fmt.Errorf("port reservations: %v", err)
		}
		if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
			f.Close() // held by another test (process or goroutine)
			continue
		}
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			f.Close() // in use by something outside the tests
			continue
		}
		l.Close()
		return reservation{port, f}, nil
	}
	return reservation{}, fmt.Errorf("no free loopback port in %d-%d", lo, hi)
}

// ListeningHere reports whether this process holds a TCP socket listening
// on 127.0.0.1:port (or on every IPv4 address). A server that a test starts
// in-process is ready when this is true; a connection that merely succeeds
// may have reached somebody else's server on that port.
func ListeningHere(port int) (bool, error) {
	inodes, err := listenInodes(port)
	if err != nil || len(inodes) == 0 {
		return false, err
	}
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return false, err
	}
	for _, fd := range fds {
		link, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name()))
		if err != nil {
			continue
		}
		if ino, ok := strings.CutPrefix(link, "socket:["); ok && inodes[strings.TrimSuffix(ino, "]")] {
			return true, nil
		}
	}
	return false, nil
}

// listenInodes returns the socket inodes of listening TCP sockets bound
// to 127.0.0.1:port or 0.0.0.0:port, from /proc/net/tcp.
func listenInodes(port int) (map[string]bool, error) {
	f, err := os.Open("/proc/net/tcp")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	want := map[string]bool{
		fmt.Sprintf("0100007F:%04X", port): true,
		fmt.Sprintf("00000000:%04X", port): true,
	}
	inodes := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
		fl := strings.Fields(sc.Text())
		if len(fl) >= 10 && want[fl[1]] && fl[3] == "0A" {
			inodes[fl[9]] = true
		}
	}
	return inodes, sc.Err()
}
