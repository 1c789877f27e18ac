package cli

import (
	"github.com/seed-b311f21d/go-mimecastip/cmd/mimecastip/internal/audit"
	"github.com/seed-b311f21d/go-mimecastip/mimecastip"
)

const auditDescription = `
Check an existing allowlist against the published ranges of the account's
region, with interval arithmetic (170.10.128.0/22 covers four published
/24s; 207.211.30.0/23 is half foreign). FILE may be in any format export
writes or as admins paste it: plain lines, single addresses,
a.b.c.d-e.f.g.h ranges, CIDRs, PowerShell arrays and @{Add=...}, Exchange
RemoteIPRanges, nft "elements = { ... }", ipset "add" lines, Postfix cidr
lines with their actions, SPF ip4:/ip6: terms; '#' starts a comment, and
so do ';', "//", "--" and REM at the start of a line, and /* */, <!-- -->
and <# #>. With no FILE, or "-", standard input. Entries on rejecting
lines (REJECT, 5NN, reject, drop, deny, IPBlockList, ipset nomatch,
@{Remove=...}) and on lines whose action does not accept (DUNNO, WARN,
PREPEND, FILTER, a restriction name; an iptables target other than
ACCEPT) are not part of the allowlist. The list is read first-match, as
Postfix tables and firewall chains are: a rejecting entry takes its
addresses from every later allow entry (shadowed), and the rules of a
Postfix cidr "if PATTERN ... endif" block match only inside PATTERN.

Errors (exit 1):
  MISSING, PARTIAL  a published range of the region the list lacks, wholly
                    or in part: mail from it will be lost
  FOREIGN           an entry (or part of one) that is not Mimecast at all:
                    a bypass; mail from it skips the gateway
  NON-CANONICAL     a CIDR with host bits set (170.10.132.5/24): Postfix
                    skips the rule
  INVALID           an entry that is not a valid address, range or CIDR
                    (010.1.1.1, 300.1.1.1, 170.10.129/24, /33, /2A, a
                    reversed range, a negated "!" pattern), or an
                    IPv4-mapped IPv6 one (::ffff:170.10.128.0/118), which
                    Postfix, nft and iptables never match IPv4 clients
                    against; the report says what to write instead; in
                    an SPF record, +all and terms only DNS resolves
                    (include:, a, mx, ptr, exists:, redirect=)
Warnings (exit 0):
  other-region      another region's Mimecast range
  retired           a retired Mimecast range: keep it until Mimecast ends
                    the double-run period of a migration, then remove it
  not-mail          a Mimecast website or Web Security address
  shadowed          an allow entry an earlier rejecting one takes (some of)
                    its addresses from (the ranges then show as MISSING)
Info: redundant (covered by earlier entries), deny.

Without --region, the region is the one whose ranges the entries cover
most; the report says so. A region (or --class) without any published
range is an error: there is nothing to check the list against. Input
may be UTF-8 or UTF-16 (PowerShell), and is read as a stream; a line
longer than 4 MiB is an error.

With --outbound, FILE is the account's list of authorized outbound
addresses (Administration Console, Gateway | Authorized Outbounds): the
addresses Mimecast accepts outbound mail from, one a line. Mimecast takes
single public IPv4 addresses only ("networks cannot be added") and
temporarily fails mail from any other address with "Open relay not
allowed". Errors: a network or range, a private or special-purpose
address, an IPv6 address, a duplicate, anything else. Warning: an address
inside Mimecast's own ranges.

Exit status: 0 no errors (warnings allowed); 1 errors; 2 bad usage, an
unreadable file or no address in it.`

func cmdAudit(env *Env, args []string) int {
	fs := newFlags(env, "audit", "[--region R,...] [flags] [FILE]", auditDescription)
	jsonOut := fs.Bool("json", false, "print the report as JSON")
	outbound := fs.Bool("outbound", false, "FILE is an authorized-outbound list instead (see below)")
	classFlag := fs.String("class", "mimecast,non-spf", "comma-separated classes the list must allow: mimecast, non-spf")
	data := fs.String("data", "", dataFlagUsage)
	region := regionFlag(fs, "; default: inferred from the entries")
	files, done, status := parseArgs(env, fs, args)
	if done {
		return status
	}
	if len(files) > 1 {
		errorf(env, "audit", "one allowlist at a time (got %d files)", len(files))
		return ExitUsage
	}
	path := "-"
	if len(files) == 1 {
		path = files[0]
	}
	if *outbound {
		return auditOutbound(env, path, *jsonOut, *data)
	}
	set, ok := parseRegions(env, "audit", *region)
	if !ok {
		return ExitUsage
	}
	classes, ok := parseClasses(env, "audit", *classFlag)
	if !ok {
		return ExitUsage
	}
	for _, c := range classes {
		if c == mimecastip.Foreign {
			errorf(env, "audit", "--class: foreign is not a class an allowlist must hold")
			return ExitUsage
		}
	}
	d, err := loadDataset(*data)
	if err != nil {
		errorf(env, "audit", "%v", err)
		return ExitUsage
	}
	r, err := openInput(env, path)
	if err != nil {
		errorf(env, "audit", "%v", err)
		return ExitUsage
	}
	entries, err := audit.Parse(r)
	r.Close()
	name := path
	if path == "-" {
		name = "(standard input)"
	}
	if err != nil {
		errorf(env, "audit", "%s: %v", name, err)
		return ExitUsage
	}
	if len(entries) == 0 {
		errorf(env, "audit", "%s: no IP address, CIDR or range found", name)
		return ExitUsage
	}
	rep := audit.Audit(entries, audit.Options{Dataset: d, Regions: set, Classes: classes})
	if *jsonOut {
		if err := rep.WriteJSON(env.Stdout, name); err != nil {
			errorf(env, "audit", "writing output: %v", err)
			return ExitUsage
		}
	} else if err := rep.WriteText(env.Stdout, name); err != nil {
		errorf(env, "audit", "writing output: %v", err)
		return ExitUsage
	}
	if !rep.OK {
		return ExitFinding
	}
	return ExitOK
}
