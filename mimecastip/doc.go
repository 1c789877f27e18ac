// Package mimecastip tells whether an IP address belongs to Mimecast's
// published mail ranges, for mail systems that accept inbound SMTP only
// through Mimecast.
//
//	if mimecastip.Lookup(addr).Class == mimecastip.Foreign {
//		// not a Mimecast gateway: reject, or tag
//	}
//
// # Classes
//
// [Lookup] answers with a [Result] whose [Class] is one of:
//   - [Mimecast]: a Mimecast gateway range (the regional gateway tables of
//     Mimecast's "Data Centers and URLs" page and the regional SPF records).
//   - [NonSPF]: a Mimecast non-SPF relay range. Mimecast relays mail whose
//     envelope sender is not an internal domain of the account from these
//     ranges; such mail fails the sender's SPF by design, so receivers that
//     check SPF need to know.
//   - [Foreign]: everything else.
//
// Mimecast also publishes addresses for its website and for Web Security
// (DNS resolvers and an agent endpoint). No mail comes from them, so they
// are classed Foreign: Class != Foreign is exactly the check an SMTP
// lockdown wants. They stay identifiable: Result.Service is
// [regions.Website] or [regions.WebSecurity] and [Result.Prefix] returns
// the published address.
//
// Result also carries the regions that publish the matched prefix (one
// prefix can be published by several regions) and the prefix itself. When
// published ranges nest (a non-SPF relay /29 inside a gateway /24, a US /32
// inside European space), the most specific prefix decides.
//
// # Addresses
//
// IPv4-mapped IPv6 addresses (::ffff:a.b.c.d, as a dual-stack listener
// reports IPv4 clients) are classified as the IPv4 address. IPv6 zones are
// ignored. The zero [netip.Addr] is Foreign. [LookupString] and
// [ParseAddr] accept the forms mail logs carry ("[a.b.c.d]",
// "a.b.c.d:port", "[v6]:port");
// [LookupIP] and [LookupNetAddr] take the standard library's types without
// allocating.
//
// # Data, scope and cost
//
// The data is the embedded dataset of package [regions] ([regions.Version]
// gives its as-of date). The package-level functions use [Default], built
// on first use from every region: about a hundred prefixes, ready in under
// 2 ms and about 600 KB of allocations once; nothing runs at import time.
//
// [Load] is the one way to build a [Classifier] from a dataset: the
// embedded one ([regions.Embedded]), a data file ([regions.ParseFile]) or
// any [io.Reader] ([regions.Parse]), restricted to a scope of regions. An
// empty scope means every region. An account that should accept mail only
// from its own region loads with that region as the scope, and a gateway
// of another region is Foreign to it. [Classifier.Version] and
// [Classifier.Scope] say what a Classifier was built from. [New] builds
// one from any ranges. A [Reloadable] holds the Classifier of a
// long-running server and swaps in a new one on reload.
//
// Classifiers are immutable and safe for concurrent use; lookups do not
// allocate.
//
// This is not an official Mimecast product.
package mimecastip
