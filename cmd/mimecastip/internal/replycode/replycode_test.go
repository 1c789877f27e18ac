package replycode

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestRefusal(t *testing.T) {
	for _, s := range []string{"450", "451", "454", "500", "550", "554", "599", "400"} {
		assert.True(t, Refusal(s), s)
	}
	for _, s := range []string{"", "4", "45", "4500", "250", "221", "354", "650", "45a", "4 5", "５50", "55\x00", "OK", "REJECT"} {
		assert.False(t, Refusal(s), "%q", s)
	}
}
