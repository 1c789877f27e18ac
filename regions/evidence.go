package regions

// GlobalSPFRecord is Mimecast's global SPF record, which includes every
// regional _netblocks record (it lists no range of its own). It is not
// the include of region [Global]: that region holds the website and Web
// Security addresses, which no SPF record publishes.
const GlobalSPFRecord = "_netblocks.mimecast.com"

// EmbeddedFile returns a copy of the text of the embedded data file, the
// bytes [Embedded] parses: a tool that rewrites the file (such as
// "mimecastip refresh --write") can keep its comments and layout.
func EmbeddedFile() []byte { return []byte(embedded) }

// NewestEvidence returns the newest date any source shows an active row
// of region r (the latest LastSeen of its active rows, in the date forms
// of the data file), or "" when d has no active row for r. It says how old
// the evidence for a region is; the dataset's Version is the newest over
// every region.
func (d *Dataset) NewestEvidence(r Region) string {
	newest := ""
	for _, rg := range d.Ranges {
		if !rg.Retired && rg.Regions.Has(r) && laterDate(rg.LastSeen, newest) {
			newest = rg.LastSeen
		}
	}
	return newest
}

// laterDate reports whether date a (YYYY, YYYY-MM or YYYY-MM-DD) is later
// than b; a partial date counts as the end of its period.
func laterDate(a, b string) bool {
	end := func(s string) string {
		switch len(s) {
		case 4:
			return s + "-12-31"
		case 7:
			return s + "-31"
		}
		return s
	}
	return b == "" || end(a) > end(b)
}
