package policy

import (
	"context"
	"log/slog"
	"net/netip"
	"sync"
	"time"
)

// The per-peer log rate limit: each peer may log logBurst warnings at once
// and one more every logEvery; at most logPeers peers are tracked, and
// peers beyond that share one budget. A peer flooding the server with bad
// requests therefore writes a bounded number of lines, and the next line
// it may log says how many were suppressed.
//
// A peer is an IPv4 address or an IPv6 /64 (one host commonly holds a
// whole /64, so per-address budgets would not bound it), and all peers
// together may log at most logTotalBurst lines at once and one more every
// logTotalEvery: many peers cannot fill the disk either.
const (
	logBurst = 20
	logEvery = time.Second
	logPeers = 1024

	logTotalBurst = 200
	logTotalEvery = 100 * time.Millisecond
)

// logKey returns the rate-limit key of a peer address: the address, or
// for an IPv6 address its /64.
func logKey(peer string) string {
	a, err := netip.ParseAddr(peer)
	if err != nil || !a.Is6() || a.Is4In6() {
		return peer
	}
	return netip.PrefixFrom(a.WithZone(""), 64).Masked().String()
}

// overflowKey is the budget shared by peers beyond logPeers.
const overflowKey = "\x00overflow"

type bucket struct {
	tokens     float64
	last       time.Time
	suppressed uint64
}

// peerLimiter is a token bucket per key. Safe for concurrent use.
type peerLimiter struct {
	burst float64
	every time.Duration
	max   int

	mu  sync.Mutex
	m   map[string]*bucket
	now func() time.Time // tests

	// total is the budget of all keys together; nil when unlimited.
	total                  *bucket
	totalBurst, totalEvery float64
}

func newPeerLimiter(burst int, every time.Duration, max int) *peerLimiter {
	return &peerLimiter{burst: float64(burst), every: every, max: max, m: map[string]*bucket{}, now: time.Now}
}

// withTotal adds a budget shared by every key: burst lines at once, one
// more every every.
func (l *peerLimiter) withTotal(burst int, every time.Duration) *peerLimiter {
	l.total = &bucket{tokens: float64(burst), last: l.now()}
	l.totalBurst, l.totalEvery = float64(burst), float64(every)
	return l
}

// allow takes a token for key. It reports whether the line may be logged
// and, if so, how many lines of this key's budget were suppressed since the
// last one logged.
func (l *peerLimiter) allow(key string) (bool, uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b := l.m[key]
	if b == nil {
		if len(l.m) >= l.max {
			l.pruneLocked(now)
		}
		if len(l.m) >= l.max {
			key = overflowKey
			b = l.m[key]
		}
		if b == nil {
			b = &bucket{tokens: l.burst, last: now}
			l.m[key] = b
		}
	}
	b.tokens += float64(now.Sub(b.last)) / float64(l.every)
	if b.tokens > l.burst {
		b.tokens = l.burst
	}
	b.last = now
	if t := l.total; t != nil {
		t.tokens += float64(now.Sub(t.last)) / l.totalEvery
		if t.tokens > l.totalBurst {
			t.tokens = l.totalBurst
		}
		t.last = now
	}
	if b.tokens < 1 || l.total != nil && l.total.tokens < 1 {
		b.suppressed++
		return false, 0
	}
	b.tokens--
	if l.total != nil {
		l.total.tokens--
	}
	n := b.suppressed
	b.suppressed = 0
	return true, n
}

// pruneLocked forgets buckets that have refilled and have nothing
// suppressed: they are in the state a new bucket starts in.
func (l *peerLimiter) pruneLocked(now time.Time) {
	full := time.Duration(l.burst) * l.every
	for k, b := range l.m {
		if k != overflowKey && b.suppressed == 0 && now.Sub(b.last) >= full {
			delete(l.m, k)
		}
	}
}

// warn logs at warn level, rate-limited per key (the peer's address).
func (s *Server) warn(key, msg string, attrs ...any) { s.limited(slog.LevelWarn, key, msg, attrs) }

// info logs at info level, rate-limited per key.
func (s *Server) info(key, msg string, attrs ...any) { s.limited(slog.LevelInfo, key, msg, attrs) }

func (s *Server) limited(level slog.Level, key, msg string, attrs []any) {
	if !s.log.Enabled(context.Background(), level) {
		return
	}
	ok, suppressed := s.logs.allow(logKey(key))
	if !ok {
		s.stats.logsSuppressed.Add(1)
		return
	}
	if suppressed > 0 {
		attrs = append(attrs, "suppressed_before", suppressed)
	}
	s.log.Log(context.Background(), level, msg, attrs...)
}
