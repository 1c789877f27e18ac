package cli

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/seed-b311f21d/go-mimecastip/internal/testenv"
)

// maddyEnv names a maddy binary. maddy is not in Debian and its module
// has replace directives, so "go install ...@v0.8.1" refuses it; .ci/run
// builds it from the module cache.
const maddyEnv = "MIMECASTIP_MADDY"

func requireMaddy(t *testing.T) string {
	t.Helper()
	bin := os.Getenv(maddyEnv)
	if bin == "" {
		if testenv.InCI() {
			t.Fatalf("CI=true but %s is not set (.ci/run builds maddy v0.8.1)", maddyEnv)
		}
		t.Skipf("%s is not set: build github.com/foxcpp/maddy@v0.8.1 ./cmd/maddy and point it at the binary", maddyEnv)
	}
	testenv.RequireCommands(t, bin, "swaks")
	return bin
}

// maddyCheck is the README's maddy check block with the port filled in.
func maddyCheck(port int) string {
	return fmt.Sprintf("    check {\n        milter tcp://127.0.0.1:%d\n    }\n", port)
}

// startMaddy runs maddy with an SMTP endpoint on 127.0.0.1:port behind
// the PROXY protocol (trusting 127.0.0.1), the given check block, and
// delivery to the dummy target.
func startMaddy(t *testing.T, bin string, port int, check string) {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{"state", "run"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	conf := fmt.Sprintf("state_dir %[1]s/state\nruntime_dir %[1]s/run\nhostname mx.example.test\ntls off\nlog stderr\n\n"+
		"smtp tcp://127.0.0.1:%[2]d {\n    proxy_protocol {\n        trust 127.0.0.1\n    }\n%[3]s    deliver_to dummy\n}\n", dir, port, check)
	path := filepath.Join(dir, "maddy.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	log := &lockedBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "-config", path, "run")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cancel()
		<-done
		if t.Failed() {
			t.Logf("maddy log:\n%s", log)
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-done:
			t.Fatalf("maddy exited:\n%s\n%s", log, conf)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("maddy not listening on %d: %v\n%s", port, err, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func swaksProxied(t *testing.T, port int, src string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, "swaks", "--server", "127.0.0.1", "--port", strconv.Itoa(port),
		"--from", "a@sender.test", "--to", "u@example.test", "--helo", "client.example.net", "--timeout", "30",
		"--hide-informational", "--proxy-version", "2", "--proxy-family", "AF_INET", "--proxy-source", src,
		"--proxy-source-port", "40000", "--proxy-dest", "127.0.0.1", "--proxy-dest-port", "25").CombinedOutput()
	return string(out)
}

// TestMilterWithRealMaddy runs maddy v0.8.1 with the README's check
// block behind the PROXY protocol: a Mimecast source's mail is queued,
// 8.8.8.8 is refused with 550, another region's gateway with 451. With
// the milter down, maddy 0.8.1 answers 554 (a permanent failure, despite
// fail_open false): the README warns about it, and this test notices
// when maddy changes.
func TestMilterWithRealMaddy(t *testing.T) {
	bin := requireMaddy(t)
	pEnf, dead := freePort(t), freePort(t)
	startMilter(t, pEnf, "--region", "us")
	mEnf, mDead := freePort(t), freePort(t)
	startMaddy(t, bin, mEnf, maddyCheck(pEnf))
	startMaddy(t, bin, mDead, maddyCheck(dead))

	for _, c := range []struct {
		src, text string
		want      int
	}{
		{"170.10.129.124", "", 0},
		{"207.211.30.44", "", 0},
		{"8.8.8.8", "550 5.7.1", 5},
		{"41.74.201.132", "451 ", 4},
	} {
		out := swaksProxied(t, mEnf, c.src)
		code, text := firstRefusal(out)
		if code/100 != c.want || !strings.Contains(fmt.Sprint(code)+" "+text, c.text) {
			t.Errorf("maddy, PROXY source %s: first refusal %d %q, want class %d with %q\n%s", c.src, code, text, c.want, c.text, out)
		}
		if c.want == 0 && !strings.Contains(out, "250 2.0.0 OK: queued") {
			t.Errorf("maddy, PROXY source %s: not queued\n%s", c.src, out)
		}
	}
	out := swaksProxied(t, mDead, "170.10.129.124")
	if code, text := firstRefusal(out); code != 554 || !strings.Contains(text, "Internal server error") {
		t.Errorf("maddy with the milter down: first refusal %d %q; the README says 554 Internal server error\n%s", code, text, out)
	}
}
