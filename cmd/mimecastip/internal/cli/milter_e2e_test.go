package cli

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/seed-b311f21d/go-mimecastip/cmd/mimecastip/internal/postfixtest"
)

// runningMilter is "mimecastip milter" run in-process by cli.Main.
type runningMilter = runningService

// startMilter runs Main("milter", args...) in a goroutine, waits until
// it listens on 127.0.0.1:port, and stops it with TERM in t.Cleanup
// (asserting exit status 0).
func startMilter(t *testing.T, port int, args ...string) *runningMilter {
	t.Helper()
	args = append([]string{"milter", "--listen", fmt.Sprintf("inet:127.0.0.1:%d", port)}, args...)
	return startService(t, args, "tcp", fmt.Sprintf("127.0.0.1:%d", port))
}

var swaksReply = regexp.MustCompile(`^\s*<(?:-|\*\*)\s+([2-5][0-9][0-9])[ -](.*)$`)

// firstRefusal returns the first 4xx or 5xx reply of a swaks transcript
// after the XCLIENT (or PROXY) greeting, or 0 when every command passed.
func firstRefusal(transcript string) (int, string) {
	for _, l := range strings.Split(transcript, "\n") {
		if m := swaksReply.FindStringSubmatch(l); m != nil {
			code, _ := strconv.Atoi(m[1])
			if code >= 400 {
				return code, m[2]
			}
		}
	}
	return 0, ""
}

