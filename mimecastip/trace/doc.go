// Package trace tells from a message's header block whether the message
// really came through Mimecast.
//
// X-Mimecast-* header fields, relay.mimecast.com Received lines and
// Mimecast's ARC seals can be written by anyone. The one authoritative
// record is the Received line your own server wrote: the address of the
// client that handed the message over. trace finds that line, the
// boundary hop, classifies its address against Mimecast's published
// ranges with a [mimecastip.Classifier], and reads the rest of the trail
// to explain the verdict:
//
//	mimecast      the boundary hop is a Mimecast gateway or non-SPF relay of the configured regions
//	other-region  the boundary hop is a Mimecast gateway of another region
//	bypass        the boundary hop is not Mimecast and there is no Mimecast trail
//	forged        the boundary hop is not Mimecast, yet there is a Mimecast trail
//	undetermined  no usable boundary Received line, or its address only in a retired Mimecast range
//
// # Boundary hop
//
// By default the boundary hop is the topmost Received field, written by
// the server that stored the message. With [Config.By] (your MTAs' host
// names) it is the topmost Received whose "by" host is one of them, so
// that hops added later (a mailbox server, a forwarder) are passed over.
// Those hops above must be from your own relays (a local stamp, below; a loopback, private, link-local or Internal address; or a
// verified reverse name among By): a hop above from any other address
// means your MTA writes another name than By, and the Received by the By
// name below it is the sender's text, so the message is undetermined.
// With [Config.Internal], hops from your internal relays are skipped for
// the one that entered your network. Local stamps are passed over too:
// a Dovecot LMTP line that records no address, or a loopback or private
// one ("from mx.example.com by mail.example.com with LMTP": its client is
// your MX), and qmail-queue's "(qmail N invoked from network)"; a local
// submission ("by host (Postfix, from userid 33)", "invoked by uid") is
// not. A boundary hop from a loopback, private or link-local address is
// undetermined: an internal relay or content filter that was not named.
//
// The client address is the one the receiving server recorded in the
// from clause ("from name (rdns [192.0.2.1])", "[IPv6:2001:db8::1]",
// Exim's "([192.0.2.1]:4321 helo=name)" and "[192.0.2.1] (helo=name)",
// Exchange's "(2001:db8::1)", qmail's "(HELO name) (ident@192.0.2.1)");
// IPv4-mapped addresses are unmapped. The HELO name is the client's
// claim and never counts, not even as an address literal
// ("from [170.10.129.124] (198.51.100.1)" is 198.51.100.1). A from clause
// with two different addresses, parentheses that do not balance before
// the by clause, or a Received with "from", "by" or "id" twice, is
// ambiguous and gives no address.
//
// # Mimecast trail
//
// [Trail] holds what the message carries of Mimecast's handling:
// Received fields by relay.mimecast.com (and older regional names) with
// the grid named by the queue id prefix (us-mta, uk-mta, de-mta, au-mta,
// ...), X-MC-Unique and whether it equals a queue id's unique part,
// smtp.auth=C... account codes of Authentication-Results by
// relay.mimecast.com, X-Mimecast-* fields and ARC seals by
// dkim.mimecast.com, counted only below the boundary hop (what lies above
// it was added after your server received the message). It decides
// between bypass and forged, and the grid
// is checked against the boundary address's regions ([GridCheck]), but
// it never makes a message "mimecast".
//
// # Input
//
// [Reader] reads the header block of one message (.eml) or of every
// message of an mbox file, with CRLF, LF or CR-only line endings and folded
// fields, at most [Reader.MaxHeaderBytes] (default
// [DefaultMaxHeaderBytes]) per header block; bodies are skipped without
// being kept. Malformed input is an [*Error] naming the message and line.
package trace
