package logscan_test

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"strings"

	"github.com/seed-b311f21d/go-mimecastip/cmd/mimecastip/internal/logscan"
	"github.com/seed-b311f21d/go-mimecastip/mimecastip"
)

const exampleLog = `Nov 22 07:14:45 mx postfix/smtpd[101]: connect from mail.foreign.example[8.8.8.8]
Nov 22 07:14:47 mx postfix/smtpd[102]: connect from us-smtp-inbound-1.mimecast.com[170.10.129.124]
Nov 22 07:14:49 mx postfix/smtp[103]: 3A1B2C3D4E: to=<bob@other.example>, relay=mx.other.example[203.0.113.5]:25, status=sent (250 2.0.0 Ok)
`

// The inbound clients that are not Mimecast: the relay= address of the
// outbound delivery is not a client.
func ExampleInbound() {
	s := &logscan.Scanner{
		Classifier: mimecastip.Default(),
		Want:       logscan.MaskOf(mimecastip.Foreign),
		Inbound:    &logscan.Inbound{},
	}
	_ = s.Scan(strings.NewReader(exampleLog), func(l *logscan.Line) error {
		fmt.Println(l.Num, l.Format, l.Matches[0].Addr, string(l.Time))
		return nil
	})
	// Output:
	// 1 postfix 8.8.8.8 Nov 22 07:14:45
}

// Rotated logs are read whatever their compression.
func ExampleDecompress() {
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	w.Write([]byte(exampleLog))
	w.Close()
	r, format, err := logscan.Decompress(&gz)
	if err != nil {
		panic(err)
	}
	defer r.Close()
	var c logscan.Counter
	s := &logscan.Scanner{Classifier: mimecastip.Default(), Want: logscan.MaskOf(mimecastip.Mimecast)}
	c.Want = s.Want
	if err := s.Scan(r, func(l *logscan.Line) error { c.Add(l); return nil }); err != nil {
		panic(err)
	}
	fmt.Println(format, c.Lines, c.Distinct)
	// Output:
	// gzip 1 1
}
