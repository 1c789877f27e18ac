package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/seed-b311f21d/go-mimecastip/cmd/mimecastip/internal/atomicfile"
	"github.com/seed-b311f21d/go-mimecastip/cmd/mimecastip/internal/export"
	"github.com/seed-b311f21d/go-mimecastip/cmd/mimecastip/internal/policy"
	"github.com/seed-b311f21d/go-mimecastip/mimecastip"
	"github.com/seed-b311f21d/go-mimecastip/regions"
)

func exportDescription() string {
	var b strings.Builder
	b.WriteString(`
Write the active mail ranges (classes mimecast and non-spf) of the chosen
regions as an allowlist. Retired ranges are never exported. Address lists
are merged to the fewest canonical prefixes (nested and adjacent ranges
joined), so nftables interval sets load and Postfix skips no rule; json and
csv list every published range with its metadata. Every output starts with
the dataset version and the regions, in the format's comment syntax.

A lockdown wants the account's own region: --region us (or the account
code, --region CUSA12A345). Without --region every region is exported,
with a note on stderr. A selection without any range is an error: an empty
allowlist would lock all mail out.

Formats:
`)
	for _, f := range export.Formats() {
		fmt.Fprintf(&b, "  %-11s%s\n", f.Name, f.Description)
	}
	b.WriteString(`
nftables, iptables and ip6tables reset every other client of the port
except loopback sources (127.0.0.0/8, ::1; --allow-loopback=false drops
that) and the networks of --allow CIDR,... (your own relays, monitoring,
the host's own public address); the header says which.

postfix's header shows the main.cf and master.cf lines for the port-25
smtpd only, after permit_mynetworks and reject_unauth_destination.
--reject takes an access(5) action as policy --reject does ("554 5.7.1
Not a Mimecast relay", "REJECT text").

-o FILE replaces FILE atomically, keeping its mode and owner. It refuses
a FIFO, a device (such as /dev/null), a socket, a directory or a dangling
symlink; through a symlink, the file it points to is replaced and the
link kept.

Exit status: 0 written; 2 bad usage, no ranges selected, or the output
could not be written.`)
	return b.String()
}

