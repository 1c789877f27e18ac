package export

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/seed-b311f21d/go-mimecastip/internal/testenv"
)

// The connection tests run the real server (nft ruleset, HAProxy, nginx)
// in a new network namespace that has only its loopback interface, so no
// packet can leave the machine. The probe sources (a Mimecast address and
// a foreign one) are added to that loopback, and the clients bind to them
// and connect to 127.0.0.1. Client and backend are this test binary,
// re-executed with MIMECASTIP_NETNS_HELPER set.

const (
	netnsHelperEnv = "MIMECASTIP_NETNS_HELPER"
	probeBanner    = "220 probe backend"
)

// TestNetnsHelper is not a test: it is the client or backend of the
// connection tests when the binary is re-executed with
// MIMECASTIP_NETNS_HELPER set to the mode.
//
//	serve ADDR...    accept on every ADDR, write probeBanner, close
//	serve-proxy ADDR...  the same, after reading a PROXY header, whose
//	                 source follows the banner ("from=-" without one)
//	dial SRC>DST...  connect from SRC to DST and print one line per pair:
//	                 "SRC>DST banner|closed|refused|error [PROXY source]"
//	wait DST         retry until DST accepts a connection (up to 10 s)
func TestNetnsHelper(t *testing.T) {
	mode := os.Getenv(netnsHelperEnv)
	if mode == "" {
		t.Skip("helper process only")
	}
	args := strings.Fields(os.Getenv(netnsHelperEnv + "_ARGS"))
	switch mode {
	case "serve", "serve-proxy":
		for _, a := range args {
			l, err := net.Listen("tcp", a)
			if err != nil {
				fmt.Println("listen:", err)
				os.Exit(3)
			}
			go func() {
				for {
					c, err := l.Accept()
					if err != nil {
						return
					}
					go func() {
						from := "-"
						if mode == "serve-proxy" {
							from = proxySource(c)
						}
						fmt.Fprintf(c, "%s from=%s\r\n", probeBanner, from)
						time.Sleep(50 * time.Millisecond)
						c.Close()
					}()
				}
			}()
		}
		fmt.Println("serving")
		time.Sleep(2 * time.Minute) // a backend left behind ends by itself
		os.Exit(0)
	case "wait":
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			if c, err := net.DialTimeout("tcp", args[0], time.Second); err == nil {
				c.Close()
				os.Exit(0)
			}
			time.Sleep(100 * time.Millisecond)
		}
		fmt.Println("timeout waiting for", args[0])
		os.Exit(3)
	case "dial":
		for _, pair := range args {
			src, dst, _ := strings.Cut(pair, ">")
			res, from := probe(src, dst)
			fmt.Printf("%s %s %s\n", pair, res, from)
		}
		os.Exit(0)
	}
	os.Exit(2)
}

// probe connects from src to dst and says what happened, and for a
// banner the source address the backend saw in a PROXY header ("-": none).
func probe(src, dst string) (result, from string) {
	d := net.Dialer{Timeout: 3 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	c, err := d.Dial("tcp", dst)
	if err != nil {
		if strings.Contains(err.Error(), "refused") {
			return "refused", "-"
		}
		return "error", "-"
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	line, _ := bufio.NewReader(c).ReadString('\n')
	if rest, ok := strings.CutPrefix(strings.TrimSpace(line), probeBanner+" from="); ok {
		return "banner", rest
	}
	return "closed", "-"
}

// proxySource reads a PROXY protocol header (v1 or v2, TCP over IPv4)
// from the start of c and returns its source address, or "-" when the
// peer sends none within 2 s (an SMTP client waits for the banner).
func proxySource(c net.Conn) string {
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	defer c.SetReadDeadline(time.Time{})
	br := bufio.NewReader(c)
	head, err := br.Peek(12)
	if err != nil {
		return "-"
	}
	if string(head) == "\r\n\r\n\x00\r\nQUIT\n" {
		var h [16]byte
		if _, err := io.ReadFull(br, h[:]); err != nil || h[13]>>4 != 1 {
			return "bad-v2"
		}
		n := int(h[14])<<8 | int(h[15])
		body := make([]byte, n)
		if _, err := io.ReadFull(br, body); err != nil || n < 12 {
			return "bad-v2"
		}
		return netip.AddrFrom4([4]byte(body[:4])).String()
	}
	if strings.HasPrefix(string(head), "PROXY ") {
		line, _ := br.ReadString('\n')
		if f := strings.Fields(line); len(f) >= 3 {
			return f[2]
		}
		return "bad-v1"
	}
	return "-"
}

// netnsRun runs script with sh in a new network namespace whose loopback
// is up and also carries the addresses srcs. In the script, the shell
// function helper runs this binary as a helper: helper MODE "ARGS"; a
// backend is started with helper_bg serve "ADDRS" & and killed with kill.
// It returns the output and the dial results (pair -> result).
func netnsRun(t *testing.T, srcs []string, script string) (string, map[string]string) {
	t.Helper()
	testenv.RequireRoot(t)
	testenv.RequireCommands(t, "unshare", "ip")
	self, err := os.Executable()
	require.NoError(t, err)
	var b strings.Builder
	b.WriteString("set -e\nip link set lo up\n")
	for _, s := range srcs {
		b.WriteString("ip addr add " + s + "/32 dev lo\n")
	}
	fmt.Fprintf(&b, "helper() { env %s=\"$1\" %s_ARGS=\"$2\" %s -test.run='^TestNetnsHelper$'; }\n", netnsHelperEnv, netnsHelperEnv, self)
	// for "helper_bg serve ADDRS &": exec, so that $! is the helper itself
	fmt.Fprintf(&b, "helper_bg() { exec env %s=\"$1\" %s_ARGS=\"$2\" %s -test.run='^TestNetnsHelper$'; }\n", netnsHelperEnv, netnsHelperEnv, self)
	b.WriteString(script)
	out, code := inNetns(t, b.String())
	require.Equal(t, 0, code, "%s", out)
	res := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) == 3 && strings.Contains(f[0], ">") {
			res[f[0]] = f[1]
			res[f[0]+" from"] = f[2]
		}
	}
	return out, res
}
