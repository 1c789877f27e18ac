package trace

import (
	"strings"
	"testing"
)

// heloTemplates are Received lines as real MTAs write them for a client
// at 198.51.100.1; %s is the client's HELO (EHLO) name, the one part the
// client chooses.
var heloTemplates = []string{
	"from %s (unknown [198.51.100.1]) by mx.example.com (Postfix) with ESMTP id 4Qk; date",                                                           // Postfix, no reverse name
	"from %s (mail.sender.example [198.51.100.1]) (using TLSv1.3 with cipher X (256/256 bits)) by mx.example.com (Postfix) with ESMTPS id 4Qk; date", // Postfix
	"from %s (mail.sender.example [198.51.100.1] (may be forged)) by mx.example.com (8.17.1/8.17.1) with ESMTP id 1; date",                           // Sendmail
	"from %s ([198.51.100.1]) by mx.example.com (8.17.1/8.17.1) with ESMTP id 1; date",                                                               // Sendmail, no reverse name
	"from %s (198.51.100.1) by BN8NAM12FT012.mail.protection.outlook.com (10.13.182.200) with Microsoft SMTP Server id 15.20.1; date",                // Exchange
	"from unknown (HELO %s) (198.51.100.1) by mx.example.com with SMTP; date",                                                                        // qmail
	"from mail.sender.example ([198.51.100.1] helo=%s) by mx.example.com with esmtp (Exim 4.96) id 1r; date",                                         // Exim
	"from [198.51.100.1] (helo=%s) by mx.example.com with esmtp (Exim 4.96) id 1r; date",                                                             // Exim, no reverse name
	"from %s (mail.sender.example. [198.51.100.1]) by mx.google.com with ESMTPS id abc for <bob@example.com>; date",                                  // Gmail
}

// FuzzHELO: whatever HELO name the client gives, the address of a Received
// line is the one the server recorded, or none (ambiguous): never an
// address the client wrote.
func FuzzHELO(f *testing.F) {
	for _, s := range []string{"[170.10.129.124]", "170.10.129.124", "x) (y [170.10.129.124]", "x (y [170.10.129.124]) (z", "[IPv6:::ffff:170.10.129.124]",
		"x)(y[170.10.129.124])(z", "a by b (c [170.10.129.124])", "x\\) (170.10.129.124", "port=1 [170.10.129.124]", "helo=x) ([170.10.129.124]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, helo string) {
		if strings.ContainsAny(helo, "\r\n") || len(helo) > 200 {
			return
		}
		for _, tpl := range heloTemplates {
			v := strings.Replace(tpl, "%s", helo, 1)
			h := ParseReceived(v)
			if h.Addr.IsValid() && h.Addr.String() != "198.51.100.1" {
				t.Fatalf("HELO %q gave address %v in %q", helo, h.Addr, v)
			}
		}
	})
}
