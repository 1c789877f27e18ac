package spf

import (
	"context"
	"slices"
	"strings"
	"sync"
)

// Cache is a [Lookuper] that asks its underlying Lookuper once per name
// and answers every later lookup of that name (including concurrent ones)
// with the same records or error. One refresh run uses one Cache, so the
// global record and the regional records it includes are judged on the
// same answers. Safe for concurrent use.
type Cache struct {
	l  Lookuper
	mu sync.Mutex
	m  map[string]*cacheEntry
}

type cacheEntry struct {
	done chan struct{}
	txt  []string
	err  error
}

// NewCache returns a Cache in front of l.
func NewCache(l Lookuper) *Cache { return &Cache{l: l, m: map[string]*cacheEntry{}} }

// LookupTXT implements [Lookuper]. The first caller's ctx bounds the
// lookup; a later caller whose ctx ends first gets its ctx's error.
func (c *Cache) LookupTXT(ctx context.Context, name string) ([]string, error) {
	key := strings.ToLower(strings.TrimSuffix(name, "."))
	c.mu.Lock()
	e, ok := c.m[key]
	if !ok {
		e = &cacheEntry{done: make(chan struct{})}
		c.m[key] = e
	}
	c.mu.Unlock()
	if !ok {
		e.txt, e.err = c.l.LookupTXT(ctx, name)
		close(e.done)
	}
	select {
	case <-e.done:
		return slices.Clone(e.txt), e.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
