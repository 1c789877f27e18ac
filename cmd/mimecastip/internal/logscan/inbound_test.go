package logscan

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b311f21d/go-mimecastip/mimecastip"
)

const allClasses = 1<<mimecastip.Mimecast | 1<<mimecastip.NonSPF | 1<<mimecastip.Foreign

type hit struct {
	Line   int
	Addr   string
	Format string
}

func inboundHits(t *testing.T, in *Inbound, data []byte) []hit {
	t.Helper()
	s := &Scanner{Classifier: mimecastip.Default(), Want: allClasses, Inbound: in, MaxLine: 4096}
	var out []hit
	require.NoError(t, s.Scan(bytes.NewReader(data), func(l *Line) error {
		require.Len(t, l.Matches, 1)
		out = append(out, hit{l.Num, l.Matches[0].Addr.String(), l.Format})
		return nil
	}))
	return out
}

func fixture(t *testing.T, name string) []byte {
	b, err := os.ReadFile(filepath.Join("testdata", "inbound", name))
	require.NoError(t, err)
	return b
}

// TestInboundFixtures: in each format's fixture (lines written in the
// MTA's documented log format, with outbound deliveries, loopback
// content-filter hops, authenticated submission, HELO literals and the
// server's own addresses around them), the inbound clients are found on
// their session lines, and nothing else is.
func TestInboundFixtures(t *testing.T) {
	const c, v6 = "192.0.2.10", "2001:db8::10"
	for _, tc := range []struct {
		file, format string
		lines        []int
		addrs        []string
		authLines    []int // more lines with Auth
	}{
		{"postfix.log", "postfix", []int{1, 2, 3, 4, 7, 17, 18, 19, 22, 23, 24, 25, 26, 29, 30, 31, 32, 33, 36, 37}, []string{c, c, c, c, c, c, c, v6, c, c, c, c, c, c, c, v6, c, c, c, v6}, []int{14, 15, 16, 28}},
		{"exim.log", "exim", []int{1, 2, 5, 10, 11, 13, 14, 15, 16, 17, 20, 21, 22, 23, 24}, []string{c, c, c, c, v6, c, c, c, c, c, c, c, c, v6, c}, []int{6}},
		{"sendmail.log", "sendmail", []int{1, 3, 6, 8, 9, 10, 11, 12}, []string{c, c, v6, c, c, c, v6, c}, nil},
		{"exchange-tracking.log", "exchange-tracking", []int{6, 10}, []string{c, v6}, nil},
		{"exchange-receive.log", "exchange-receive", []int{6, 7, 8, 9, 10, 14}, []string{c, c, c, c, c, v6}, nil},
		{"m365-trace.csv", "m365-trace", []int{3, 5}, []string{c, v6}, nil},
		{"m365-summary.csv", "m365-trace", []int{2, 4}, []string{c, v6}, nil},
	} {
		data := fixture(t, tc.file)
		var want []hit
		for i, n := range tc.lines {
			want = append(want, hit{n, tc.addrs[i], tc.format})
		}
		assert.Equal(t, want, inboundHits(t, &Inbound{}, data), tc.file)
		bom := append([]byte("\xEF\xBB\xBF"), data...)
		assert.Equal(t, want, inboundHits(t, &Inbound{}, bom), "%s with a UTF-8 byte-order mark", tc.file)
		assert.Equal(t, want, inboundHits(t, &Inbound{Format: tc.format}, data), "%s forced", tc.file)

		// the fixture has other addresses that plain scanning finds
		other := 0
		for _, m := range Find(nil, data) {
			if a := m.Addr.String(); a != c && a != v6 {
				other++
			}
		}
		assert.NotZero(t, other, "%s: distractors", tc.file)

		got := inboundHits(t, &Inbound{Auth: true}, data)
		var lines []int
		for _, h := range got {
			lines = append(lines, h.Line)
		}
		wantLines := append(append([]int{}, tc.lines...), tc.authLines...)
		assert.ElementsMatch(t, wantLines, lines, "%s with Auth", tc.file)

		// a format forced on another format's file finds nothing
		for _, f := range Formats() {
			if f.Name != tc.format {
				assert.Empty(t, inboundHits(t, &Inbound{Format: f.Name}, data), "%s read as %s", tc.file, f.Name)
			}
		}
	}
}

