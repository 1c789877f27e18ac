package cli

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/seed-b311f21d/go-mimecastip/internal/export"
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
Exit status: 0 written; 2 bad usage, no ranges selected, or the output
could not be written.`)
	return b.String()
}

func cmdExport(env *Env, args []string) int {
	fs := newFlags(env, "export", "--format FORMAT [--region R,...] [flags]", exportDescription())
	format := fs.String("format", "", "output format (see above); required")
	classFlag := fs.String("class", "mimecast,non-spf", "comma-separated classes to export: mimecast, non-spf")
	reject := fs.String("reject", "", "postfix, postscreen: end with catch-all 0.0.0.0/0 and ::/0 lines rejecting with this text (postfix: \"REJECT TEXT\", or TEXT itself when it starts with a 4NN/5NN code)")
	name := fs.String("name", "mimecast", "nftables table, ipset set and iptables chain base name")
	port := fs.String("port", "25", "nftables, iptables, ip6tables, firewalld: comma-separated TCP ports the rules open to the ranges, e.g. 25,389,636")
	service := fs.String("service", "", "like --port, by name from Mimecast's port table: "+serviceNames()+" (adds to --port when both are given)")
	spfAll := fs.String("spf-all", "~all", "spf: the final all term")
	ipAllow := fs.Bool("m365-ip-allow-list", false, "m365: also add the ranges to the connection-filter IP Allow List. Against the CIS Microsoft 365 benchmark (2.1.12) and CISA's baseline (MS.EXO.12.1): mail from these IPs skips spam filtering and SPF/DKIM/DMARC checks; Enhanced Filtering (-EFSkipIPs, always written) is the supported way")
	output := fs.String("o", "", "write to this file, replaced atomically (a temporary file renamed into place), instead of standard output")
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
		set = regions.AllRegions()
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
		SPFAll: *spfAll, Now: now, M365IPAllowList: *ipAllow,
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

// writeAtomic writes b to a temporary file next to path and renames it
// into place, so readers (rspamd, Postfix, a cron job) never see half a
// file. An existing file keeps its permissions.
func writeAtomic(path string, b []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	mode := os.FileMode(0o644)
	if st, err := os.Stat(path); err == nil {
		mode = st.Mode().Perm()
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
