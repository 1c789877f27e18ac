package postfixtest

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// TestFreePortReserved: a port is outside the kernel's ephemeral range,
// bindable, and locked against every other taker until the test ends.
func TestFreePortReserved(t *testing.T) {
	lo, hi := portRange()
	seen := map[int]bool{}
	for range 20 {
		p := FreePort(t)
		if p < lo || p > hi {
			t.Fatalf("port %d outside %d-%d", p, lo, hi)
		}
		if seen[p] {
			t.Fatalf("port %d handed out twice", p)
		}
		seen[p] = true
		// another taker (a second open file, as another process has) is refused
		f, err := os.Open(filepath.Join(portDir, strconv.Itoa(p)))
		if err != nil {
			t.Fatal(err)
		}
		if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil {
			t.Errorf("port %d not locked", p)
		}
		f.Close()
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			t.Errorf("port %d not bindable: %v", p, err)
		} else {
			l.Close()
		}
	}
}

// TestListeningHere: true for a listener of this process, false for a
// free port and for another process's listener on the port.
func TestListeningHere(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if ok, err := ListeningHere(port); !ok || err != nil {
		t.Errorf("own listener on %d: %v %v", port, ok, err)
	}
	l.Close()
	if ok, err := ListeningHere(port); ok || err != nil {
		t.Errorf("closed listener on %d: %v %v", port, ok, err)
	}

	if _, err := exec.LookPath("perl"); err != nil {
		t.Skip("no perl for a listener in another process")
	}
	other := FreePort(t)
	cmd := exec.Command("perl", "-MIO::Socket::INET", "-e",
		`my $s = IO::Socket::INET->new(LocalAddr=>"127.0.0.1", LocalPort=>$ARGV[0], Listen=>1, ReuseAddr=>1) or die $!; sleep 60`, strconv.Itoa(other))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for deadline := time.Now().Add(20 * time.Second); ; {
		c, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(other)))
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("perl listener: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if ok, err := ListeningHere(other); ok || err != nil {
		t.Errorf("another process's listener on %d counted as ours: %v %v", other, ok, err)
	}
}

// TestStartRetriesTakenPort: when another server takes a chosen port
// after its reservation (here: this process, before master binds it),
// Start notices master's "fatal: bind" and starts again on new ports; the
// instance answers on all of them with its own banner.
func TestStartRetriesTakenPort(t *testing.T) {
	Require(t)
	var taken int
	testHookBeforeStart = func(attempt int, ports map[string]int) {
		if attempt != 1 {
			return
		}
		taken = ports["b"]
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(taken)))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
	}
	t.Cleanup(func() { testHookBeforeStart = nil })
	in := Start(t, Config{Listeners: []Listener{{Name: "a"}, {Name: "b"}}})
	if taken == 0 || in.Ports["b"] == taken {
		t.Fatalf("listener b on %d, the taken port was %d", in.Ports["b"], taken)
	}
	for _, name := range []string{"a", "b"} {
		if s := in.Swaks(name, SwaksOptions{}); s.Rcpt.Code != 250 {
			t.Errorf("listener %s: %s", name, s.Transcript)
		}
	}
}
