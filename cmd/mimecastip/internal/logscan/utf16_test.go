package logscan

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/klauspost/compress/gzip"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b311f21d/go-mimecastip/mimecastip"
)

func encodeUTF16(s string, bigEndian, bom bool) []byte {
	var b []byte
	units := utf16.Encode([]rune(s))
	if bom {
		units = append([]uint16{0xFEFF}, units...)
	}
	for _, u := range units {
		if bigEndian {
			b = append(b, byte(u>>8), byte(u))
		} else {
			b = append(b, byte(u), byte(u>>8))
		}
	}
	return b
}

func readAllDecompressed(t *testing.T, in []byte) (string, error) {
	t.Helper()
	r, _, err := Decompress(bytes.NewReader(in))
	require.NoError(t, err)
	defer r.Close()
	b, err := io.ReadAll(r)
	return string(b), err
}

// TestDecompressUTF16: UTF-16 text (Microsoft 365 message trace exports,
// PowerShell's Out-File), with either byte-order mark, without one, and
// inside a gzip file, is read as UTF-8, so that scan finds its addresses
// instead of selecting nothing; surrogate pairs decode, unpaired ones
// become U+FFFD, an odd last byte is an error.
func TestDecompressUTF16(t *testing.T) {
	const text = "\"Received\",\"FromIP\"\r\n\"11/22/2026 7:14:45 AM\",\"192.0.2.10\"\r\n\"😀 é\",\"2001:db8::10\"\r\n"
	for name, in := range map[string][]byte{
		"le-bom": encodeUTF16(text, false, true),
		"be-bom": encodeUTF16(text, true, true),
		"le":     encodeUTF16(text, false, false),
		"be":     encodeUTF16(text, true, false),
	} {
		got, err := readAllDecompressed(t, in)
		require.NoError(t, err, name)
		assert.Equal(t, text, got, name)

		var gz bytes.Buffer
		w := gzip.NewWriter(&gz)
		w.Write(in)
		w.Close()
		got, err = readAllDecompressed(t, gz.Bytes())
		require.NoError(t, err, name)
		assert.Equal(t, text, got, name+" in gzip")
	}

	got, err := readAllDecompressed(t, []byte{0xFF, 0xFE, 'a', 0, 0x00, 0xD8, 'b', 0, 0x00, 0xDC})
	require.NoError(t, err)
	assert.Equal(t, "a\uFFFDb\uFFFD", got, "unpaired surrogates")

	_, err = readAllDecompressed(t, append(encodeUTF16("a 192.0.2.10\n", false, true), 'x'))
	assert.ErrorIs(t, err, ErrOddUTF16)

	// not UTF-16: plain text, a log truncated under its writer (a run of
	// zero bytes), binary
	for _, in := range []string{"a 192.0.2.10\n", strings.Repeat("\x00", 100) + "a 192.0.2.10\n", "\x00\x01\x02\x03\x04\x05\x06\x07\x08"} {
		got, err := readAllDecompressed(t, []byte(in))
		require.NoError(t, err)
		assert.Equal(t, in, got)
	}
}

// TestScanUTF16: the scanner finds the client of a UTF-16 Microsoft 365
// message trace export.
func TestScanUTF16(t *testing.T) {
	data := encodeUTF16(string(fixture(t, "m365-trace.csv")), false, true)
	r, _, err := Decompress(bytes.NewReader(data))
	require.NoError(t, err)
	s := &Scanner{Classifier: mimecastip.Default(), Want: allClasses, Inbound: &Inbound{}}
	var addrs []string
	require.NoError(t, s.Scan(r, func(l *Line) error { addrs = append(addrs, l.Matches[0].Addr.String()); return nil }))
	assert.Equal(t, []string{"192.0.2.10", "2001:db8::10"}, addrs)
}
