package logscan

import (
	"slices"
	"testing"
)

// findByteLoop is the previous Find (a byte-at-a-time skip loop), kept to
// compare speed and results with.
func findByteLoop(dst []Match, line []byte) []Match {
	n := len(line)
	for i := 0; i < n; {
		// Every address holds a digit or a colon: skip to the next one,
		// then back up to the start of its run of address characters.
		if class[line[i]]&(cDigit|cColon) == 0 {
			i++
			continue
		}
		for i > 0 && class[line[i-1]]&cRun != 0 {
			i--
		}
		j, colons, dots, double := i, 0, 0, false
		for ; j < n; j++ {
			c := class[line[j]]
			if c&cRun == 0 {
				break
			}
			if c == cColon {
				colons++
				if j > i && line[j-1] == ':' {
					double = true
				}
			} else if c == cDot {
				dots++
			}
		}
		// An IPv6 address has "::" or seven colons (a timestamp has two).
		if colons >= 7 || double && colons >= 2 {
			if m, ok := find6(line, i, j); ok {
				dst = append(dst, m)
				i = j
				continue
			}
		}
		if dots >= 3 {
			dst = find4(dst, line, i, j)
		}
		i = j
	}
	return dst
}

// FuzzFindSameAsByteLoop: the IndexByte-driven Find finds exactly what the
// byte loop finds.
func FuzzFindSameAsByteLoop(f *testing.F) {
	for _, s := range []string{"connect from h[170.10.133.5]:25 and [IPv6:2001:db8::1]", "a.1.2.3.4 x", "1.2.3.4.5", "::ffff:1.2.3.4", "e.c 0.1/0.2 2.0.0 1.2.3.4:5.6.7.8"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, b := Find(nil, []byte(s)), findByteLoop(nil, []byte(s))
		if !slices.Equal(a, b) {
			t.Fatalf("Find(%q) = %v, byte loop %v", s, a, b)
		}
	})
}