// TestInboundMixed: the format is detected per line, so a syslog file
// holding Postfix, Sendmail and Exim lines is read whole.
func TestInboundMixed(t *testing.T) {
	var mixed bytes.Buffer
	for _, f := range []string{"postfix.log", "sendmail.log", "exim.log"} {
		mixed.Write(fixture(t, f))
	}
	byFormat := map[string]int{}
	for _, h := range inboundHits(t, &Inbound{}, mixed.Bytes()) {
		byFormat[h.Format]++
	}
	assert.Equal(t, map[string]int{"postfix": 20, "sendmail": 8, "exim": 15}, byFormat)
}

// TestInboundStats: the Scanner counts the lines of a known format, so
// that a log of an unknown format is not taken for one without bypasses.
func TestInboundStats(t *testing.T) {
	for _, name := range []string{"postfix.log", "exim.log", "m365-trace.csv"} {
		data := fixture(t, name)
		s := &Scanner{Classifier: mimecastip.Default(), Want: allClasses, Inbound: &Inbound{}}
		require.NoError(t, s.Scan(bytes.NewReader(data), func(*Line) error { return nil }))
		n := bytes.Count(data, []byte{'\n'})
		assert.Equal(t, Stats{Lines: n, Recognized: n}, s.Stats(), name)
	}
	s := &Scanner{Classifier: mimecastip.Default(), Want: allClasses, Inbound: &Inbound{}}
	qmail := "@400000006384f7b2 new msg 12345\n@400000006384f7b2 info msg 12345: bytes 1834 from <a@example.net> qp 999 uid 89\n"
	err := s.Scan(strings.NewReader(qmail+strings.Repeat("x", 3*MaxLineLength)), func(*Line) error { return nil })
	assert.ErrorIs(t, err, ErrLineTooLong)
	assert.Equal(t, Stats{Lines: 3, Recognized: 0}, s.Stats(), "a skipped line counts as read")
}

func TestInboundFormatsTable(t *testing.T) {
	seen := map[string]bool{}
	for _, f := range Formats() {
		assert.False(t, seen[f.Name], f.Name)
		seen[f.Name] = true
		assert.NotEmpty(t, f.Title)
		assert.NotEmpty(t, f.Lines)
		// each row's example is an inbound line of that format whose client is 192.0.2.10
		in := &Inbound{Format: f.Name}
		data := []byte(f.Example + "\n")
		if f.Name == "m365-trace" {
			data = []byte(`"Received","SenderAddress","RecipientAddress","Subject","Status","ToIP","FromIP","Size"` + "\n" + f.Example + "\n")
		}
		h := inboundHits(t, in, data)
		if assert.Len(t, h, 1, f.Name) {
			assert.Equal(t, "192.0.2.10", h[0].Addr, f.Name)
		}
	}
	assert.Error(t, (&Inbound{Format: "qmail"}).Validate())
	assert.NoError(t, (&Inbound{Format: "auto"}).Validate())
}

func TestInboundBadExchangeHeader(t *testing.T) {
	data := "#Fields: date-time,server-ip,client-ip,event-id\n2026-11-22T07:14:45.123Z,10.0.0.5,192.0.2.10,RECEIVE\n"
	s := &Scanner{Classifier: mimecastip.Default(), Want: allClasses, Inbound: &Inbound{}}
	err := s.Scan(strings.NewReader(data), func(*Line) error { return nil })
	var le *LineError
	require.ErrorAs(t, err, &le)
	assert.Equal(t, 1, le.Line)
	assert.Contains(t, err.Error(), "unsupported #Fields layout")
}

