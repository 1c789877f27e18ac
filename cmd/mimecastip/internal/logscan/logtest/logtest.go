// Package logtest writes synthetic Postfix mail logs for the tests and
// benchmarks of the log scanner: clean lines (addresses in the forms
// Postfix writes, no edge cases) with a share of addresses drawn from given
// prefixes.
package logtest

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
)

// Write writes n log lines to w. About one address in four is drawn from
// the prefixes in hits (IPv4 only); the others are random public IPv4 and
// IPv6 addresses (which may by chance fall in hits too). The same seed
// gives the same log.
func Write(w io.Writer, n int, seed uint64, hits []netip.Prefix) error {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	var v4 []netip.Prefix
	for _, p := range hits {
		if p.Addr().Is4() {
			v4 = append(v4, p)
		}
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	months := []string{"Jan", "Feb", "Mar", "Nov", "Dec"}
	hosts := []string{"unknown", "us-smtp-delivery-1.mimecast.com", "mail.example.com", "mx2.example.net", "relay.example.org"}
	addr := func() string {
		r := rng.IntN(100)
		switch {
		case r < 25 && len(v4) > 0:
			p := v4[rng.IntN(len(v4))]
			b := p.Addr().As4()
			x := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
			x += rng.Uint32N(1 << (32 - p.Bits()))
			return netip.AddrFrom4([4]byte{byte(x >> 24), byte(x >> 16), byte(x >> 8), byte(x)}).String()
		case r < 30:
			var b [16]byte
			b[0], b[1] = 0x2a, 0x00
			for i := 2; i < 16; i++ {
				b[i] = byte(rng.Uint32())
			}
			return "IPv6:" + netip.AddrFrom16(b).String()
		default:
			return netip.AddrFrom4([4]byte{byte(1 + rng.IntN(222)), byte(rng.Uint32()), byte(rng.Uint32()), byte(1 + rng.IntN(254))}).String()
		}
	}
	qid := func() string { return fmt.Sprintf("%010X", rng.Uint64()&0xffffffffff) }
	for i := 0; i < n; i++ {
		pid := 1000 + rng.IntN(60000)
		fmt.Fprintf(bw, "%s %2d %02d:%02d:%02d mx1 ", months[rng.IntN(len(months))], 1+rng.IntN(28), rng.IntN(24), rng.IntN(60), rng.IntN(60))
		host := hosts[rng.IntN(len(hosts))]
		switch rng.IntN(7) {
		case 0:
			fmt.Fprintf(bw, "postfix/smtpd[%d]: connect from %s[%s]\n", pid, host, addr())
		case 1:
			fmt.Fprintf(bw, "postfix/smtpd[%d]: %s: client=%s[%s]\n", pid, qid(), host, addr())
		case 2:
			fmt.Fprintf(bw, "postfix/smtpd[%d]: disconnect from %s[%s] ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5\n", pid, host, addr())
		case 3:
			fmt.Fprintf(bw, "postfix/cleanup[%d]: %s: message-id=<%x@example.com>\n", pid, qid(), rng.Uint64())
		case 4:
			fmt.Fprintf(bw, "postfix/qmgr[%d]: %s: from=<user%d@example.com>, size=%d, nrcpt=1 (queue active)\n", pid, qid(), rng.IntN(1000), rng.IntN(1e6))
		case 5:
			fmt.Fprintf(bw, "postfix/smtp[%d]: %s: to=<u@example.org>, relay=%s[%s]:25, delay=0.52, delays=0.01/0/0.2/0.3, dsn=2.0.0, status=sent (250 2.0.0 OK)\n", pid, qid(), host, addr())
		default:
			fmt.Fprintf(bw, "postfix/smtpd[%d]: NOQUEUE: reject: RCPT from %s[%s]: 554 5.7.1 <u@example.org>: Relay access denied; from=<a@b.example> to=<u@example.org> proto=ESMTP helo=<%s>\n", pid, host, addr(), host)
		}
	}
	return bw.Flush()
}
