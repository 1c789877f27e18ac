package postfixtest

import "testing"

func TestParseSwaks(t *testing.T) {
	const out = `=== Trying 127.0.0.1:2525...
=== Connected to 127.0.0.1.
<-  220 mx.example.test ESMTP postfixtest
 -> EHLO client.example.net
<-  250-mx.example.test
<-  250-XCLIENT NAME ADDR PROTO HELO REVERSE_NAME PORT LOGIN DESTADDR DESTPORT
<-  250 SMTPUTF8
 -> XCLIENT ADDR=IPV6:2001:db8::5 NAME=[UNAVAILABLE] REVERSE_NAME=[UNAVAILABLE]
<-  220 mx.example.test ESMTP postfixtest
 -> EHLO client.example.net
<-  250-mx.example.test
<-  250 SMTPUTF8
 -> MAIL FROM:<a@sender.test>
<-  250 2.1.0 Ok
 -> RCPT TO:<u@example.test>
<** 554 5.7.1 <u@example.test>: Recipient address rejected: 2001:db8::5 is not a Mimecast gateway for this domain
 -> QUIT
<-  221 2.0.0 Bye
=== Connection closed with remote host.
`
	s := parseSwaks(out)
	if s.XClient.Code != 220 {
		t.Errorf("XCLIENT %+v", s.XClient)
	}
	if s.Rcpt.Code != 554 || s.Rcpt.Text != "554 5.7.1 <u@example.test>: Recipient address rejected: 2001:db8::5 is not a Mimecast gateway for this domain" {
		t.Errorf("RCPT %+v", s.Rcpt)
	}
	if s.Data.Code != 0 {
		t.Errorf("DATA %+v", s.Data)
	}
	s = parseSwaks(" -> RCPT TO:<u@example.test>\n<-  250 2.1.5 Ok\n -> DATA\n<-  354 End data with <CR><LF>.<CR><LF>\n -> .\n<-  250 2.0.0 Ok: queued as 1234ABC\n")
	if s.Rcpt.Code != 250 || s.Data.Code != 250 || s.Data.Text != "250 2.0.0 Ok: queued as 1234ABC" {
		t.Errorf("%+v", s)
	}
}
