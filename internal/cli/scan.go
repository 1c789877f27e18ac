package cli

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/seed-b311f21d/go-mimecastip/internal/logscan"
)

const scanDescription = `
Read log text (a Postfix maillog, Exchange logs, any text), find every IPv4
and IPv6 address in each line and print the lines that hold an address of
the wanted classes, like grep. Files are read in turn; with no FILE, or
with "-", standard input.

Addresses must be delimited: "1170.10.133.5" and "170.10.133.5.6" hold no
address, while "h[170.10.133.5]", "client=170.10.133.5:25",
"[IPv6:2001:db8::1]" and "::ffff:170.10.133.5" do (the last one counts as
the IPv4 address).

With --region only those regions' ranges count as Mimecast: another
region's gateway is foreign (find who bypasses an EU lockdown with
--class foreign --region eu). With --count, print the number of addresses
and lines per class and regions instead of the lines.

Exit status, as grep: 0 at least one line was selected; 1 none was; 2 bad
usage or a file could not be read (the other files are still scanned).`

func cmdScan(env *Env, args []string) int {
	fs := newFlags(env, "scan", "[flags] [FILE...]", scanDescription)
	classFlag := fs.String("class", "mimecast,non-spf", "comma-separated classes to select: mimecast, non-spf, foreign")
	count := fs.Bool("count", false, "print totals per class and regions instead of the lines")
	jsonOut := fs.Bool("json", false, "print JSON: one object per selected line (JSON Lines), or the totals with --count")
	lineNum := fs.Bool("n", false, "prefix each line with its line number")
	withName := fs.Bool("with-filename", false, "prefix each line with its file name (the default with several files)")
	noName := fs.Bool("no-filename", false, "never prefix lines with file names")
	data := fs.String("data", "", dataFlagUsage)
	region := regionFlag(fs, "; other regions' ranges count as foreign")
	files, done, status := parseArgs(env, fs, args)
	if done {
		return status
	}
	set, ok := parseRegions(env, "scan", *region)
	if !ok {
		return ExitUsage
	}
	classes, ok := parseClasses(env, "scan", *classFlag)
	if !ok {
		return ExitUsage
	}
	_, c, ok := loadClassifier(env, "scan", *data, set)
	if !ok {
		return ExitUsage
	}
	if len(files) == 0 {
		files = []string{"-"}
	}
	names := len(files) > 1 && !*noName || *withName

	sc := &logscan.Scanner{Classifier: c, Want: logscan.MaskOf(classes...)}
	counter := &logscan.Counter{Want: sc.Want}
	bw := bufio.NewWriterSize(env.Stdout, logscan.BufferSize)
	defer bw.Flush()
	var num []byte
	var js scanJSON
	enc := json.NewEncoder(bw)
	exit := ExitFinding
	for _, name := range files {
		display := name
		if name == "-" {
			display = "(standard input)"
		}
		var fn func(*logscan.Line) error
		switch {
		case *count:
			fn = func(l *logscan.Line) error { counter.Add(l); return nil }
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
		r, err := openInput(env, name)
		if err != nil {
			errorf(env, "scan", "%v", err)
			exit = ExitUsage
			continue
		}
		err = sc.Scan(r, wrapped)
		r.Close()
		if err != nil {
			if _, isRead := err.(*logscan.LineError); isRead {
				errorf(env, "scan", "%s: %v", display, err)
				exit = ExitUsage
				continue
			}
			errorf(env, "scan", "writing output: %v", err)
			return ExitUsage
		}
		if selected && exit == ExitFinding {
			exit = ExitOK
		}
	}
	if *count {
		writeCounts(bw, counter, *jsonOut)
	}
	if err := bw.Flush(); err != nil {
		errorf(env, "scan", "writing output: %v", err)
		return ExitUsage
	}
	return exit
}

type scanAddrJSON struct {
	Address string   `json:"address"`
	Class   string   `json:"class"`
	Regions []string `json:"regions,omitempty"`
	Service string   `json:"service,omitempty"`
	Prefix  string   `json:"prefix,omitempty"`
	Wanted  bool     `json:"selected"`
}

type scanJSON struct {
	File      string         `json:"file"`
	Line      int            `json:"line"`
	Text      string         `json:"text"`
	Addresses []scanAddrJSON `json:"addresses"`
}

func (j *scanJSON) fill(file string, l *logscan.Line, want logscan.ClassMask) {
	j.File, j.Line, j.Text = file, l.Num, string(logscan.TrimEOL(l.Text))
	j.Addresses = j.Addresses[:0]
	for i, m := range l.Matches {
		r := l.Results[i]
		a := scanAddrJSON{Address: m.Addr.String(), Class: r.Class.String(), Wanted: want.Has(r.Class)}
		if r.Prefix().IsValid() {
			a.Regions = strings.Split(r.Regions.String(), ",")
			a.Service, a.Prefix = r.Service.String(), r.Prefix().String()
		}
		j.Addresses = append(j.Addresses, a)
	}
}

type countJSON struct {
	Class     string   `json:"class"`
	Regions   []string `json:"regions"`
	Addresses int      `json:"addresses"`
	Lines     int      `json:"lines"`
}

func writeCounts(w io.Writer, c *logscan.Counter, asJSON bool) {
	groups := c.Groups()
	if asJSON {
		out := struct {
			Groups    []countJSON `json:"groups"`
			Addresses int         `json:"addresses"`
			Lines     int         `json:"lines"`
		}{Groups: []countJSON{}, Addresses: c.Total, Lines: c.Lines}
		for _, g := range groups {
			regs := []string{}
			if s := g.Regions.String(); s != "" {
				regs = strings.Split(s, ",")
			}
			out.Groups = append(out.Groups, countJSON{g.Class.String(), regs, g.Addresses, g.Lines})
		}
		b, _ := json.MarshalIndent(out, "", "  ")
		fmt.Fprintf(w, "%s\n", b)
		return
	}
	fmt.Fprintf(w, "%-9s %-12s %10s %10s\n", "CLASS", "REGIONS", "ADDRESSES", "LINES")
	for _, g := range groups {
		regs := g.Regions.String()
		if regs == "" {
			regs = "-"
		}
		fmt.Fprintf(w, "%-9s %-12s %10d %10d\n", g.Class, regs, g.Addresses, g.Lines)
	}
	fmt.Fprintf(w, "%-9s %-12s %10d %10d\n", "total", "", c.Total, c.Lines)
}
