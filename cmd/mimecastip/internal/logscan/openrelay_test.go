package logscan

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b311f21d/go-mimecastip/mimecastip"
)

// relayLog: a Postfix relay whose deliveries through Mimecast's US
// outbound gateway are refused with "451 Open relay not allowed" (the
// reply Mimecast documents for a sender that is not an authorized
// outbound address), one accepted delivery, and an inbound session.
const relayLog = `Nov 22 07:14:45 relay1 postfix/smtpd[200]: connect from app.example.com[10.0.0.20]
Nov 22 07:14:45 relay1 postfix/smtpd[200]: 6A7B8C9D0E: client=app.example.com[10.0.0.20]
Nov 22 07:14:46 relay1 postfix/smtp[201]: 6A7B8C9D0E: to=<bob@other.example>, relay=us-smtp-o365-outbound-1.mimecast.com[205.139.110.20]:25, delay=0.6, delays=0.1/0/0.3/0.2, dsn=4.0.0, status=deferred (host us-smtp-o365-outbound-1.mimecast.com[205.139.110.20] said: 451 Open relay not allowed - https://community.mimecast.com/docs/DOC-1369#451 [aBcDeFgHiJkLmNoPqRsTuV.us123] (in reply to RCPT TO command))
Nov 22 07:14:50 relay2 postfix/smtp[301]: 7B8C9D0E1F: to=<carol@other.example>, relay=us-smtp-o365-outbound-1.mimecast.com[205.139.110.21]:25, delay=0.4, delays=0.1/0/0.2/0.1, dsn=2.0.0, status=sent (250 Ok)
Nov 22 07:15:46 relay1 postfix/smtp[202]: 6A7B8C9D0E: to=<bob@other.example>, relay=us-smtp-o365-outbound-1.mimecast.com[205.139.110.21]:25, delay=60, delays=59/0/0.3/0.2, dsn=4.0.0, status=deferred (host us-smtp-o365-outbound-1.mimecast.com[205.139.110.21] said: 451 Open relay not allowed - https://community.mimecast.com/docs/DOC-1369#451 [zYxWvUtSrQpOnMlKjIhGfE.us123] (in reply to RCPT TO command))
Nov 22 07:16:00 relay1 postfix/smtpd[203]: NOQUEUE: reject: RCPT from x.example[192.0.2.10]: 554 5.7.1 Open relay not allowed here
`

func TestOpenRelay(t *testing.T) {
	s := &Scanner{Classifier: mimecastip.Default(), Want: allClasses, OpenRelay: true}
	var got []string
	require.NoError(t, s.Scan(strings.NewReader(relayLog), func(l *Line) error {
		require.Len(t, l.Matches, 1)
		got = append(got, string(SyslogHost(l.Text))+" "+l.Matches[0].Addr.String()+" "+l.Results[0].Class.String())
		return nil
	}))
	assert.Equal(t, []string{"relay1 205.139.110.20 mimecast", "relay1 205.139.110.21 mimecast"}, got,
		"only the smtp lines refused with Open relay not allowed; not smtpd lines quoting the text")
}
