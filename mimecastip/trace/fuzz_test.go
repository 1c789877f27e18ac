package trace

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/seed-b311f21d/go-mimecastip/mimecastip"
	"github.com/seed-b311f21d/go-mimecastip/regions"
)

// FuzzTrace reads arbitrary input as messages and traces them. The seed
// corpus is testdata/fuzz/FuzzTrace plus the fixture messages. It checks
// that nothing panics, that the reader ends, and that a "mimecast"
// verdict always rests on a boundary address the classifier calls
// Mimecast.
func FuzzTrace(f *testing.F) {
	fixtures, _ := filepath.Glob("testdata/*.eml")
	mboxes, _ := filepath.Glob("testdata/*.mbox")
	for _, p := range append(fixtures, mboxes...) {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	scoped, err := mimecastip.Load(regions.Embedded(), regions.SetOf(regions.US))
	if err != nil {
		f.Fatal(err)
	}
	tr, err := New(Config{Classifier: scoped, Regions: regions.SetOf(regions.US)})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		rd := NewReader(bytes.NewReader(b))
		rd.MaxHeaderBytes = 4096
		maxMessages := bytes.Count(b, []byte("\n")) + 2
		for n := 0; ; n++ {
			if n > maxMessages {
				t.Fatalf("reader returned more than %d results", maxMessages)
			}
			m, err := rd.Next()
			if err == io.EOF {
				return
			}
			if err != nil {
				if _, ok := err.(*Error); !ok {
					t.Fatalf("error of type %T: %v", err, err)
				}
				continue
			}
			size := 0
			for _, fl := range m.Fields {
				size += len(fl.Name) + len(fl.Value)
			}
			if size > rd.MaxHeaderBytes {
				t.Fatalf("header block of %d bytes passed the limit", size)
			}
			r := tr.Trace(m)
			if len(r.Reasons) == 0 {
				t.Fatalf("verdict %v without reasons", r.Verdict)
			}
			if r.Verdict == Mimecast {
				if r.Hop == nil || !r.Address.IsValid() || scoped.Lookup(r.Address).Class == mimecastip.Foreign || r.Hop.Addr != r.Address {
					t.Fatalf("mimecast verdict without a Mimecast boundary address: %+v", r)
				}
			}
		}
	})
}