// FuzzInbound: the parsers take any bytes without panicking or
// reading out of range, and never select a loopback client.
func FuzzInbound(f *testing.F) {
	for _, name := range []string{"postfix.log", "exim.log", "sendmail.log", "exchange-tracking.log", "exchange-receive.log"} {
		b, err := os.ReadFile(filepath.Join("testdata", "inbound", name))
		if err != nil {
			f.Fatal(err)
		}
		for _, l := range strings.Split(string(b), "\n") {
			f.Add(l)
		}
	}
	in := &Inbound{}
	_ = in.Validate()
	f.Fuzz(func(t *testing.T, line string) {
		c, ok := in.client([]byte(line))
		if ok && c.err == "" && c.doubt == "" {
			if c.m.Start < 0 || c.m.End > len(line) || c.m.Start >= c.m.End || !c.m.Addr.IsValid() || c.m.Addr.IsLoopback() {
				t.Fatalf("client(%q) = %+v", line, c)
			}
		}
	})
}

// TestInboundSendmailCraftedRelay: a sender address that imitates the
// relay= field cannot pass a foreign client off as a Mimecast gateway:
// the line is reported as in doubt, and selects nothing.
func TestInboundSendmailCraftedRelay(t *testing.T) {
	line := `Nov 22 07:14:45 mx sm-mta[4242]: 5AM7EjXa004242: from=<"x, relay=us-smtp-inbound-1.mimecast.com [170.10.129.124]"@evil.example>, size=1834, class=0, nrcpts=1, msgid=<1@evil.example>, proto=ESMTP, daemon=MTA-v4, relay=evil.example [192.0.2.66]` + "\n"
	s := &Scanner{Classifier: mimecastip.Default(), Want: allClasses, Inbound: &Inbound{}}
	var doubts []int
	s.Doubt = func(num int, msg string) {
		doubts = append(doubts, num)
		assert.Contains(t, msg, "several relay= fields")
	}
	n := 0
	require.NoError(t, s.Scan(strings.NewReader(string(fixture(t, "sendmail.log"))+line), func(*Line) error { n++; return nil }))
	assert.Equal(t, 8, n, "the fixture's lines are still selected")
	assert.Equal(t, []int{14}, doubts)

	s.Doubt = nil
	err := s.Scan(strings.NewReader(line), func(*Line) error { return nil })
	var le *LineError
	require.ErrorAs(t, err, &le)
	assert.Equal(t, 1, le.Line)
}

// TestInboundEximCraftedSender: a quoted sender holding " H=" or " A="
// neither stands in for the client nor passes it off as authenticated.
func TestInboundEximCraftedSender(t *testing.T) {
	s := &Scanner{Classifier: mimecastip.Default(), Want: allClasses, Inbound: &Inbound{}}
	var doubts []int
	s.Doubt = func(num int, _ string) { doubts = append(doubts, num) }
	in := `2026-11-22 07:14:46 1vBxyz-000Abc-7Q <= "x H=us-smtp-inbound-1.mimecast.com [170.10.129.124]:25"@evil.example H=evil.example [192.0.2.66]:52344 P=esmtp S=1834
2026-11-22 07:14:47 1vBxyz-000Abd-7R <= "x A=plain:bob"@evil.example H=evil.example [192.0.2.66]:52345 P=esmtp S=1834
2026-11-22 07:14:48 1vBxyz-000Abe-7S <= "x A=plain:bob"@evil.example H=evil.example [192.0.2.67]:52346 P=esmtp A=plain:x S=1834
`
	var got []string
	require.NoError(t, s.Scan(strings.NewReader(in), func(l *Line) error {
		got = append(got, l.Matches[0].Addr.String())
		return nil
	}))
	assert.Equal(t, []string{"192.0.2.66"}, got, "line 2: an A= in the sender is not an authentication")
	assert.Equal(t, []int{1, 3}, doubts)
}

// TestInboundTruncatedLog: a log truncated by logrotate's copytruncate
// while smtpd kept writing at its old offset starts with a run of zero
// bytes; the line after them is still a Postfix line, its client counted
// with its time stamp (it was unrecognised: a foreign client dropped).
func TestInboundTruncatedLog(t *testing.T) {
	data := strings.Repeat("\x00", 5000) + "Nov 22 07:14:45 mx postfix/smtpd[1]: connect from x[8.8.8.8]\n" +
		"\xEF\xBB\xBFNov 22 07:14:46 mx postfix/smtpd[1]: connect from x[8.8.4.4]\n"
	s := &Scanner{Classifier: mimecastip.Default(), Want: allClasses, Inbound: &Inbound{}}
	var got []string
	require.NoError(t, s.Scan(strings.NewReader(data), func(l *Line) error {
		got = append(got, l.Matches[0].Addr.String()+" "+string(l.Time)+" "+string(l.Text[l.Matches[0].Start:l.Matches[0].End]))
		return nil
	}))
	assert.Equal(t, []string{"8.8.8.8 Nov 22 07:14:45 8.8.8.8", "8.8.4.4 Nov 22 07:14:46 8.8.4.4"}, got)
	assert.Equal(t, 2, s.Stats().Recognized)
}

