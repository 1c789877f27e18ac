package cli

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/seed-b311f21d/go-mimecastip/cmd/mimecastip/internal/logscan"
	"github.com/seed-b311f21d/go-mimecastip/mimecastip"
	"github.com/seed-b311f21d/go-mimecastip/regions"
)

const scanDescription = `
Read log text (a Postfix maillog, Exchange logs, any text), find every IPv4
and IPv6 address in each line and print the lines that hold an address of
the wanted classes, like grep. Files are read in turn; with no FILE, or
with "-", standard input. Files compressed with gzip, bzip2, xz or zstd
(rotated logs such as mail.log.2.gz) are recognised by their first bytes
and decompressed, as zgrep does; a corrupted or truncated one is an error,
and so is one compressed with lz4, compress (.Z), zip, 7z or lzop.
UTF-16 text (Windows exports, with or without a byte-order mark) is read
as UTF-8.
A line longer than 1 MiB (1048576 bytes) is skipped and reported with its
number; the other lines are still scanned.

Addresses must be delimited: "1170.10.133.5" and "170.10.133.5.6" hold no
address, while "h[170.10.133.5]", "client=170.10.133.5:25",
"[IPv6:2001:db8::1]" and "::ffff:170.10.133.5" do (the last one counts as
the IPv4 address).

With --region only those regions' ranges count as Mimecast: another
region's gateway is foreign (find who bypasses an EU lockdown with
--class foreign --region eu). With --count, print the number of addresses,
distinct addresses and lines per class and regions instead of the lines.
With --addresses, print each distinct address once, most frequent first,
with its class, the regions that publish it (so "foreign eu" is an EU
gateway outside the chosen region), its count, the earliest and latest
time stamps of the lines holding it (whatever the order of the files:
mail.log* lists the newest first) and the first such line.`

const scanExit = `
Exit status, as grep: 0 at least one line was selected; 1 none was; 2 bad
usage, or a file could not be read completely (a corrupted compressed
file, an over-long line: the other files and lines are still scanned).`