// TestMilterWithRealPostfix runs a sandboxed Postfix whose smtpd
// listeners use "mimecastip milter" (--region us, enforce and tag mode)
// and a dead milter through smtpd_milters with milter_default_action =
// tempfail, and drives them with swaks: a Mimecast client's mail is
// accepted, a foreign client's is refused, a dead milter gives 4xx.
func TestMilterWithRealPostfix(t *testing.T) {
	postfixtest.Require(t)
	pEnf, pTag, dead := freePort(t), freePort(t), freePort(t)
	enf := startMilter(t, pEnf, "--region", "us", "--log-level", "debug")
	startMilter(t, pTag, "--region", "us", "--tag")

	// The sandbox's readiness probe and swaks connect from 127.0.0.1, and
	// a connect-time milter reject makes Postfix answer 554 in the
	// greeting, before XCLIENT. smtpd_milter_maps (Postfix >= 3.2)
	// exempts the loopback client; after XCLIENT or a PROXY header, the
	// real client's address gets the milter.
	milters := func(port int) []postfixtest.Option {
		return []postfixtest.Option{{Name: "smtpd_milters", Value: fmt.Sprintf("inet:127.0.0.1:%d", port)},
			{Name: "smtpd_milter_maps", Value: "cidr:${config_directory}/milter-exempt.cidr"}}
	}
	pf := postfixtest.Start(t, postfixtest.Config{
		Files: map[string]string{"hold.cidr": "0.0.0.0/0 HOLD\n::/0 HOLD\n", "milter-exempt.cidr": "127.0.0.1/32 DISABLE\n"},
		Main:  "milter_default_action = tempfail\nmilter_protocol = 6\nmilter_connect_timeout = 10s\n",
		Listeners: []postfixtest.Listener{
			{Name: "milter", Options: milters(pEnf)},
			{Name: "proxy", Options: append(milters(pEnf), postfixtest.Option{Name: "smtpd_upstream_proxy_protocol", Value: "haproxy"})},
			{Name: "dead", Options: milters(dead)},
			{Name: "tag", Options: append(milters(pTag),
				postfixtest.Option{Name: "smtpd_recipient_restrictions", Value: "reject_unauth_destination, check_client_access cidr:${config_directory}/hold.cidr"})},
		},
	})
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("maillog:\n%s", pf.Maillog())
		}
	})

	const (
		mimecastUS = "170.10.129.124"
		nonSPF     = "207.211.30.44"
		foreign    = "8.8.8.8"
		za         = "41.74.201.132"
	)
	t.Run("xclient", func(t *testing.T) {
		for _, c := range []struct {
			listener, client string
			want             int // 0: accepted (250 to the end of DATA); else the refusal's class
			text             string
		}{
			{"milter", mimecastUS, 0, ""},
			{"milter", nonSPF, 0, ""},
			{"milter", "IPV6:::ffff:" + mimecastUS, 0, ""},
			{"milter", foreign, 5, "5.7.1 8.8.8.8 is not a Mimecast gateway for this domain"},
			{"milter", "IPV6:2001:db8::5", 5, "2001:db8::5 is not a Mimecast gateway"},
			{"milter", za, 4, "4.7.1 41.74.201.132 is in Mimecast range 41.74.200.0/23 (za)"},
			{"dead", mimecastUS, 4, ""},
			{"dead", foreign, 4, ""},
		} {
			t.Run(c.listener+"/"+c.client, func(t *testing.T) {
				t.Parallel()
				s := pf.Swaks(c.listener, postfixtest.SwaksOptions{XClientAddr: c.client, FullMessage: true})
				code, text := firstRefusal(s.Transcript)
				// A permanent milter reject at connect makes Postfix
				// answer the XCLIENT (the new connection) with a generic
				// "554 ... not accepting connections"; the milter's own
				// reply is in the maillog.
				if code/100 == 5 {
					// syslog may write the line a moment after the
					// reply: wait for it (parallel subtests raced it).
					want := "milter-reject: XCLIENT from unknown[" + strings.TrimPrefix(c.client, "IPV6:") + "]"
					lines := ""
					for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
						if lines = grepLines(pf.Maillog(), want); lines != "" || time.Now().After(deadline) {
							break
						}
					}
					text += "\n" + lines
				}
				switch {
				case c.want == 0 && (code != 0 || s.Data.Code != 250):
					t.Errorf("client %s: refused %d %q (end of DATA %d), want accepted\n%s", c.client, code, text, s.Data.Code, s.Transcript)
				case c.want != 0 && (code/100 != c.want || !strings.Contains(text, c.text)):
					t.Errorf("client %s: first refusal %d %q, want %dxx with %q\n%s", c.client, code, text, c.want, c.text, s.Transcript)
				}
			})
		}
	})
	if !strings.Contains(enf.stderr.String(), "client_address=8.8.8.8") {
		t.Errorf("milter log lacks the decision for 8.8.8.8:\n%s", enf.stderr)
	}

	// Behind a load balancer: Postfix takes the client from the PROXY
	// header before the milter's connect event.
	t.Run("proxy", func(t *testing.T) {
		for _, c := range []struct {
			src  string
			want int
		}{{mimecastUS, 0}, {foreign, 5}, {za, 4}} {
			s := pf.Swaks("proxy", postfixtest.SwaksOptions{FullMessage: true, Extra: []string{"--proxy-version", "2",
				"--proxy-family", "AF_INET", "--proxy-source", c.src, "--proxy-source-port", "40000",
				"--proxy-dest", "127.0.0.1", "--proxy-dest-port", "25"}})
			code, text := firstRefusal(s.Transcript)
			if code/100 != c.want {
				t.Errorf("PROXY %s: first refusal %d %q, want class %d\n%s", c.src, code, text, c.want, s.Transcript)
			}
		}
	})

	// Tag mode: nobody is refused for the address; the held message's
	// first X-Mimecastip-Trace header is ours, the sender's is deleted.
	t.Run("tag", func(t *testing.T) {
		want := map[string]string{
			mimecastUS: "X-Mimecastip-Trace: mimecast; address=170.10.129.124; class=mimecast; regions=us; prefix=170.10.129.0/24; decision=pass",
			foreign:    "X-Mimecastip-Trace: forged; address=8.8.8.8; class=foreign; regions=; prefix=; decision=reject",
			za:         "X-Mimecastip-Trace: other-region; address=41.74.201.132; class=foreign; regions=za; prefix=41.74.200.0/23; decision=tempfail",
		}
		for _, client := range []string{mimecastUS, foreign, za} {
			before := map[string]bool{}
			for _, id := range pf.Held() {
				before[id] = true
			}
			s := pf.Swaks("tag", postfixtest.SwaksOptions{XClientAddr: client, FullMessage: true,
				Extra: []string{"--add-header", "X-Mimecastip-Trace: mimecast; forged by the sender", "--add-header", "X-Mimecast-Spam-Score: 0"}})
			if s.Rcpt.Code != 250 || s.Data.Code != 250 {
				t.Fatalf("client %s: RCPT %d, end of DATA %d %q, want 250\n%s", client, s.Rcpt.Code, s.Data.Code, s.Data.Text, s.Transcript)
			}
			var id string
			for end := time.Now().Add(10 * time.Second); id == "" && time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
				for _, h := range pf.Held() {
					if !before[h] {
						id = h
					}
				}
			}
			if id == "" {
				t.Fatalf("client %s: no held message", client)
			}
			hdrs := pf.Headers(id)
			var ours []string
			for _, l := range strings.Split(hdrs, "\n") {
				if strings.HasPrefix(strings.ToLower(l), "x-mimecastip-trace:") {
					ours = append(ours, l)
				}
			}
			if len(ours) != 1 || !strings.HasPrefix(ours[0], want[client]) {
				t.Errorf("client %s: X-Mimecastip-Trace headers %q, want one starting %q:\n%s", client, ours, want[client], hdrs)
			}
			if !strings.Contains(hdrs, "X-Mimecast-Spam-Score: 0") {
				t.Errorf("client %s: the sender's other headers must stay:\n%s", client, hdrs)
			}
		}
	})

	// SIGHUP reloads; the milter keeps answering.
	t.Run("reload", func(t *testing.T) {
		before := strings.Count(enf.stderr.String(), "msg=reloaded")
		enf.sigs <- "HUP"
		deadline := time.Now().Add(5 * time.Second)
		for strings.Count(enf.stderr.String(), "msg=reloaded") == before {
			if time.Now().After(deadline) {
				t.Fatal("no reload logged")
			}
			time.Sleep(10 * time.Millisecond)
		}
		for client, want := range map[string]int{mimecastUS: 0, foreign: 5} {
			s := pf.Swaks("milter", postfixtest.SwaksOptions{XClientAddr: client})
			if code, text := firstRefusal(s.Transcript); code/100 != want {
				t.Errorf("after reload, client %s: refusal %d %q, want class %d", client, code, text, want)
			}
		}
	})
}
