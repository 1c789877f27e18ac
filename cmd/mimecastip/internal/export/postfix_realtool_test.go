package export

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b311f21d/go-mimecastip/cmd/mimecastip/internal/postfixtest"
)

// postfixHeaderSnippet returns the main.cf text and the master.cf -o option the
// postfix export's header shows, as an admin would paste them.
func postfixHeaderSnippet(t *testing.T, text string) (mainCF string, opt postfixtest.Option) {
	t.Helper()
	var main []string
	state := ""
	for _, l := range strings.Split(text, "\n") {
		if !strings.HasPrefix(l, "#") {
			break
		}
		l = strings.TrimPrefix(strings.TrimPrefix(l, "#"), " ")
		switch {
		case strings.HasSuffix(l, "main.cf:"):
			state = "main"
		case strings.HasPrefix(l, "master.cf"):
			state = "master"
		case state == "main" && strings.HasPrefix(l, "  "):
			main = append(main, l[2:])
		case state == "master" && strings.HasPrefix(l, "  -o "):
			name, value, ok := strings.Cut(strings.TrimPrefix(l, "  -o "), "=")
			require.True(t, ok, l)
			opt = postfixtest.Option{Name: name, Value: value}
			state = ""
		}
	}
	require.NotEmpty(t, main, text)
	require.NotEmpty(t, opt.Name, text)
	return strings.Join(main, "\n") + "\n", opt
}

// TestPostfixHeaderSnippet proves the postfix export's header in a real
// Postfix: the main.cf and master.cf lines as printed (naming the file
// written), on the port-25 listener only. Mimecast clients and mynetworks
// pass, others are rejected (by the table's catch-all with --reject, by
// the snippet's final reject without), a Mimecast client cannot relay
// even with no smtpd_relay_restrictions, and submission is untouched.
func TestPostfixHeaderSnippet(t *testing.T) {
	postfixtest.Require(t)
	// Not t.TempDir: smtpd reads the table as user postfix.
	dir, err := os.MkdirTemp("", "mimecast-cidr-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	require.NoError(t, os.Chmod(dir, 0o755))

	plainPath, rejectPath := filepath.Join(dir, "mimecast.cidr"), filepath.Join(dir, "mimecast-reject.cidr")
	plain, _ := export(t, "postfix", mustSet("us"), Options{Path: plainPath})
	withReject, _ := export(t, "postfix", mustSet("us"), Options{Path: rejectPath, Reject: "554 5.7.1 Not a Mimecast relay"})
	require.NoError(t, os.WriteFile(plainPath, []byte(plain), 0o644))
	require.NoError(t, os.WriteFile(rejectPath, []byte(withReject), 0o644))

	main1, opt1 := postfixHeaderSnippet(t, plain)
	main2, opt2 := postfixHeaderSnippet(t, withReject)
	assert.Contains(t, main1, "cidr:"+plainPath)
	// The second table's snippet under a parameter name of its own.
	main2 = strings.ReplaceAll(main2, "mimecast_recipient_restrictions", "mimecast2_recipient_restrictions")
	opt2.Value = strings.ReplaceAll(opt2.Value, "mimecast_recipient_restrictions", "mimecast2_recipient_restrictions")
	noRelay := postfixtest.Option{Name: "smtpd_relay_restrictions", Value: ""}

	pf := postfixtest.Start(t, postfixtest.Config{
		Main: main1 + main2 + "mynetworks = 203.0.113.0/24\n",
		Listeners: []postfixtest.Listener{
			{Name: "smtp", Options: []postfixtest.Option{opt1}},
			{Name: "smtpreject", Options: []postfixtest.Option{opt2}},
			{Name: "smtpnorelay", Options: []postfixtest.Option{opt1, noRelay}},
			{Name: "submission"},
		},
	})
	rcpt := func(listener, addr, to string) postfixtest.Reply {
		t.Helper()
		return pf.Swaks(listener, postfixtest.SwaksOptions{XClientAddr: addr, To: to}).Rcpt
	}
	for _, l := range []string{"smtp", "smtpreject", "smtpnorelay"} {
		assert.Equal(t, 250, rcpt(l, "170.10.128.5", "").Code, "%s: a US gateway passes", l)
		assert.Equal(t, 250, rcpt(l, "207.211.30.45", "").Code, "%s: a US non-SPF relay passes", l)
		assert.Equal(t, 250, rcpt(l, "203.0.113.5", "").Code, "%s: mynetworks pass", l)
		r := rcpt(l, "198.51.100.9", "")
		assert.Equal(t, 554, r.Code, "%s: a foreign client is rejected: %s", l, r.Text)
		r = rcpt(l, "IPV6:2001:db8::5", "")
		assert.Equal(t, 554, r.Code, "%s: a foreign IPv6 client is rejected: %s", l, r.Text)
		assert.Equal(t, 554, rcpt(l, "185.58.85.9", "").Code, "%s: an EU gateway is foreign to a US lockdown", l)
	}
	assert.Contains(t, rcpt("smtpreject", "198.51.100.9", "").Text, "Not a Mimecast relay", "the --reject action answers")
	r := rcpt("smtpnorelay", "170.10.128.5", "u@elsewhere.test")
	assert.Equal(t, 554, r.Code, "a Mimecast client cannot relay: reject_unauth_destination comes before OK: %s", r.Text)
	assert.Contains(t, r.Text, "Relay access denied")
	assert.Equal(t, 250, rcpt("submission", "198.51.100.9", "").Code, "submission is not locked down")
	log := pf.Maillog()
	assert.NotContains(t, log, "fatal:")
	assert.NotContains(t, log, "warning: cidr", "Postfix skipped a rule of the table")
	assert.Empty(t, grepWarn(log), "Postfix warned about the snippet or the table")
}

// grepWarn returns the maillog's warnings, but for the test's own
// mynetworks override.
func grepWarn(s string) []string {
	var o []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, "warning") && !strings.Contains(l, "overriding earlier entry: mynetworks=") {
			o = append(o, l)
		}
	}
	return o
}

// TestREADMEPostfixSnippet: the README's export section shows the lines
// TestPostfixHeaderSnippet runs in Postfix, unchanged.
func TestREADMEPostfixSnippet(t *testing.T) {
	b, err := os.ReadFile("../../../../README.md")
	require.NoError(t, err)
	readme := string(b)
	i := strings.Index(readme, "(a test runs these lines in a real Postfix):")
	require.Positive(t, i, "the README's export section lost its Postfix snippet")
	block := readme[i:]
	block = block[strings.Index(block, "```\n")+4:]
	block = block[:strings.Index(block, "```")]
	text, _ := export(t, "postfix", mustSet("us"), Options{})
	mainCF, opt := postfixHeaderSnippet(t, text)
	assert.Contains(t, block, mainCF, "main.cf lines")
	assert.Contains(t, block, "  -o "+opt.Name+"="+opt.Value+"\n", "master.cf line")
}
