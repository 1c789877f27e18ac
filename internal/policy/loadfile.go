package policy

import (
	"github.com/seed-b311f21d/go-mimecastip/mimecastip"
	"github.com/seed-b311f21d/go-mimecastip/regions"
)

// loadFile reads and validates the data file at path and builds a
// classifier from it restricted to scope (every region when scope is
// empty).
func loadFile(path string, scope regions.Set) (*mimecastip.Classifier, error) {
	d, err := regions.ParseFile(path)
	if err != nil {
		return nil, err
	}
	return mimecastip.Load(d, scope)
}
