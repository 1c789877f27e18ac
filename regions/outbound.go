package regions

// Smarthost is one host name a customer's mail server or Microsoft 365
// tenant relays outbound mail to.
type Smarthost struct {
	Host   string `json:"host"`
	Use    string `json:"use"`    // "relay" for on-premises servers (SMTP send connectors), "m365" for Microsoft 365 outbound connectors
	Source string `json:"source"` // where it was published
}

const (
	srcOutbound = `third-party: the host pattern of a LeakIX plugin (not confirmed by a Mimecast page)`
	// us-, eu- and au-smtp-outbound-1 are also the relay names of public client configurations (PHPMailer,
	// nodemailer, smtplib scripts) found by code search in 2026-12.
	srcOutboundSeen = srcOutbound + `; also named as the relay host in public client configurations (code search, 2026-12)`
	srcOutbound365  = `third-party: JB0710/PowerShell-Repo Exchange/OutboundConnector-Mimecast.ps1 (2023-02-17) and a set-o365-mimecastconnector.ps1`
)

func pair(prefix, domain, use, src string) []Smarthost {
	return []Smarthost{{prefix + "-1." + domain, use, src}, {prefix + "-2." + domain, use, src}}
}

var outbound = map[Region][]Smarthost{
	US:     append(pair("us-smtp-outbound", "mimecast.com", "relay", srcOutboundSeen), pair("us-smtp-o365-outbound", "mimecast.com", "m365", srcOutbound365)...),
	USB:    pair("usb-smtp-outbound", "mimecast.com", "relay", srcOutbound),
	CA:     pair("ca-smtp-outbound", "mimecast.com", "relay", srcOutbound),
	EU:     append(pair("eu-smtp-outbound", "mimecast.com", "relay", srcOutboundSeen), pair("eu-smtp-o365-outbound", "mimecast.com", "m365", srcOutbound365)...),
	DE:     append(pair("de-smtp-outbound", "mimecast.com", "relay", srcOutbound), pair("de-smtp-o365-outbound", "mimecast.com", "m365", srcOutbound365)...),
	AU:     append(pair("au-smtp-outbound", "mimecast.com", "relay", srcOutboundSeen), pair("au-smtp-o365-outbound", "mimecast.com", "m365", srcOutbound365)...),
	ZA:     append(pair("za-smtp-outbound", "mimecast.co.za", "relay", srcOutbound), pair("za-smtp-o365-outbound", "mimecast.co.za", "m365", srcOutbound365)...),
	USPCOM: pair("uspcom-smtp-outbound", "mimecast-pscom-us.com", "relay", srcOutbound),
	JE:     append(pair("je-smtp-outbound", "mimecast-offshore.com", "relay", srcOutbound), pair("je-smtp-o365-outbound", "mimecast-offshore.com", "m365", srcOutbound365)...),
}

// Outbound returns the outbound smarthosts of region r (a copy): where the
// account's mail servers relay outbound mail ("relay") and where
// Microsoft 365 outbound connectors point ("m365"). Mimecast accepts the
// mail only from the account's authorized outbound addresses (single
// public IP addresses) or after SMTP authentication. Global and unknown
// regions have none.
//
// These names come from third-party sources (see each Source): Mimecast
// shows an account's smarthosts in its own console, which is the
// authority.
func Outbound(r Region) []Smarthost {
	return append([]Smarthost(nil), outbound[r]...)
}
