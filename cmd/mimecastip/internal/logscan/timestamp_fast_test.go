package logscan

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestIsClockIsMonth checks the word-at-a-time isClock and the packed
// isMonth against their definitions.
func TestIsClockIsMonth(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 18))
	clock := func(b []byte) bool {
		d := func(c byte) bool { return c >= '0' && c <= '9' }
		return len(b) >= 8 && d(b[0]) && d(b[1]) && b[2] == ':' && d(b[3]) && d(b[4]) && b[5] == ':' && d(b[6]) && d(b[7])
	}
	const alphabet = "0123456789:::/;\x00\x80\xb0\xb9\xba\xff 9"
	for range 300000 {
		b := make([]byte, 6+r.IntN(5))
		for i := range b {
			if r.IntN(4) == 0 {
				b[i] = byte(r.Uint32())
			} else {
				b[i] = alphabet[r.IntN(len(alphabet))]
			}
		}
		if r.IntN(2) == 0 && len(b) >= 8 {
			b[2], b[5] = ':', ':'
		}
		if got, want := isClock(b), clock(b); got != want {
			t.Fatalf("isClock(%q) = %v", b, got)
		}
	}
	months := []string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}
	const letters = "JFMASONDaepuoecnbrylgvtJ\x00\x80j"
	for range 300000 {
		b := []byte{letters[r.IntN(len(letters))], letters[r.IntN(len(letters))], letters[r.IntN(len(letters))]}
		if r.IntN(3) == 0 {
			copy(b, months[r.IntN(12)])
			b[r.IntN(3)] ^= byte(r.IntN(2)) << r.IntN(8)
		}
		if got, want := isMonth(b), slices.Contains(months, string(b)); got != want {
			t.Fatalf("isMonth(%q) = %v", b, got)
		}
	}
}