// TestInboundUnreadableClient: a session line of a known format whose
// client field is not an address (a NUL byte, a leading zero, an octet
// over 255, a line cut inside the brackets) is reported as in doubt: it
// was silently skipped, so a corrupted line of a foreign client looked
// clean. Postfix's "unknown[unknown]" and an empty CSV field (an outbound
// row) hold no client and are no doubt.
func TestInboundUnreadableClient(t *testing.T) {
	doubt := []string{
		"Nov 22 07:14:45 mx postfix/smtpd[1]: connect from x[8.8.8.8\x00]",
		"Nov 22 07:14:45 mx postfix/smtpd[1]: connect from x[010.1.1.1]",
		"Nov 22 07:14:45 mx postfix/smtpd[1]: connect from x[8.8.8",
		"Nov 22 07:14:45 mx postfix/postscreen[1]: CONNECT from [8.8.8.300]:4321 to [10.0.0.1]:25",
		"2026-11-22 07:14:45 1vBxyz-000Abc-7Q <= a@example.net H=(helo) [8.8.8.8x]:25 P=esmtp S=1",
		"Nov 22 07:14:45 mx sm-mta[1]: 5AM7EjXa004242: from=<a@example.net>, size=1, relay=x [8.8.8.1.1]",
		"2026-11-22T07:14:45.123Z,8.8.8.8x,mail.example.net,10.0.0.5,EXCH01,x,EXCH01\\Default Frontend EXCH01,SMTP,RECEIVE,1234,<1@example.net>",
		"2026-11-22T07:14:45.123Z,EXCH01\\Default Frontend EXCH01,08DE2A1B3C4D5E6F,0,10.0.0.5:25,8.8.8.8.8:52344,+,,",
	}
	none := []string{
		"Nov 22 07:14:45 mx postfix/smtpd[1]: lost connection after CONNECT from unknown[unknown]",
		"Nov 22 07:14:45 mx postfix/smtpd[1]: connect from x[8.8.8.8]",
	}
	s := &Scanner{Classifier: mimecastip.Default(), Want: allClasses, Inbound: &Inbound{}}
	for _, line := range doubt {
		var doubts []string
		s.Doubt = func(_ int, msg string) { doubts = append(doubts, msg) }
		n := 0
		require.NoError(t, s.Scan(strings.NewReader(line+"\n"), func(*Line) error { n++; return nil }))
		assert.Equal(t, 0, n, line)
		if assert.Len(t, doubts, 1, line) {
			assert.Contains(t, doubts[0], "is not an address", line)
		}
	}
	for _, line := range none {
		s.Doubt = func(_ int, msg string) { t.Errorf("%q: %s", line, msg) }
		require.NoError(t, s.Scan(strings.NewReader(line+"\n"), func(*Line) error { return nil }))
	}

	csv := "\"Received\",\"FromIP\"\n\"11/22/2026 7:14:45 AM\",\"1.2.3\"\n\"11/22/2026 7:14:46 AM\",\"\"\n\"Received\",\"FromIP\"\n\"11/22/2026 7:14:47 AM\",\"8.8.8.8\"\n"
	var lines []int
	s.Doubt = func(n int, _ string) { lines = append(lines, n) }
	var got []string
	require.NoError(t, s.Scan(strings.NewReader(csv), func(l *Line) error { got = append(got, l.Matches[0].Addr.String()); return nil }))
	assert.Equal(t, []int{2}, lines)
	assert.Equal(t, []string{"8.8.8.8"}, got)
}