func cmdScan(env *Env, args []string) int {
	fs := newFlags(env, "scan", "[flags] [FILE...]", scanDescription+"\n"+inboundHelp()+"\n"+openRelayHelp+"\n"+scanExit)
	classFlag := fs.String("class", "mimecast,non-spf", "comma-separated classes to select: mimecast, non-spf, foreign")
	count := fs.Bool("count", false, "print totals per class and regions (addresses, distinct addresses, lines) instead of the lines")
	addrs := fs.Bool("addresses", false, "print each distinct selected address once: class, regions, count, first and last time seen, a sample line; most frequent first")
	jsonOut := fs.Bool("json", false, "print JSON: one object per selected line (JSON Lines), or the totals with --count, or the table with --addresses")
	lineNum := fs.Bool("n", false, "prefix each line with its line number")
	withName := fs.Bool("with-filename", false, "prefix each line with its file name (the default with several files)")
	noName := fs.Bool("no-filename", false, "never prefix lines with file names")
	data := fs.String("data", "", dataFlagUsage)
	region := regionFlag(fs, "; other regions' ranges count as foreign")
	inb := addInboundFlags(fs)
	files, done, status := parseArgs(env, fs, args)
	if done {
		return status
	}
	if *count && *addrs || inb.openRelay && (*count || *addrs) {
		errorf(env, "scan", "only one of --count, --addresses and --open-relay can be given")
		return ExitUsage
	}
	set, ok := parseRegions(env, "scan", *region)
	if !ok {
		return ExitUsage
	}
	classes, ok := parseClasses(env, "scan", *classFlag)
	if !ok {
		return ExitUsage
	}
	d, c, ok := loadClassifier(env, "scan", *data, set)
	if !ok {
		return ExitUsage
	}
	inbound, ok := inb.build(env)
	if !ok {
		return ExitUsage
	}
	if len(files) == 0 {
		files = []string{"-"}
	}
	names := len(files) > 1 && !*noName || *withName

	all := c // every region: what publishes an address
	if !set.IsEmpty() && (*addrs || inb.openRelay) {
		var err error
		if all, err = mimecastip.New(d.Ranges); err != nil {
			errorf(env, "scan", "%v", err)
			return ExitUsage
		}
	}
	sc := &logscan.Scanner{Classifier: c, Want: logscan.MaskOf(classes...), Inbound: inbound, OpenRelay: inb.openRelay}
	relays := &openRelays{}
	if inb.openRelay {
		sc.Want = logscan.MaskOf(mimecastip.Mimecast, mimecastip.NonSPF, mimecastip.Foreign)
	}
	counter := &logscan.Counter{Want: sc.Want}
	table := &logscan.Addresses{Want: sc.Want, Samples: true}
	bw := bufio.NewWriterSize(env.Stdout, logscan.BufferSize)
	defer bw.Flush()
	var num []byte
	var js scanJSON
	enc := json.NewEncoder(bw)
	exit := ExitFinding
	failed := false
	for _, name := range files {
		display := name
		if name == "-" {
			display = "(standard input)"
		}
		var fn func(*logscan.Line) error
		switch {
		case *count:
			fn = func(l *logscan.Line) error { counter.Add(l); return nil }
		case *addrs:
			fn = func(l *logscan.Line) error { return table.Add(display, l) }
		case inb.openRelay:
			fn = func(l *logscan.Line) error { return relays.add(display, l, all) }
		case *jsonOut:
			fn = func(l *logscan.Line) error {
				js.fill(display, l, sc.Want)
				return enc.Encode(&js)
			}
		default:
			fn = func(l *logscan.Line) error {
				if names {
					bw.WriteString(display)
					bw.WriteByte(':')
				}
				if *lineNum {
					num = strconv.AppendInt(num[:0], int64(l.Num), 10)
					bw.Write(num)
					bw.WriteByte(':')
				}
				bw.Write(l.Text)
				if len(l.Text) == 0 || l.Text[len(l.Text)-1] != '\n' {
					bw.WriteByte('\n')
				}
				return nil
			}
		}
		selected := false
		wrapped := func(l *logscan.Line) error { selected = true; return fn(l) }
		sc.Flush = nil
		if !*count && !*addrs && !inb.openRelay {
			sc.Flush = bw.Flush // follow a growing log: tail -f mail.log | mimecastip scan
		}
		sc.Doubt = func(n int, msg string) {
			errorf(env, "scan", "%s: line %d: %s", display, n, msg)
			failed = true
		}
		sc.LongLine = func(n int, length int64) {
			errorf(env, "scan", "%s: line %d: skipped: %d bytes is longer than the limit of %d bytes per line", display, n, length, logscan.MaxLineLength)
			failed = true
		}
		f, err := openInput(env, name)
		if err != nil {
			errorf(env, "scan", "%v", err)
			failed = true
			continue
		}
		r, _, err := logscan.Decompress(f)
		if err != nil {
			// nothing was read: an unsupported compression, or a file
			// that cannot be read at all (a directory, an I/O error);
			// the other files are still scanned
			f.Close()
			errorf(env, "scan", "%s: %v; nothing in it was scanned", display, err)
			failed = true
			continue
		}
		err = sc.Scan(r, wrapped)
		r.Close()
		f.Close()
		if errors.Is(err, logscan.ErrTooManyAddresses) {
			errorf(env, "scan", "%s: more than %d distinct addresses (or %d hosts): narrow the selection with --class, --region or --inbound", display, logscan.MaxDistinct, maxOpenRelayHosts)
			return ExitUsage
		}
		if err != nil {
			var le *logscan.LineError
			var de *logscan.DecompressError
			if errors.As(err, &le) || errors.As(err, &de) {
				errorf(env, "scan", "%s: %v (the lines before it were scanned)", display, err)
				failed = true
				continue
			}
			errorf(env, "scan", "writing output: %v", err)
			return ExitUsage
		}
		if st := sc.Stats(); inbound != nil && st.Lines > 0 && st.Recognized == 0 {
			errorf(env, "scan", "%s: no line is in a log format --inbound reads (%s): nothing was checked", display, strings.Join(logscan.FormatNames(), ", "))
			failed = true
		}
		if st := sc.Stats(); inbound != nil && st.Unread > 0 {
			errorf(env, "scan", "%s: %d lines (the first: line %d) name an MTA's SMTP server (postfix/smtpd, postscreen, sendmail, exim) in a layout --inbound does not read: their clients were not checked", display, st.Unread, st.FirstUnread)
			failed = true
		}
		if selected && exit == ExitFinding {
			exit = ExitOK
		}
	}
	if *count {
		writeCounts(bw, counter, *jsonOut)
		if counter.Overflow {
			errorf(env, "scan", "more than %d distinct addresses: the distinct counts are incomplete", logscan.MaxDistinct)
			failed = true
		}
	}
	if *addrs {
		writeAddresses(bw, table, all, *jsonOut)
	}
	if inb.openRelay {
		relays.write(bw, *jsonOut)
	}
	if err := bw.Flush(); err != nil {
		errorf(env, "scan", "writing output: %v", err)
		return ExitUsage
	}
	if failed {
		return ExitUsage
	}
	return exit
}

