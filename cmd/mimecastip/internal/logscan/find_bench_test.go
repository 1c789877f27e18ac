package logscan

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/seed-b311f21d/go-mimecastip/cmd/mimecastip/internal/logscan/logtest"
)

// BenchmarkFind measures the address finder alone on generated log lines.
func BenchmarkFind(b *testing.B) {
	var log bytes.Buffer
	hits := []netipPrefix{}
	for _, r := range mailPrefixes() {
		hits = append(hits, r.Prefix)
	}
	require.NoError(b, logtest.Write(&log, 20000, 3, hits))
	lines := bytes.SplitAfter(log.Bytes(), []byte{'\n'})
	buf := make([]Match, 0, 16)
	b.SetBytes(int64(log.Len()))
	for b.Loop() {
		for _, l := range lines {
			buf = Find(buf[:0], l)
		}
	}
}

func BenchmarkFindByteLoop(b *testing.B) {
	var log bytes.Buffer
	hits := []netipPrefix{}
	for _, r := range mailPrefixes() {
		hits = append(hits, r.Prefix)
	}
	require.NoError(b, logtest.Write(&log, 20000, 3, hits))
	lines := bytes.SplitAfter(log.Bytes(), []byte{'\n'})
	buf := make([]Match, 0, 16)
	b.SetBytes(int64(log.Len()))
	for b.Loop() {
		for _, l := range lines {
			buf = findByteLoop(buf[:0], l)
		}
	}
}