// TestInboundSyslogLayouts: the Postfix connect line is read in the
// layouts of rsyslog (RFC 3164, high-precision RFC 3339), syslog-ng and
// journalctl's -o short, short-iso, short-iso-precise, short-precise and
// short-full, with multi-instance and service names; short-precise and
// short-full lines were not recognised at all.
func TestInboundSyslogLayouts(t *testing.T) {
	const msg = " mx postfix-in/smtpd[4242]: connect from mail.example.net[8.8.8.8]"
	for ts, key := range map[string]int8{
		"Dec  1 12:00:00":                  3,
		"Dec 01 12:00:00":                  3,
		"Dec 01 12:00:00.123456":           3,
		"2026-12-01T12:00:00+0000":         1,
		"2026-12-01T12:00:00+00:00":        1,
		"2026-12-01T12:00:00.123456+00:00": 1,
		"2026-12-01T12:00:00.123456Z":      1,
		"Tue 2026-12-01 12:00:00 UTC":      2,
		"Tue 2026-12-01 12:00:00.123 CET":  2,
	} {
		s := &Scanner{Classifier: mimecastip.Default(), Want: allClasses, Inbound: &Inbound{}}
		var got []string
		require.NoError(t, s.Scan(strings.NewReader(ts+msg+"\n"), func(l *Line) error {
			got = append(got, l.Matches[0].Addr.String()+" "+string(l.Time))
			return nil
		}))
		assert.Equal(t, []string{"8.8.8.8 " + ts}, got, ts)
		assert.Equal(t, key, parseTimeKey(ts).kind, ts)
	}
	a, b := parseTimeKey("Dec 01 12:00:00.25"), parseTimeKey("Dec 01 12:00:00.5")
	earlier, ok := a.before(b)
	assert.True(t, earlier && ok)
}

// TestInboundM365SplitRow: a message trace row whose subject holds a line
// break (Export-Csv keeps it inside the quotes; a sender chooses the
// subject) is cut in two lines; its FromIP was dropped silently (the
// first part has too few columns) and the second part's columns were
// misread. Both parts are now in doubt; the other rows still count.
func TestInboundM365SplitRow(t *testing.T) {
	in := "\"Received\",\"SenderAddress\",\"RecipientAddress\",\"Subject\",\"Status\",\"ToIP\",\"FromIP\",\"Size\"\n" +
		"\"11/22/2026 7:14:45 AM\",\"a@example.net\",\"b@example.com\",\"hello\n" +
		"world\",\"Delivered\",\"\",\"8.8.8.8\",\"1834\"\n" +
		"\"11/22/2026 7:14:46 AM\",\"c@example.net\",\"b@example.com\",\"hi, there\",\"Delivered\",\"\",\"8.8.4.4\",\"900\"\n"
	s := &Scanner{Classifier: mimecastip.Default(), Want: allClasses, Inbound: &Inbound{}}
	var doubts []int
	s.Doubt = func(n int, msg string) { doubts = append(doubts, n); assert.Contains(t, msg, "where the header has 8") }
	var got []string
	require.NoError(t, s.Scan(strings.NewReader(in), func(l *Line) error { got = append(got, l.Matches[0].Addr.String()); return nil }))
	assert.Equal(t, []int{2, 3}, doubts)
	assert.Equal(t, []string{"8.8.4.4"}, got)
}

// TestInboundWarningWithoutHostname: a Postfix "hostname NAME does not
// resolve to address ADDR" warning with an empty NAME crashed the scan
// (a slice out of range, found by FuzzInboundSameAsOld); its address is
// read as the client, like that of the warning with a NAME.
func TestInboundWarningWithoutHostname(t *testing.T) {
	data := "Nov 22 07:15:04 mx postfix/smtpd[1018]: warning: hostname does not resolve to address 8.8.8.8\n" +
		"Nov 22 07:15:04 mx postfix/smtpd[1018]: warning: hostname  does not resolve to address 8.8.4.4: Name or service not known\n"
	assert.Equal(t, []hit{{1, "8.8.8.8", "postfix"}, {2, "8.8.4.4", "postfix"}}, inboundHits(t, &Inbound{}, []byte(data)))
}
