package trace

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func readAll(t *testing.T, in string, max int) ([]*Message, []error) {
	t.Helper()
	rd := NewReader(strings.NewReader(in))
	rd.MaxHeaderBytes = max
	var ms []*Message
	var errs []error
	for i := 0; i < 100; i++ {
		m, err := rd.Next()
		if err == io.EOF {
			return ms, errs
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		ms = append(ms, m)
	}
	t.Fatal("reader does not end")
	return nil, nil
}

func TestFolding(t *testing.T) {
	for _, eol := range []string{"\n", "\r\n"} {
		in := strings.ReplaceAll("A: one\n two\n\tthree\nB : x\nC:\n\nbody\nD: not a header\n", "\n", eol)
		ms, errs := readAll(t, in, 0)
		require.Empty(t, errs)
		require.Len(t, ms, 1)
		f := ms[0].Fields
		require.Len(t, f, 3)
		assert.Equal(t, Field{"A", "one two\tthree", 1}, f[0])
		assert.Equal(t, Field{"B", "x", 4}, f[1])
		assert.Equal(t, Field{"C", "", 5}, f[2])
		assert.Equal(t, []string{"x"}, ms[0].Values("b"))
	}
}

func TestHeadersOnlyAndLeadingBlank(t *testing.T) {
	ms, errs := readAll(t, "\n\nSubject: x", 0)
	require.Empty(t, errs)
	require.Len(t, ms, 1)
	assert.Equal(t, 3, ms[0].Fields[0].Line)
	ms, errs = readAll(t, "", 0)
	assert.Empty(t, ms)
	assert.Empty(t, errs)
	_, err := ParseHeader(nil)
	assert.Error(t, err)
}

func TestMalformed(t *testing.T) {
	for in, want := range map[string]string{
		"Subject: x\nno colon here\n\n":              "message 1, line 2: not a header field",
		" leading: space\n":                          "message 1, line 1: continuation line before the first header field",
		"Sub ject: x\n":                              "message 1, line 1: not a header field",
		": empty name\n":                             "message 1, line 1: not a header field",
		"Subject: x\nFrom bob@x Tue\n\n":             "message 1, line 2: not a header field",
		"A: " + strings.Repeat("x", 100):             "message 1, line 1: line longer than the header limit of 64 bytes",
		"A: x\nB: " + strings.Repeat("y", 70) + "\n": "message 1, line 2: header block larger than 64 bytes",
	} {
		_, errs := readAll(t, in, 64)
		require.Len(t, errs, 1, "%q", in)
		assert.Contains(t, errs[0].Error(), want, "%q", in)
		var pe *Error
		assert.True(t, errors.As(errs[0], &pe))
	}
}

func TestHeaderLimitCountsTheBlock(t *testing.T) {
	// Many short lines add up.
	in := strings.Repeat("A: x\n", 20) + "\nbody"
	_, errs := readAll(t, in, 50)
	require.Len(t, errs, 1)
	assert.Contains(t, errs[0].Error(), "header block larger than 50 bytes")
	ms, errs := readAll(t, in, 200)
	assert.Empty(t, errs)
	assert.Len(t, ms[0].Fields, 20)
}

func TestMbox(t *testing.T) {
	in := "From a@x Mon Jan  1 00:00:00 2024\nSubject: one\n\nbody\nFrom inside a paragraph is no separator\n\n" +
		"From b@x Mon Jan  1 00:00:01 2024\r\nSubject: two\r\n\r\nbody\r\n\r\n" +
		"From c@x Mon Jan  1 00:00:02 2024\nbad line\n\nbody\n\n" +
		"From d@x Mon Jan  1 00:00:03 2024\nSubject: four\n\n" + strings.Repeat("x", 300) + "\n"
	ms, errs := readAll(t, in, 0)
	require.Len(t, errs, 1)
	assert.Contains(t, errs[0].Error(), "message 3, line 13: not a header field")
	require.Len(t, ms, 3)
	assert.Equal(t, "a@x Mon Jan  1 00:00:00 2024", ms[0].Envelope)
	assert.Equal(t, []string{"one"}, ms[0].Values("Subject"))
	assert.Equal(t, "b@x Mon Jan  1 00:00:01 2024", ms[1].Envelope)
	assert.Equal(t, 7, ms[1].Line)
	assert.Equal(t, []string{"two"}, ms[1].Values("subject"))
	assert.Equal(t, 4, ms[2].Index)
	assert.Equal(t, 17, ms[2].Line)
}

func TestLongBodyLinesAreSkipped(t *testing.T) {
	// A body line much larger than the reader's buffer and the header limit.
	in := "Subject: x\n\n" + strings.Repeat("y", 1<<20) + "\n"
	ms, errs := readAll(t, in, 1024)
	assert.Empty(t, errs)
	require.Len(t, ms, 1)
	in = "From a\nSubject: x\n\n" + strings.Repeat("y", 1<<20) + "\n\nFrom b\nSubject: y\n"
	ms, errs = readAll(t, in, 1024)
	assert.Empty(t, errs)
	require.Len(t, ms, 2)
	assert.Equal(t, "b", ms[1].Envelope)
}

type failingReader struct{ n int }

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n == 0 {
		return 0, errors.New("disk on fire")
	}
	f.n = 0
	return copy(p, "Subject: x\n"), nil
}

