package export

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b311f21d/go-mimecastip/internal/testenv"
)

// The firewall exemption tests load an export into a fresh network
// namespace and connect to a listener on port 25 from loopback source
// addresses (127.0.0.2, 127.0.0.3, ::1): accepted or reset, as the
// header says. The client side runs in this test binary, re-executed
// inside the namespace (TestNetnsClientHelper), so no other tool is
// needed; all traffic stays on the namespace's loopback.

const exemptHelperEnv = "MIMECASTIP_EXEMPT_HELPER"

// TestNetnsClientHelper is not a test: run by netnsClients inside the
// namespace, it listens on 127.0.0.1:25 and [::1]:25 and prints, for each
// source address in the helper variable, "SRC accepted" or "SRC refused".
func TestNetnsClientHelper(t *testing.T) {
	srcs := os.Getenv(exemptHelperEnv)
	if srcs == "" {
		return // run as a test: nothing to do
	}
	for _, network := range []string{"tcp4", "tcp6"} {
		addr := "127.0.0.1:25"
		if network == "tcp6" {
			addr = "[::1]:25"
		}
		l, err := net.Listen(network, addr)
		if err != nil {
			fmt.Printf("LISTEN-ERROR %v\n", err)
			os.Exit(3)
		}
		defer l.Close()
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
	}
	for _, s := range strings.Split(srcs, ",") {
		src := netip.MustParseAddr(s)
		dst := "127.0.0.1:25"
		if src.Is6() {
			dst = "[::1]:25"
		}
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: src.AsSlice()}, Timeout: 3 * time.Second}
		c, err := d.Dial("tcp", dst)
		if err != nil {
			fmt.Printf("%s refused %v\n", s, err)
			continue
		}
		c.Close()
		fmt.Printf("%s accepted\n", s)
	}
	os.Exit(0)
}

// netnsClients runs setup (shell commands loading the rules) in a new
// network namespace with lo up, then the client helper; it returns each
// source's verdict.
func netnsClients(t *testing.T, setup string, srcs ...string) map[string]string {
	t.Helper()
	script := "set -e; ip link set lo up; " + setup + "; " + exemptHelperEnv + "=" + strings.Join(srcs, ",") +
		" exec " + os.Args[0] + " -test.run='^TestNetnsClientHelper$'"
	out, code := inNetns(t, script)
	require.Equal(t, 0, code, out)
	got := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) >= 2 && (f[1] == "accepted" || f[1] == "refused") {
			got[f[0]] = f[1]
		}
	}
	require.Len(t, got, len(srcs), out)
	return got
}

// headerCommand returns the command after marker in a header line.
func headerCommand(t *testing.T, text, marker string) string {
	t.Helper()
	for _, l := range strings.Split(text, "\n") {
		if i := strings.Index(l, marker); i >= 0 && strings.HasPrefix(l, "#") {
			return strings.TrimSpace(l[i+len(marker):])
		}
	}
	t.Fatalf("no %q in the header:\n%s", marker, text)
	return ""
}

func TestNftablesExemptions(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireCommands(t, "nft", "unshare", "ip")
	for _, tc := range []struct {
		name string
		o    Options
		want map[string]string
	}{
		{"default: loopback exempt", Options{}, map[string]string{"127.0.0.2": "accepted", "127.0.0.3": "accepted", "::1": "accepted"}},
		{"no loopback, --allow 127.0.0.2/32,::1", Options{NoLoopback: true, Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32"), netip.MustParsePrefix("::1/128")}},
			map[string]string{"127.0.0.2": "accepted", "127.0.0.3": "refused", "::1": "accepted"}},
		{"no loopback, no --allow", Options{NoLoopback: true}, map[string]string{"127.0.0.2": "refused", "127.0.0.3": "refused", "::1": "refused"}},
	} {
		text, _ := export(t, "nftables", mustSet("us"), tc.o)
		file := writeTemp(t, "mimecast.nft", text)
		load := headerCommand(t, text, "Load with: ")
		load = strings.Fields(load)[0] + " " + strings.Fields(load)[1] + " " + file // "nft -f FILE"
		got := netnsClients(t, load, "127.0.0.2", "127.0.0.3", "::1")
		assert.Equal(t, tc.want, got, "%s:\n%s", tc.name, text)
		if tc.o.NoLoopback {
			assert.NotContains(t, text, "127.0.0.0/8")
		} else {
			assert.Contains(t, text, "Accepted besides the ranges: loopback")
		}
	}
}

func TestXtablesExemptions(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireCommands(t, "iptables-restore", "ip6tables-restore", "iptables", "ip6tables", "unshare", "ip")
	for _, tc := range []struct {
		name string
		o    Options
		want map[string]string
	}{
		{"default: loopback exempt", Options{}, map[string]string{"127.0.0.2": "accepted", "127.0.0.3": "accepted", "::1": "accepted"}},
		{"no loopback, --allow 127.0.0.2/32,::1", Options{NoLoopback: true, Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32"), netip.MustParsePrefix("::1/128")}},
			map[string]string{"127.0.0.2": "accepted", "127.0.0.3": "refused", "::1": "accepted"}},
		{"no loopback, no --allow", Options{NoLoopback: true}, map[string]string{"127.0.0.2": "refused", "127.0.0.3": "refused", "::1": "refused"}},
	} {
		var setup []string
		for _, format := range []string{"iptables", "ip6tables"} {
			text, _ := export(t, format, mustSet("us"), tc.o)
			file := writeTemp(t, format+".rules", text)
			// The header's own two commands: restore, then the INPUT jump.
			restore := headerCommand(t, text, "Load without touching other rules: ")
			restore = strings.Replace(restore[:strings.Index(restore, " (")], "FILE", file, 1)
			setup = append(setup, restore, headerCommand(t, text, "Then send inbound SMTP through it once: "))
		}
		got := netnsClients(t, strings.Join(setup, "; "), "127.0.0.2", "127.0.0.3", "::1")
		assert.Equal(t, tc.want, got, tc.name)
	}
}

// TestIpsetHeaderCommand runs the ipset header's iptables lines as
// printed: loopback clients stay accepted.
func TestIpsetHeaderCommand(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireCommands(t, "ipset", "iptables", "ip6tables", "unshare", "ip")
	text, _ := export(t, "ipset", mustSet("us"), Options{})
	file := writeTemp(t, "mimecast.ipset", text)
	use4 := headerCommand(t, text, "Use (loopback exempt): ")
	use6 := headerCommand(t, text, "#                        ")
	require.True(t, strings.HasPrefix(use6, "ip6tables "), use6)
	got := netnsClients(t, "ipset -exist restore < "+file+"; "+use4+"; "+use6, "127.0.0.3", "::1")
	assert.Equal(t, map[string]string{"127.0.0.3": "accepted", "::1": "accepted"}, got)
	// Without the exemption the same rule resets them: the test can fail.
	got = netnsClients(t, "ipset -exist restore < "+file+"; "+strings.Replace(use4, "! -s 127.0.0.0/8 ", "", 1), "127.0.0.3")
	assert.Equal(t, map[string]string{"127.0.0.3": "refused"}, got)
}
