package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b311f21d/go-mimecastip/cmd/mimecastip/internal/postfixtest"
)

// TestScanInboundRealPostfix reads the maillog of a real sandboxed
// Postfix: swaks delivers one message as a US Mimecast gateway and one as
// a foreign client (XCLIENT), and an internal client relays a message that
// Postfix's smtp client delivers to another listener (the outbound
// delivery, a relay= line). "scan --inbound" finds the two clients on
// their session lines and nothing else; the bypass report lists the
// foreign one only. A second relayed message is refused by a server that
// answers as Mimecast does a sender that is not an authorized outbound
// address: "scan --open-relay" lists the sending host.
func TestScanInboundRealPostfix(t *testing.T) {
	postfixtest.Require(t)
	relayFromLoopback := []postfixtest.Option{
		{Name: "mynetworks", Value: "127.0.0.0/8"},
		{Name: "smtpd_relay_restrictions", Value: "permit_mynetworks, reject_unauth_destination"},
	}
	sink, refuser := postfixtest.FreePort(t), postfixtest.FreePort(t)
	pf := postfixtest.Start(t, postfixtest.Config{
		Files: map[string]string{
			"transport": fmt.Sprintf("other.example smtp:[127.0.0.1]:%d\nrefused.example smtp:[127.0.0.1]:%d\n", sink, refuser),
			// what Mimecast answers a sender that is not an authorized outbound address
			"refuse": "refused.example 451 Open relay not allowed - https://community.mimecast.com/docs/DOC-1369#451 [aBcDeF.us123]\n",
		},
		Main:   "transport_maps = texthash:${config_directory}/transport\n",
		Master: "smtp unix - - n - - smtp\n",
		Listeners: []postfixtest.Listener{
			{Name: "in"},
			// an internal relay client: may relay to other.example
			{Name: "out", Options: relayFromLoopback},
			// the remote server of the outbound delivery: a host of its
			// own name (no loop), which discards what it gets
			{Name: "sink", Port: sink, Options: []postfixtest.Option{
				{Name: "myhostname", Value: "sink.example.test"},
				relayFromLoopback[0], relayFromLoopback[1],
				{Name: "content_filter", Value: "discard:"},
			}},
			// a server that refuses like Mimecast's outbound gateways
			{Name: "refuser", Port: refuser, Options: []postfixtest.Option{
				{Name: "myhostname", Value: "refuser.example.test"},
				relayFromLoopback[0], relayFromLoopback[1],
				{Name: "smtpd_recipient_restrictions", Value: "check_recipient_access texthash:${config_directory}/refuse"},
			}},
		},
	})
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("maillog:\n%s", pf.Maillog())
		}
	})
	const mimecast, foreign = "170.10.129.5", "198.51.100.9"
	for _, c := range []string{mimecast, foreign} {
		s := pf.Swaks("in", postfixtest.SwaksOptions{XClientAddr: c, FullMessage: true})
		require.Equal(t, 250, s.Data.Code, "%s: %s", c, s.Transcript)
	}
	s := pf.Swaks("out", postfixtest.SwaksOptions{To: "bob@other.example", FullMessage: true})
	require.Equal(t, 250, s.Data.Code, s.Transcript)
	s = pf.Swaks("out", postfixtest.SwaksOptions{To: "carol@refused.example", FullMessage: true})
	require.Equal(t, 250, s.Data.Code, s.Transcript)

	// wait for the outbound delivery
	var log string
	for deadline := time.Now().Add(60 * time.Second); ; {
		log = pf.Maillog()
		if strings.Contains(log, "to=<bob@other.example>, relay=127.0.0.1[127.0.0.1]") && strings.Contains(log, "status=sent") &&
			strings.Contains(log, "status=deferred (host 127.0.0.1[127.0.0.1] said: 451 4.7.1 <carol@refused.example>") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no outbound delivery in the maillog:\n%s", log)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("maillog:\n%s", log)
	path := filepath.Join(t.TempDir(), "maillog")
	require.NoError(t, os.WriteFile(path, []byte(log), 0o644))

	r := cliRun("", "scan", "--inbound", "--class", "mimecast,non-spf,foreign", "--json", path)
	require.Equal(t, ExitOK, r.code, r.stderr)
	clients := map[string]int{}
	for _, row := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		var j scanJSON
		require.NoError(t, json.Unmarshal([]byte(row), &j))
		require.Len(t, j.Addresses, 1)
		assert.Equal(t, "postfix", j.Format)
		assert.Contains(t, j.Text, "/in/smtpd[", "only the inbound listener's session lines")
		assert.NotEmpty(t, j.Time)
		clients[j.Addresses[0].Address]++
	}
	assert.Equal(t, []string{mimecast, foreign}, sortedKeys(clients)) // in string order
	assert.GreaterOrEqual(t, clients[foreign], 2, "client= and disconnect lines")

	r = cliRun("", "scan", "--inbound", "--class", "foreign", "--region", "us", "--addresses", "--json", path)
	require.Equal(t, ExitOK, r.code, r.stderr)
	var out struct{ Addresses []addrJSON }
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &out))
	require.Len(t, out.Addresses, 1)
	assert.Equal(t, foreign, out.Addresses[0].Address)
	assert.Equal(t, clients[foreign], out.Addresses[0].Count)

	// the refused delivery: Postfix's smtp client logs Mimecast's answer
	r = cliRun("", "scan", "--open-relay", "--json", path)
	require.Equal(t, ExitOK, r.code, r.stderr)
	var relays struct{ Hosts []openRelayRow }
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &relays))
	require.Len(t, relays.Hosts, 1, r.stdout)
	assert.Equal(t, "mx", relays.Hosts[0].Host)
	assert.GreaterOrEqual(t, relays.Hosts[0].Count, 1)
	assert.Equal(t, []gatewayJSON{{Address: "127.0.0.1", Class: "foreign"}}, relays.Hosts[0].Gateways)
	assert.Contains(t, relays.Hosts[0].Sample.Text, "postfix/smtp[")
	assert.Contains(t, relays.Hosts[0].Sample.Text, "to=<carol@refused.example>")

	// the relay= line is there, and a plain scan selects it
	r = cliRun("", "scan", "--class", "foreign", path)
	assert.Contains(t, r.stdout, "postfix/smtp[")
}

func sortedKeys(m map[string]int) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}