func cmdExport(env *Env, args []string) int {
	fs := newFlags(env, "export", "--format FORMAT [--region R,...] [flags]", exportDescription())
	format := fs.String("format", "", "output format (see above); required")
	classFlag := fs.String("class", "mimecast,non-spf", "comma-separated classes to export: mimecast, non-spf")
	reject := fs.String("reject", "", "postfix, postscreen: end with catch-all 0.0.0.0/0 and ::/0 lines with this access(5) `action`, as policy --reject takes it (without its {placeholders}): REJECT [text], DEFER [text], DEFER_IF_PERMIT [text], 4NN/5NN text, HOLD or DISCARD, e.g. \"554 5.7.1 Not a Mimecast relay\" (postscreen writes reject; postscreen_denylist_action decides)")
	name := fs.String("name", "mimecast", "nftables table, ipset set and iptables chain base name")
	port := fs.String("port", "25", "nftables, iptables, ip6tables, firewalld: comma-separated TCP ports the rules open to the ranges, e.g. 25,389,636")
	service := fs.String("service", "", "like --port, by name from Mimecast's port table: "+serviceNames()+" (adds to --port when both are given)")
	spfAll := fs.String("spf-all", "~all", "spf: the final all term: ~all, -all or ?all")
	allow := fs.String("allow", "", "nftables, iptables, ip6tables: comma-separated `CIDRs` also accepted on the port (your own relays, monitoring)")
	allowLoopback := fs.Bool("allow-loopback", true, "nftables, iptables, ip6tables: accept loopback sources (127.0.0.0/8, ::1); --allow-loopback=false to reset them too")
	ipAllow := fs.Bool("m365-ip-allow-list", false, "m365: also add the ranges to the connection-filter IP Allow List. Against the CIS Microsoft 365 benchmark (2.1.12) and CISA's baseline (MS.EXO.12.1): mail from these IPs skips spam filtering and SPF/DKIM/DMARC checks; Enhanced Filtering (-EFSkipIPs, always written) is the supported way")
	output := fs.String("o", "", "write to this `file`, replaced atomically (a temporary file renamed into place), instead of standard output; refused unless it is a regular file or missing; through a symlink, the file it points to is replaced and the link kept")
	data := fs.String("data", "", dataFlagUsage)
	region := regionFlag(fs, "; default every region")
	operands, done, status := parseArgs(env, fs, args)
	if done {
		return status
	}
	if len(operands) > 0 {
		errorf(env, "export", "unexpected argument %q (the regions go in --region)", operands[0])
		return ExitUsage
	}
	if *format == "" {
		errorf(env, "export", "--format is required (one of %s)", formatNames())
		return ExitUsage
	}
	f, ok := export.Lookup(*format)
	if !ok {
		errorf(env, "export", "--format: unknown format %q (want one of %s)", *format, formatNames())
		return ExitUsage
	}
	set, ok := parseRegions(env, "export", *region)
	if !ok {
		return ExitUsage
	}
	if set.IsEmpty() {
		set = regions.AllSet()
		fmt.Fprintf(env.Stderr, "mimecastip export: no --region given: exporting every region; a lockdown wants only the account's own (--region us, --region CUK...)\n")
	}
	classes, ok := parseClasses(env, "export", *classFlag)
	if !ok {
		return ExitUsage
	}
	for _, c := range classes {
		if c == mimecastip.Foreign {
			errorf(env, "export", "--class: foreign cannot be exported (it is everything else)")
			return ExitUsage
		}
	}
	if *name == "" || strings.ContainsAny(*name, " \t\n\"'{};") {
		errorf(env, "export", "--name: %q is not a usable name", *name)
		return ExitUsage
	}
	ports, err := parsePorts(*port, *service, fs)
	if err != nil {
		errorf(env, "export", "%v", err)
		return ExitUsage
	}
	if !slices.Contains(export.SPFAllTerms, *spfAll) {
		errorf(env, "export", "--spf-all: %q is not one of %s (+all would pass every sender)", *spfAll, strings.Join(export.SPFAllTerms, ", "))
		return ExitUsage
	}
	if *reject != "" {
		if err := policy.ValidateRefusal(*reject); err != nil {
			errorf(env, "export", "--reject: %v", err)
			return ExitUsage
		}
		if err := export.ValidateReject(*reject); err != nil {
			errorf(env, "export", "--reject: %v", err)
			return ExitUsage
		}
		if f.Name != "postfix" && f.Name != "postscreen" {
			errorf(env, "export", "--reject applies to --format postfix and postscreen only")
			return ExitUsage
		}
	}
	var allowed []netip.Prefix
	firewall := f.Name == "nftables" || f.Name == "iptables" || f.Name == "ip6tables"
	if *allow != "" {
		if !firewall {
			errorf(env, "export", "--allow applies to --format nftables, iptables and ip6tables only")
			return ExitUsage
		}
		var err error
		if allowed, err = export.ParseAllow(*allow); err != nil {
			errorf(env, "export", "--allow: %v", err)
			return ExitUsage
		}
	}
	outPath := ""
	if *output != "" {
		if err := checkTarget(*output); err != nil {
			errorf(env, "export", "-o: %v", err)
			return ExitUsage
		}
		if abs, err := filepath.Abs(*output); err == nil {
			outPath = abs
		}
	}
	d, err := loadDataset(*data)
	if err != nil {
		errorf(env, "export", "%v", err)
		return ExitUsage
	}
	rs := export.Select(d, set, classes)
	if len(rs) == 0 {
		errorf(env, "export", "no %s ranges published for region %s: refusing to write an empty allowlist", classNames(classes), set)
		return ExitUsage
	}
	now := time.Now()
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			now = time.Unix(n, 0)
		}
	}
	var buf bytes.Buffer
	err = export.Write(&buf, f, rs, export.Options{
		Version: d.Version, Regions: set, Classes: classes, Reject: *reject, Name: *name, Ports: ports,
		SPFAll: *spfAll, Now: now, Allow: allowed, NoLoopback: !*allowLoopback, Path: outPath,
		M365IPAllowList: *ipAllow,
		Warn: func(format string, a ...any) {
			fmt.Fprintf(env.Stderr, "mimecastip export: warning: "+format+"\n", a...)
		},
	})
	if err != nil {
		errorf(env, "export", "%v", err)
		return ExitUsage
	}
	if *output == "" {
		if _, err := env.Stdout.Write(buf.Bytes()); err != nil {
			errorf(env, "export", "writing output: %v", err)
			return ExitUsage
		}
		return ExitOK
	}
	if err := writeAtomic(*output, buf.Bytes()); err != nil {
		errorf(env, "export", "%v", err)
		return ExitUsage
	}
	return ExitOK
}

func formatNames() string {
	var names []string
	for _, f := range export.Formats() {
		names = append(names, f.Name)
	}
	return strings.Join(names, ", ")
}

func classNames(cs []mimecastip.Class) string {
	var s []string
	for _, c := range cs {
		s = append(s, c.String())
	}
	return strings.Join(s, ",")
}

// checkTarget refuses an -o path that is not a regular file (a FIFO, a
// device such as /dev/null, a socket, a directory) or a symlink to one, or
// a dangling symlink: renaming a file over it would replace the node, and
// as root turn /dev/null into a regular file.
func checkTarget(path string) error {
	st, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if st.Mode()&os.ModeSymlink != 0 {
		target, err := filepath.EvalSymlinks(path)
		if err != nil {
			return fmt.Errorf("%s is a symlink whose target cannot be resolved (%v); refusing to write through it", path, err)
		}
		if st, err = os.Stat(target); err != nil {
			return err
		}
		if !st.Mode().IsRegular() {
			return fmt.Errorf("%s is a symlink to %s, which is a %s, not a regular file; refusing to replace it", path, target, nodeKind(st.Mode()))
		}
		return nil
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s is a %s, not a regular file; refusing to replace it (write to a regular file, or to standard output)", path, nodeKind(st.Mode()))
	}
	return nil
}

func nodeKind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "directory"
	case m&fs.ModeNamedPipe != 0:
		return "FIFO"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeCharDevice != 0:
		return "character device"
	case m&fs.ModeDevice != 0:
		return "block device"
	}
	return "special file"
}

// writeAtomic writes b to a temporary file next to path and renames it
// into place, so readers (rspamd, Postfix, a cron job) never see half a
// file. An existing file keeps its permissions (and, for root, its
// owner). Through a symlink, the file the link points to is replaced and
// the link kept. A target that is not a regular file is refused
// ([checkTarget]), checked again just before the rename.
func writeAtomic(path string, b []byte) error {
	return atomicfile.Write(path, b, atomicfile.Options{Check: checkTarget, FollowSymlink: true})
}
