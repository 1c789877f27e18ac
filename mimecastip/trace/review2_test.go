package trace

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestFromClauseClientClaims: the from name of Postfix, Sendmail and
// Exchange is the client's HELO name; the address the server recorded in
// the comment decides. A HELO literal of a Mimecast address must never
// become the boundary address.
func TestFromClauseClientClaims(t *testing.T) {
	for v, want := range map[string]struct{ addr, rdns string }{
		// Exchange / Microsoft 365: "from HELO (address)".
		"from [170.10.129.124] (198.51.100.1) by BN8NAM12FT012.mail.protection.outlook.com (10.13.182.200) with Microsoft SMTP Server (version=TLS1_2, cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) id 15.20.6064.34 via Frontend Transport; Tue, 14 Feb 2023 22:35:50 +0000": {"198.51.100.1", ""},
		"from AM6PR05MB3800.eurprd05.prod.outlook.com (2603:10a6:209:26::20) by AM6PR05MB3801.eurprd05.prod.outlook.com (2603:10a6:209:27::21) with Microsoft SMTP Server (version=TLS1_2, cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) id 15.20.1234.5; date":                {"2603:10a6:209:26::20", ""},
		// Postfix without reverse DNS, HELO literal.
		"from [170.10.129.124] (unknown [198.51.100.2]) by mx.example.com (Postfix) with ESMTP id 4Qk; date": {"198.51.100.2", ""},
		// Exim without a verified name: Exim writes the address as the name.
		"from [198.51.100.3] (port=4321 helo=[170.10.129.124]) by mx.example.com with esmtp (Exim 4.96) (envelope-from <a@sender.example>) id 1r2s3t-000AbC-1x; date": {"198.51.100.3", ""},
		"from [198.51.100.4] (helo=mail.sender.example) by mx.example.com with esmtps (TLS1.3) tls TLS_AES_256_GCM_SHA384 (Exim 4.96) id 1r; date":                    {"198.51.100.4", ""},
		// Exim whose comment names a second address (a junk HELO with a space).
		"from [198.51.100.5] (helo=x 170.10.129.124) by mx.example.com with esmtp id 1; date": {"", ""},
		// qmail with an ident answer, Sendmail with ident and "may be forged".
		"from unknown (HELO [170.10.129.124]) (u@198.51.100.6) by mx.example.com with SMTP; date":                                     {"198.51.100.6", ""},
		"from x (IDENT:u@host.sender.example [198.51.100.7]) by mx.example.com (8.17.1/8.17.1) with ESMTP id 1; date":                 {"198.51.100.7", "host.sender.example"},
		"from x (us-smtp-delivery-124.mimecast.com [198.51.100.8] (may be forged)) by mx.example.com (8.17.1/8.17.1) with ESMTP id 1": {"198.51.100.8", ""},
		// Both a literal and a different bare address in the comments.
		"from x (x [198.51.100.9]) (Authenticated sender: 170.10.129.124) by mx.example.com (Postfix) with ESMTPSA id 1; date": {"", ""},
	} {
		h := ParseReceived(v)
		got := ""
		if h.Addr.IsValid() {
			got = h.Addr.String()
		}
		assert.Equal(t, want.addr, got, "%s (%s)", v, h.AddrProblem)
		assert.Equal(t, want.rdns, h.RDNS, v)
	}
}

// TestUnbalancedHELO: a HELO name with a parenthesis (Sendmail and some
// others write what the client sent) must not move the server's record.
func TestUnbalancedHELO(t *testing.T) {
	for _, v := range []string{
		"from x) (y [170.10.129.124]) (z (x [198.51.100.1]) by mx.example.com (8.17.1/8.17.1) with ESMTP id 1; date",
		"from x)(y[170.10.129.124])(z (x [198.51.100.1]) by mx.example.com with ESMTP id 1; date",
		"from x(y [170.10.129.124] (x [198.51.100.1]) by mx.example.com; date",
		"from [x (unknown [198.51.100.1]) by mx.example.com; date",
	} {
		h := ParseReceived(v)
		assert.False(t, h.Addr.IsValid(), "%s: %v", v, h.Addr)
		assert.NotEmpty(t, h.AddrProblem)
	}
	// A parenthesis after the by clause (a recipient's quoted local part)
	// does not touch the from clause.
	h := ParseReceived("from x (x [198.51.100.1]) by mx.example.com with ESMTP id 1 for <a(b@example.com>; date")
	assert.Equal(t, "198.51.100.1", h.Addr.String(), h.AddrProblem)
}

// TestExchangeHELOLiteralIsBypass: Exchange Online's frontend records the
// client as "from HELO (address)"; a client that says EHLO
// [170.10.129.124] is still the foreign address it connected from.
func TestExchangeHELOLiteralIsBypass(t *testing.T) {
	r := usTracer(t, Config{}).Trace(readFixture(t, "m365-helo-literal.eml"))
	assert.Equal(t, Bypass, r.Verdict, "reasons %q", r.Reasons)
	assert.Equal(t, "198.51.100.23", r.Address.String())
}

// TestTrailAboveBoundaryDoesNotCount: fields and relay.mimecast.com hops
// above the boundary hop were added by your own servers after the
// message arrived; the message reached the MX straight from a foreign
// address with no Mimecast trail of its own: a bypass, not forged, and no
// grid.
func TestTrailAboveBoundaryDoesNotCount(t *testing.T) {
	m := readFixture(t, "trail-above-boundary.eml")
	r := usTracer(t, Config{By: []string{"mx.example.com"}}).Trace(m)
	assert.Equal(t, Bypass, r.Verdict, "reasons %q", r.Reasons)
	assert.Equal(t, "198.51.100.31", r.Address.String())
	assert.Empty(t, r.Trail.Relays)
	assert.Empty(t, r.Trail.Headers)
	assert.Zero(t, r.Grid)

	// The same lines below the boundary are a trail: forged.
	msg := "Received: from mail.sender.example (mail.sender.example [198.51.100.31]) by mx.example.com (Postfix) with ESMTPS id 1; date\n" +
		"X-Mimecast-Spam-Score: 0\n\n"
	m2, err := ParseHeader([]byte(msg))
	assert.NoError(t, err)
	assert.Equal(t, Forged, usTracer(t, Config{}).Trace(m2).Verdict)
}
