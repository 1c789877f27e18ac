package refresh

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strings"

	"github.com/seed-b311f21d/go-mimecastip/cmd/mimecastip/internal/atomicfile"
	"github.com/seed-b311f21d/go-mimecastip/cmd/mimecastip/internal/iprange"
	"github.com/seed-b311f21d/go-mimecastip/mimecastip"
	"github.com/seed-b311f21d/go-mimecastip/regions"
)

// Render writes nd, an update of old by [Apply], into old's text orig
// (the bytes old was parsed from), changing as little as it can: comments,
// blank lines, the order of rows and the layout of unchanged rows stay
// byte for byte. It rewrites the @version line, the @source line of
// [LiveSource] (added after the last @source line when orig has none), the
// rows whose fields changed, and the @end line; it inserts each new row
// next to its neighbours by prefix among the rows of its first region.
//
// Rows are matched by [regions.Range.Line]: old must be the parse of orig,
// and nd must hold every row of old (a refresh never deletes one).
func Render(orig []byte, old, nd *regions.Dataset) ([]byte, error) {
	text := strings.ReplaceAll(string(orig), "\r\n", "\n")
	text = strings.TrimPrefix(text, "\uFEFF")
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	oldAt := map[int]regions.Range{}
	for _, r := range old.Ranges {
		oldAt[r.Line] = r
	}
	newAt := map[int]regions.Range{}
	var added []regions.Range
	for _, r := range nd.Ranges {
		if r.Line == 0 {
			added = append(added, r)
			continue
		}
		if _, ok := oldAt[r.Line]; !ok {
			return nil, fmt.Errorf("refresh: row %s names line %d, which holds no row of the original", r.Prefix, r.Line)
		}
		newAt[r.Line] = r
	}
	if len(newAt) != len(oldAt) {
		return nil, fmt.Errorf("refresh: the update lost %d row(s) of the original", len(oldAt)-len(newAt))
	}
	var live *regions.Source
	for i := range nd.Sources {
		if nd.Sources[i].ID == LiveSource {
			live = &nd.Sources[i]
		}
	}
	// Where each new row goes: after the row of its first region that
	// sorts just before it, else before the first row of that region,
	// else after the last row of an earlier region, else before the first
	// row of the file.
	after, before := map[int][]regions.Range{}, map[int][]regions.Range{}
	SortRows(added)
	for _, a := range added {
		first := firstRegion(a.Regions)
		prev, next, lastEarlier, firstRow := 0, 0, 0, 0
		var prevP, nextP netip.Prefix
		for line, r := range newAt {
			if firstRow == 0 || line < firstRow {
				firstRow = line
			}
			fr := firstRegion(r.Regions)
			if fr < first && line > lastEarlier {
				lastEarlier = line
			}
			if fr != first {
				continue
			}
			if iprange.ComparePrefix(r.Prefix, a.Prefix) < 0 {
				if prev == 0 || iprange.ComparePrefix(r.Prefix, prevP) > 0 {
					prev, prevP = line, r.Prefix
				}
			} else if next == 0 || iprange.ComparePrefix(r.Prefix, nextP) < 0 {
				next, nextP = line, r.Prefix
			}
		}
		switch {
		case prev != 0:
			after[prev] = append(after[prev], a)
		case next != 0:
			before[next] = append(before[next], a)
		case lastEarlier != 0:
			after[lastEarlier] = append(after[lastEarlier], a)
		case firstRow != 0:
			before[firstRow] = append(before[firstRow], a)
		default:
			after[-1] = append(after[-1], a) // no rows at all: before @end
		}
	}
	var out strings.Builder
	wrote := map[string]bool{}
	lastSource, endSeen := 0, false
	for i, l := range lines {
		if f := strings.Fields(strings.SplitN(l, "#", 2)[0]); len(f) > 0 && f[0] == "@source" {
			lastSource = i + 1
		}
	}
	emit := func(s string) { out.WriteString(s); out.WriteByte('\n') }
	for i, l := range lines {
		n := i + 1
		f := strings.Fields(strings.SplitN(l, "#", 2)[0])
		for _, r := range before[n] {
			emit(regions.FormatRow(r))
		}
		switch {
		case len(f) > 0 && f[0] == "@version" && !wrote["version"]:
			emit("@version " + nd.Version)
			wrote["version"] = true
		case len(f) > 1 && f[0] == "@source" && f[1] == LiveSource && live != nil:
			emit(fmt.Sprintf("@source %s %s %s", live.ID, live.Date, live.Text))
			wrote["live"] = true
		case len(f) > 0 && f[0] == "@end":
			for _, r := range after[-1] {
				emit(regions.FormatRow(r))
			}
			emit(regions.EndLine(len(nd.Ranges)))
			endSeen = true
		default:
			if r, ok := newAt[n]; ok && !sameRow(r, oldAt[n]) {
				emit(regions.FormatRow(r))
			} else {
				emit(l)
			}
		}
		if n == lastSource && live != nil && !wrote["live"] && !hasLive(lines) {
			emit(fmt.Sprintf("@source %s %s %s", live.ID, live.Date, live.Text))
			wrote["live"] = true
		}
		for _, r := range after[n] {
			emit(regions.FormatRow(r))
		}
	}
	if !endSeen {
		return nil, fmt.Errorf("refresh: the original has no @end line")
	}
	if !wrote["version"] {
		return nil, fmt.Errorf("refresh: the original has no @version line")
	}
	if live != nil && !wrote["live"] {
		return nil, fmt.Errorf("refresh: the original has no @source line to place %s after", LiveSource)
	}
	return []byte(out.String()), nil
}

