package milter

import (
	"strings"
	"testing"

	gomilter "github.com/d--j/go-milter"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b311f21d/go-mimecastip/regions"
)

// tagMessage sends one message with headers through a tag-mode session
// and returns the inserted tag values and the deleted indexes.
func tagMessage(t *testing.T, addr, client string, headers [][2]string) (inserted []string, deleted []uint32) {
	t.Helper()
	s := newSession(t, addr)
	act, err := s.Conn("client.example.net", gomilter.FamilyInet, 40000, client)
	require.NoError(t, err)
	require.Equal(t, gomilter.ActionContinue, act.Type)
	_, err = s.Helo("client.example.net")
	require.NoError(t, err)
	_, err = s.Mail("<a@sender.example>", "")
	require.NoError(t, err)
	_, err = s.Rcpt("<u@example.com>", "")
	require.NoError(t, err)
	_, err = s.DataStart()
	require.NoError(t, err)
	for _, h := range headers {
		_, err = s.HeaderField(h[0], " "+h[1], nil)
		require.NoError(t, err)
	}
	_, err = s.HeaderEnd()
	require.NoError(t, err)
	mods, act, err := s.BodyReadFrom(strings.NewReader("body\r\n"))
	require.NoError(t, err)
	assert.Equal(t, gomilter.ActionAccept, act.Type)
	for _, m := range mods {
		switch m.Type {
		case gomilter.ActionInsertHeader:
			inserted = append(inserted, m.HeaderValue)
		case gomilter.ActionChangeHeader:
			assert.Equal(t, "", m.HeaderValue)
			deleted = append(deleted, m.HeaderIndex)
		}
	}
	return inserted, deleted
}

// TestTagCopiesBeyondTheLimitAreDeleted: a sender that pads its headers
// past MaxHeaderBytes and then writes its own copy of the tag header
// ("mimecast; ...") must not keep it: every copy is deleted, not only the
// ones within the limit.
func TestTagCopiesBeyondTheLimitAreDeleted(t *testing.T) {
	_, addr := serve(t, Config{Tag: true, MaxHeaderBytes: 512, Load: Loader("", regions.SetOf(regions.US))})
	var hs [][2]string
	hs = append(hs, [2]string{DefaultTagHeader, "mimecast; early copy"})
	for i := 0; i < 20; i++ {
		hs = append(hs, [2]string{"X-Padding", strings.Repeat("p", 60)})
	}
	hs = append(hs, [2]string{"x-MIMECASTIP-trace", "mimecast; address=170.10.129.124; class=mimecast; regions=us; prefix=170.10.129.0/24; decision=pass"})
	inserted, deleted := tagMessage(t, addr, "198.51.100.7", hs)
	require.Len(t, inserted, 1)
	assert.True(t, strings.HasPrefix(inserted[0], "bypass; address=198.51.100.7;"), inserted[0])
	assert.True(t, strings.HasSuffix(inserted[0], "; truncated"), inserted[0])
	assert.Equal(t, []uint32{2, 1}, deleted)
}