func TestReadErrorIsSticky(t *testing.T) {
	rd := NewReader(&failingReader{n: 1})
	_, err := rd.Next()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "disk on fire")
	_, err2 := rd.Next()
	assert.Equal(t, err, err2)
}

func TestParseReceivedForms(t *testing.T) {
	for v, want := range map[string]struct{ addr, from, by, id string }{
		"from a.example (a.example [192.0.2.1]) by mx.example.com (Postfix) with ESMTPS id ABC; date":                   {"192.0.2.1", "a.example", "mx.example.com", "ABC"},
		"from [IPv6:2001:db8::1] (unknown [IPv6:2001:db8::1]) by mx.example.com with ESMTP id Q":                        {"2001:db8::1", "[IPv6:2001:db8::1]", "mx.example.com", "Q"},
		"from x ([192.0.2.7]:41696) by eggs.example.org with esmtps (TLS1.2) id 1iU9; date":                             {"192.0.2.7", "x", "eggs.example.org", "1iU9"},
		"from [192.0.2.8] (helo=[170.10.129.5]) by mx.example.com with esmtp id 9":                                      {"192.0.2.8", "[192.0.2.8]", "mx.example.com", "9"},
		"from host ([192.0.2.9] helo=[170.10.129.5]) by mx.example.com with esmtp":                                      {"192.0.2.9", "host", "mx.example.com", ""},
		"from X.prod.outlook.example (2001:db8:4::5c) by Y.outlook.example (2001:db8:4::15) with Microsoft SMTP Server": {"2001:db8:4::5c", "X.prod.outlook.example", "y.outlook.example", ""},
		"from unknown (HELO 170.10.129.5) (192.0.2.10) by mail.example.net with SMTP; date":                             {"192.0.2.10", "unknown", "mail.example.net", ""},
		"from [170.10.129.5] (rdns [192.0.2.11]) by MX.Example.COM.":                                                    {"192.0.2.11", "[170.10.129.5]", "mx.example.com", ""},
		"from a (a [IPv6:::ffff:192.0.2.12]) by b":                                                                      {"192.0.2.12", "a", "b", ""},
		"from a (a [fe80::1%eth0]) by b":                                                                                {"fe80::1", "a", "b", ""},
		"FROM a (b [192.0.2.13] (may be forged)) BY c":                                                                  {"192.0.2.13", "a", "c", ""},
		"from a (b [192.0.2.14]) (using TLS (nested (deeply))) by c":                                                    {"192.0.2.14", "a", "c", ""},
		"from a (unbalanced [192.0.2.15] by c":                                                                          {"", "a", "", ""},
	} {
		h := ParseReceived(v)
		got := struct{ addr, from, by, id string }{"", h.From, h.By, h.ID}
		if h.Addr.IsValid() {
			got.addr = h.Addr.String()
		}
		assert.Equal(t, want, got, "%s (%s)", v, h.AddrProblem)
	}
	h := ParseReceived("from a (a [999.1.1.1]) by b")
	assert.False(t, h.Addr.IsValid())
	assert.Equal(t, "the from clause records no address", h.AddrProblem)
}

func TestByteOrderMark(t *testing.T) {
	ms, errs := readAll(t, "\xef\xbb\xbfReceived: from a (a [192.0.2.1]) by b\r\n\r\nbody", 0)
	require.Empty(t, errs)
	require.Len(t, ms, 1)
	assert.Equal(t, "Received", ms[0].Fields[0].Name)
	// Only at the very start.
	_, errs = readAll(t, "A: x\n\xef\xbb\xbfB: y\n", 0)
	require.Len(t, errs, 1)
}