func hasLive(lines []string) bool {
	for _, l := range lines {
		if f := strings.Fields(strings.SplitN(l, "#", 2)[0]); len(f) > 1 && f[0] == "@source" && f[1] == LiveSource {
			return true
		}
	}
	return false
}

func firstRegion(s regions.Set) regions.Region {
	if rs := s.Regions(); len(rs) > 0 {
		return rs[0]
	}
	return 0
}

func sameRow(a, b regions.Range) bool {
	return a.Prefix == b.Prefix && a.Regions == b.Regions && a.Service == b.Service && a.Retired == b.Retired &&
		a.FirstSeen == b.FirstSeen && a.LastSeen == b.LastSeen && a.Comment == b.Comment && slices.Equal(a.Sources, b.Sources)
}

// WriteText writes text, a data file, to path: to a temporary file in the
// same directory, which is read back and validated (it must parse, hold
// want rows when want >= 0, and build a classifier) before it is renamed
// over path. On any error nothing is left behind and path is untouched. It
// refuses the embedded regions/ranges.txt and a path that is not a
// regular file.
func WriteText(path string, text []byte, want int) error {
	if IsEmbeddedFile(path) {
		return fmt.Errorf("refresh: %s: %w", path, ErrEmbeddedFile)
	}
	err := atomicfile.Write(path, text, atomicfile.Options{
		// A symlink is refused, not followed: the file written is the
		// one named.
		Check: func(path string) error {
			if fi, err := os.Lstat(path); err == nil && !fi.Mode().IsRegular() {
				return fmt.Errorf("%s is not a regular file", path)
			}
			return nil
		},
		Verify: func(tmp string) error {
			back, err := regions.ParseFile(tmp)
			if err != nil {
				return fmt.Errorf("the written file does not parse back: %w", err)
			}
			if want >= 0 && len(back.Ranges) != want {
				return fmt.Errorf("the written file has %d rows, want %d", len(back.Ranges), want)
			}
			if _, err := mimecastip.New(back.Ranges); err != nil {
				return fmt.Errorf("the written file does not build a classifier: %w", err)
			}
			return nil
		},
	})
	if err != nil {
		return fmt.Errorf("refresh: %w", err)
	}
	return nil
}

// formatText returns d in the format of [regions.Dataset.Format].
func formatText(d *regions.Dataset) ([]byte, error) {
	var buf bytes.Buffer
	if err := d.Format(&buf); err != nil {
		return nil, fmt.Errorf("refresh: %w", err)
	}
	return buf.Bytes(), nil
}
