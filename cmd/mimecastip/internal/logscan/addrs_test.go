package logscan

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b311f21d/go-mimecastip/mimecastip"
)

func TestAddressesLimit(t *testing.T) {
	var in strings.Builder
	for i := 0; i < 50; i++ {
		fmt.Fprintf(&in, "Nov 22 07:14:%02d x 9.9.%d.1 9.9.%d.2\n", i, i, i)
	}
	s := &Scanner{Classifier: mimecastip.Default(), Want: MaskOf(mimecastip.Foreign)}
	a := &Addresses{Want: s.Want, Max: 21, Samples: true}
	err := s.Scan(strings.NewReader(in.String()), func(l *Line) error { return a.Add("f", l) })
	require.ErrorIs(t, err, ErrTooManyAddresses)
	assert.Equal(t, 20, a.Len(), "the line that would overflow is not counted at all")

	c := &Counter{Want: s.Want, Max: 7}
	require.NoError(t, s.Scan(strings.NewReader(in.String()), func(l *Line) error { c.Add(l); return nil }))
	assert.True(t, c.Overflow)
	assert.Equal(t, 7, c.Distinct)
	assert.Equal(t, 100, c.Total)

	a = &Addresses{Want: s.Want, Samples: true}
	require.NoError(t, s.Scan(strings.NewReader(in.String()+"Nov 23 01:02:03 x 9.9.0.1\n"), func(l *Line) error { return a.Add("f", l) }))
	st := a.Sorted()
	require.Len(t, st, 100)
	assert.Equal(t, "9.9.0.1", st[0].Addr.String())
	assert.Equal(t, 2, st[0].Count)
	assert.Equal(t, "Nov 22 07:14:00", st[0].First)
	assert.Equal(t, "Nov 23 01:02:03", st[0].Last)
	assert.Equal(t, 1, st[0].SampleLine)
}

func TestTimestamp(t *testing.T) {
	for line, want := range map[string]string{
		"Nov 22 07:14:45 mx postfix/smtpd[1]: x":                    "Nov 22 07:14:45",
		"Nov  2 07:14:45 mx postfix/smtpd[1]: x":                    "Nov  2 07:14:45",
		"2026-11-22T07:14:45.123456+00:00 mx postfix/smtpd[1]: x":   "2026-11-22T07:14:45.123456+00:00",
		"2026-11-22 07:14:45 1rXyZa-000Abc-12 <= a@b H=x [1.2.3.4]": "2026-11-22 07:14:45",
		"2026-11-22 07:14:45.123 +0100 1rXyZa-000Abc-12 <= a@b":     "2026-11-22 07:14:45.123 +0100",
		"2026-11-22T07:14:45.123Z,1.2.3.4,host":                     "2026-11-22T07:14:45.123Z",
		"Foo 22 07:14:45 x":                                         "",
		"2026-11-22":                                                "",
		"":                                                          "",
	} {
		assert.Equal(t, want, string(Timestamp([]byte(line))), line)
	}
}

// TestAddressesMapped: a client logged as ::ffff:8.8.8.8 (smtpd on a
// dual-stack socket) is the client 8.8.8.8, in the table and in the
// distinct count: one row, one distinct address, both lines counted.
func TestAddressesMapped(t *testing.T) {
	in := "Nov 22 07:14:00 mx postfix/smtpd[1]: connect from x[8.8.8.8]\n" +
		"Nov 22 07:15:00 mx postfix/smtpd[1]: connect from x[::ffff:8.8.8.8]\n" +
		"Nov 22 07:16:00 mx postfix/smtpd[1]: connect from x[IPv6:::FFFF:8.8.8.8]\n"
	s := &Scanner{Classifier: mimecastip.Default(), Want: MaskOf(mimecastip.Foreign), Inbound: &Inbound{}}
	a := &Addresses{Want: s.Want, Samples: true}
	c := &Counter{Want: s.Want}
	require.NoError(t, s.Scan(strings.NewReader(in), func(l *Line) error { c.Add(l); return a.Add("f", l) }))
	st := a.Sorted()
	require.Len(t, st, 1)
	assert.Equal(t, "8.8.8.8", st[0].Addr.String())
	assert.Equal(t, 3, st[0].Count)
	assert.Equal(t, "Nov 22 07:14:00", st[0].First)
	assert.Equal(t, "Nov 22 07:16:00", st[0].Last)
	assert.Equal(t, 1, c.Distinct)
	assert.Equal(t, 3, c.Total)
}

// TestAddressesFirstLast: first and last seen are the earliest and
// latest stamps, not the first and last in input order: "scan
// --addresses mail.log*" reads the newest file first. A syslog log that
// runs from December into January, zones of ISO stamps and stamps that
// cannot be compared (taken in input order) are handled.
func TestAddressesFirstLast(t *testing.T) {
	add := func(a *Addresses, lines ...string) {
		s := &Scanner{Classifier: mimecastip.Default(), Want: MaskOf(mimecastip.Foreign), Inbound: &Inbound{}}
		require.NoError(t, s.Scan(strings.NewReader(strings.Join(lines, "")), func(l *Line) error { return a.Add("f", l) }))
	}
	pf := func(ts string) string { return ts + " mx postfix/smtpd[1]: connect from x[8.8.8.8]\n" }
	for _, tc := range []struct {
		files       [][]string
		first, last string
	}{
		// mail.log, then mail.log.1
		{[][]string{{pf("Nov 23 01:00:00"), pf("Nov 23 02:00:00")}, {pf("Nov 22 01:00:00"), pf("Nov 22 02:00:00")}}, "Nov 22 01:00:00", "Nov 23 02:00:00"},
		{[][]string{{pf("Dec 31 23:59:00"), pf("Jan  1 00:01:00")}}, "Dec 31 23:59:00", "Jan  1 00:01:00"},
		{[][]string{{pf("Jan  1 00:01:00")}, {pf("Dec 31 23:59:00")}}, "Dec 31 23:59:00", "Jan  1 00:01:00"},
		{[][]string{{pf("2026-11-22T10:00:00+02:00"), pf("2026-11-22T09:00:00+00:00"), pf("2026-11-22T08:30:00Z")}}, "2026-11-22T10:00:00+02:00", "2026-11-22T09:00:00+00:00"},
		{[][]string{{pf("2026-11-22T10:00:00+0100")}, {pf("2026-11-21T10:00:00+0100")}}, "2026-11-21T10:00:00+0100", "2026-11-22T10:00:00+0100"},
		// not comparable: input order
		{[][]string{{pf("2026-11-22T10:00:00+02:00"), pf("Nov 21 10:00:00")}}, "2026-11-22T10:00:00+02:00", "Nov 21 10:00:00"},
	} {
		a := &Addresses{Want: MaskOf(mimecastip.Foreign), Samples: true}
		n := 0
		for _, f := range tc.files {
			add(a, f...)
			n += len(f)
		}
		st := a.Sorted()
		require.Len(t, st, 1)
		assert.Equal(t, n, st[0].Count)
		assert.Equal(t, tc.first, st[0].First, "%q", tc.files)
		assert.Equal(t, tc.last, st[0].Last, "%q", tc.files)
	}
}
