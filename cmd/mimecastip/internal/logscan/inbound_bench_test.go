package logscan

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/seed-b311f21d/go-mimecastip/cmd/mimecastip/internal/logscan/logtest"
)

// genLines returns n generated Postfix log lines, each with its newline.
func genLines(tb testing.TB, n int) [][]byte {
	tb.Helper()
	var log bytes.Buffer
	hits := []netipPrefix{}
	for _, r := range mailPrefixes() {
		hits = append(hits, r.Prefix)
	}
	require.NoError(tb, logtest.Write(&log, n, 3, hits))
	return bytes.SplitAfter(bytes.TrimSuffix(log.Bytes(), nl), nl)
}

// fixtureLines returns the lines of the syslog and Exchange fixtures (not
// the Microsoft 365 ones, which need their header), each with its newline.
func fixtureLines(tb testing.TB) [][]byte {
	tb.Helper()
	var out [][]byte
	for _, name := range []string{"postfix.log", "exim.log", "sendmail.log", "exchange-tracking.log", "exchange-receive.log"} {
		b, err := os.ReadFile(filepath.Join("testdata", "inbound", name))
		require.NoError(tb, err)
		out = append(out, bytes.SplitAfter(bytes.TrimSuffix(b, nl), nl)...)
	}
	return out
}

// otherLines are lines of a mail server's syslog that no format reads
// (other programs, a <PRI> prefix), as many as generated Postfix lines in
// a real log.
var otherLines = []string{
	"Nov 22 07:14:45 mx dovecot[123]: imap-login: Login: user=<a@b.example>, method=PLAIN, rip=192.0.2.4, lip=198.51.100.8, mpid=123, TLS, session=<abcdefgh>",
	"Nov 22 07:14:45 mx amavis[123]: (12345-01) Passed CLEAN {RelayedInbound}, [192.0.2.4]:1234 [192.0.2.4] <a@b.example> -> <c@d.example>, Queue-ID: ABC123, Message-ID: <x@y>, mail_id: z, Hits: -1, size: 1234, queued_as: DEF456, 123 ms",
	"Nov 22 07:14:45 mx opendkim[123]: ABC123: DKIM verification successful",
	"Nov 22 07:14:45 mx systemd[1]: Started Session 1 of user root.",
	"<22>Nov 22 07:14:45 mx postfix/smtpd[1]: connect from x[192.0.2.4]",
	"Nov 22 07:14:45 mx CRON[999]: (root) CMD (/usr/lib/php/sessionclean)",
	"Nov 22 07:14:45 mx kernel: [12345.678] IPv4: martian source 192.0.2.4 from 198.51.100.1, on dev eth0",
}

// inboundWork is what Scanner.line1 does with Inbound for each line,
// short of classifying the client: find it, count an unread MTA line,
// and find the time stamp of a selected line.
func inboundWork(in *Inbound, lines [][]byte) (n int) {
	for _, l := range lines {
		c, ok := in.client(l)
		if !c.mine && namesMTA(l) {
			n++
		}
		if ok && c.err == "" && c.doubt == "" {
			if c.t0 < 0 {
				c.t0 = prefixLen(l)
				c.t1 = c.t0 + len(Timestamp(l[c.t0:]))
			}
			n += c.m.End + c.t1
		}
	}
	return n
}

// inboundWorkTo is inboundWork with clientTo, as Scanner.line1 could
// call it.
func inboundWorkTo(in *Inbound, lines [][]byte) (n int) {
	for _, l := range lines {
		var c client
		ok := in.clientTo(&c, l)
		if !c.mine && namesMTA(l) {
			n++
		}
		if ok && c.err == "" && c.doubt == "" {
			if c.t0 < 0 {
				c.t0 = prefixLen(l)
				c.t1 = c.t0 + len(Timestamp(l[c.t0:]))
			}
			n += c.m.End + c.t1
		}
	}
	return n
}

// oldInboundWork is inboundWork with the reference implementation of
// inbound_old_test.go.
func oldInboundWork(in *Inbound, lines [][]byte) (n int) {
	for _, l := range lines {
		c, ok := oldInboundClient(in, l)
		if !c.mine && oldNamesMTA(l) {
			n++
		}
		if ok && c.err == "" && c.doubt == "" {
			if c.t0 < 0 {
				c.t0 = oldPrefixLen(l)
				c.t1 = c.t0 + len(oldTimestamp(l[c.t0:]))
			}
			n += c.m.End + c.t1
		}
	}
	return n
}

// BenchmarkInbound measures the per-line work of "scan --inbound" (format
// detection, client extraction, time stamp) without reading or
// classifying, on generated Postfix lines (100000 of them, and 2000, which
// stay in the cache as a chunk of the Scanner does), on the fixtures of
// every format and on lines of no format (otherLines); impl=old is the reference implementation, for a
// ratio in the same run (benchstat -col /impl); impl=newTo calls
// clientTo, as Scanner.line1 could.
func BenchmarkInbound(b *testing.B) {
	gen := genLines(b, 100000)
	small := make([][]byte, 2000)
	for i := range small {
		small[i] = bytes.Clone(gen[i])
	}
	var other [][]byte
	for i := range 2000 {
		other = append(other, []byte(otherLines[i*5%len(otherLines)]+"\n"))
	}
	for _, set := range []struct {
		name  string
		lines [][]byte
	}{{"gen100k", gen}, {"gen2k", small}, {"fixtures", fixtureLines(b)}, {"other", other}} {
		var size int64
		for _, l := range set.lines {
			size += int64(len(l))
		}
		in := &Inbound{}
		require.NoError(b, in.Validate())
		b.Run("set="+set.name+"/impl=new", func(b *testing.B) {
			b.SetBytes(size)
			for b.Loop() {
				inboundWork(in, set.lines)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(set.lines)), "ns/line")
		})
		b.Run("set="+set.name+"/impl=newTo", func(b *testing.B) {
			b.SetBytes(size)
			for b.Loop() {
				inboundWorkTo(in, set.lines)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(set.lines)), "ns/line")
		})
		b.Run("set="+set.name+"/impl=old", func(b *testing.B) {
			b.SetBytes(size)
			for b.Loop() {
				oldInboundWork(in, set.lines)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(set.lines)), "ns/line")
		})
	}
}