type scanAddrJSON struct {
	Address string      `json:"address"`
	Class   string      `json:"class"`
	Regions regions.Set `json:"regions,omitempty"`
	Service string      `json:"service,omitempty"`
	Prefix  string      `json:"prefix,omitempty"`
	Wanted  bool        `json:"selected"`
}

type scanJSON struct {
	File      string         `json:"file"`
	Line      int            `json:"line"`
	Format    string         `json:"format,omitempty"`
	Time      string         `json:"time,omitempty"`
	Text      string         `json:"text"`
	Addresses []scanAddrJSON `json:"addresses"`
}

func (j *scanJSON) fill(file string, l *logscan.Line, want logscan.ClassMask) {
	j.File, j.Line, j.Text = file, l.Num, string(logscan.TrimEOL(l.Text))
	j.Format, j.Time = l.Format, string(l.Time)
	j.Addresses = j.Addresses[:0]
	for i, m := range l.Matches {
		r := l.Results[i]
		a := scanAddrJSON{Address: m.Addr.String(), Class: r.Class.String(), Wanted: want.Has(r.Class)}
		if r.Prefix().IsValid() {
			a.Regions = r.Regions
			a.Service, a.Prefix = r.Service.String(), r.Prefix().String()
		}
		j.Addresses = append(j.Addresses, a)
	}
}

type countJSON struct {
	Class     string      `json:"class"`
	Regions   regions.Set `json:"regions"`
	Addresses int         `json:"addresses"`
	Distinct  int         `json:"distinct"`
	Lines     int         `json:"lines"`
}

func writeCounts(w io.Writer, c *logscan.Counter, asJSON bool) {
	groups := c.Groups()
	if asJSON {
		out := struct {
			Groups    []countJSON `json:"groups"`
			Addresses int         `json:"addresses"`
			Distinct  int         `json:"distinct"`
			Lines     int         `json:"lines"`
		}{Groups: []countJSON{}, Addresses: c.Total, Distinct: c.Distinct, Lines: c.Lines}
		for _, g := range groups {
			out.Groups = append(out.Groups, countJSON{g.Class.String(), g.Regions, g.Addresses, g.Distinct, g.Lines})
		}
		b, _ := json.MarshalIndent(out, "", "  ")
		fmt.Fprintf(w, "%s\n", b)
		return
	}
	fmt.Fprintf(w, "%-9s %-12s %10s %10s %10s\n", "CLASS", "REGIONS", "ADDRESSES", "DISTINCT", "LINES")
	for _, g := range groups {
		regs := g.Regions.String()
		if regs == "" {
			regs = "-"
		}
		fmt.Fprintf(w, "%-9s %-12s %10d %10d %10d\n", g.Class, regs, g.Addresses, g.Distinct, g.Lines)
	}
	fmt.Fprintf(w, "%-9s %-12s %10d %10d %10d\n", "total", "", c.Total, c.Distinct, c.Lines)
}
