package audit

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// WriteText writes r for people: one line per entry finding, the missing
// and partially covered published ranges, and a summary.
func (r *Report) WriteText(w io.Writer, name string) error {
	b := bufio.NewWriterSize(w, 64*1024)
	region := r.Regions.String()
	if region == "" {
		region = "none"
	}
	fmt.Fprintf(b, "audit of %s against region %s", name, region)
	if r.Inferred {
		fmt.Fprintf(b, " (inferred from the entries; set it with --region)")
	}
	fmt.Fprintf(b, ", dataset %s\n\n", r.Version)
	width := 18
	for _, e := range r.Entries {
		if n := len(e.Text); n > width && n <= 40 {
			width = n
		}
	}
	for _, m := range r.Ranges {
		if n := len(m.Prefix); n > width {
			width = n
		}
	}
	row := "%-9s %-" + fmt.Sprint(width) + "s %-15s %s\n"
	for _, e := range r.Entries {
		loc := fmt.Sprintf("line %d", e.Line)
		if len(e.Findings) == 0 {
			note := ""
			if n := len(e.Covers); n > 0 {
				note = fmt.Sprintf("covers %d published range%s", n, plural(n))
			}
			fmt.Fprintf(b, row, loc, e.Text, "ok", note)
			continue
		}
		for i, f := range e.Findings {
			kind := f.Kind
			if f.Level == Error {
				kind = strings.ToUpper(kind)
			}
			msg := f.Message
			if len(f.Prefixes) > 0 && f.Kind != KindNonCanonical {
				msg += ": " + joinLimit(f.Prefixes, 8)
			}
			if i == 0 {
				fmt.Fprintf(b, row, loc, e.Text, kind, msg)
			} else {
				fmt.Fprintf(b, row, "", "", kind, msg)
			}
		}
	}
	if len(r.Entries) > 0 {
		b.WriteString("\n")
	}
	for _, m := range r.Ranges {
		what := "not in the list: mail from it will be lost"
		if m.Status == KindPartial {
			what = "only partly in the list; missing " + joinLimit(m.Missing, 8)
		}
		fmt.Fprintf(b, row, strings.ToUpper(m.Status), m.Prefix, m.Regions.String()+" "+m.Service, what)
	}
	if len(r.Ranges) > 0 {
		b.WriteString("\n")
	}
	s := r.Summary
	fmt.Fprintf(b, "%d entries: %d ok, %d foreign, %d other region, %d retired, %d not mail, %d invalid or non-canonical, %d on reject lines",
		s.Entries, s.OK, s.Foreign, s.OtherRegion, s.Retired, s.NotMail, s.Invalid, s.Deny)
	if s.Loopback > 0 {
		fmt.Fprintf(b, ", %d loopback", s.Loopback)
	}
	b.WriteString("\n")
	fmt.Fprintf(b, "%d published ranges of region %s: %d missing, %d partly covered\n", s.Published, region, s.Missing, s.Partial)
	switch {
	case r.Regions.IsEmpty():
		b.WriteString("no entry is a Mimecast mail range; give the account's region with --region\n")
	case s.Published == 0:
		fmt.Fprintf(b, "region %s publishes no range of the classes checked: nothing to check the list against\n", region)
	}
	result := "OK"
	if !r.OK {
		result = "FAIL"
	}
	fmt.Fprintf(b, "result: %s (%d errors, %d warnings)\n", result, s.Errors, s.Warnings)
	return b.Flush()
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func joinLimit(ss []string, n int) string {
	if len(ss) <= n {
		return strings.Join(ss, ", ")
	}
	return strings.Join(ss[:n], ", ") + fmt.Sprintf(" and %d more", len(ss)-n)
}

// WriteJSON writes r as one indented JSON object with a "file" field
// naming the input, entry by entry, so that a huge report is not built in
// memory twice.
func (r *Report) WriteJSON(w io.Writer, name string) error {
	b := bufio.NewWriterSize(w, 64*1024)
	field := func(key string, v any, last bool) error {
		j, err := json.MarshalIndent(v, "  ", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintf(b, "  %q: %s", key, j)
		if !last {
			b.WriteString(",")
		}
		b.WriteString("\n")
		return nil
	}
	b.WriteString("{\n")
	for _, f := range []struct {
		k string
		v any
	}{{"file", name}, {"version", r.Version}, {"regions", r.Regions}, {"regions_inferred", r.Inferred}} {
		if err := field(f.k, f.v, false); err != nil {
			return err
		}
	}
	b.WriteString("  \"entries\": [")
	for i := range r.Entries {
		if i > 0 {
			b.WriteString(",")
		}
		j, err := json.MarshalIndent(&r.Entries[i], "    ", "  ")
		if err != nil {
			return err
		}
		b.WriteString("\n    ")
		b.Write(j)
	}
	if len(r.Entries) > 0 {
		b.WriteString("\n  ")
	}
	b.WriteString("],\n")
	ranges := r.Ranges
	if ranges == nil {
		ranges = []RangeReport{}
	}
	if err := field("missing_ranges", ranges, false); err != nil {
		return err
	}
	if err := field("summary", r.Summary, false); err != nil {
		return err
	}
	if err := field("ok", r.OK, true); err != nil {
		return err
	}
	b.WriteString("}\n")
	return b.Flush()
}
