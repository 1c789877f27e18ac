package logscan

import (
	"encoding/binary"
	"strings"
	"time"
)

// Timestamp returns the time stamp at the start of a log line, as
// written, or nil: a syslog (RFC 3164) "Nov 22 07:14:45" (with
// microseconds in journalctl -o short-precise), journalctl -o
// short-full's "Tue 2026-11-22 07:14:45 UTC", an RFC 3339 or
// ISO 8601 stamp ("2026-11-22T07:14:45.123456+00:00", as rsyslog and
// Exchange write), or an Exim "2026-11-22 07:14:45" (with its optional
// fraction and "+0000" zone).
func Timestamp(line []byte) []byte {
	if len(line) >= 15 && isMonth(line) && line[3] == ' ' && (line[4] == ' ' || isDigit(line[4])) && isDigit(line[5]) &&
		line[6] == ' ' && isClock(line[7:]) {
		return line[:fraction(line, 15)] // journalctl -o short-precise adds microseconds
	}
	if len(line) >= 23 && isWeekday(line) && line[3] == ' ' && isDate(line[4:]) && line[14] == ' ' && isClock(line[15:]) {
		// journalctl -o short-full: "Tue 2026-12-01 12:00:00 UTC"
		e := fraction(line, 23)
		if z := e + 1; e < len(line) && line[e] == ' ' {
			for z < len(line) && (line[z] >= 'A' && line[z] <= 'Z' || line[z] == '+' || line[z] == '-' || isDigit(line[z])) {
				z++
			}
			if z > e+1 && z < len(line) && line[z] == ' ' {
				e = z
			}
		}
		return line[:e]
	}
	if !isDate(line) {
		return nil
	}
	if len(line) > 10 && line[10] == 'T' {
		e := 11
		for e < len(line) && line[e] != ' ' && line[e] != ',' && line[e] != '\t' {
			e++
		}
		return line[:e]
	}
	if len(line) >= 19 && line[10] == ' ' && isClock(line[11:]) {
		e := 19
		if e < len(line) && line[e] == '.' {
			e++
			for e < len(line) && isDigit(line[e]) {
				e++
			}
		}
		if len(line) >= e+6 && line[e] == ' ' && (line[e+1] == '+' || line[e+1] == '-') &&
			isDigit(line[e+2]) && isDigit(line[e+3]) && isDigit(line[e+4]) && isDigit(line[e+5]) && (len(line) == e+6 || line[e+6] == ' ') {
			e += 6
		}
		return line[:e]
	}
	return nil
}

// fraction returns the end of the fraction of a second ".123456" at
// line[e:], or e when there is none.
func fraction(line []byte, e int) int {
	if e+1 < len(line) && line[e] == '.' && isDigit(line[e+1]) {
		e++
		for e < len(line) && isDigit(line[e]) {
			e++
		}
	}
	return e
}

func isWeekday(b []byte) bool {
	switch string(b[:3]) {
	case "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun":
		return true
	}
	return false
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// isDate reports whether line starts with "dddd-dd-dd".
func isDate(b []byte) bool {
	return len(b) >= 10 && isDigit(b[0]) && isDigit(b[1]) && isDigit(b[2]) && isDigit(b[3]) && b[4] == '-' &&
		isDigit(b[5]) && isDigit(b[6]) && b[7] == '-' && isDigit(b[8]) && isDigit(b[9])
}

// isClock reports whether b starts with "dd:dd:dd".
func isClock(b []byte) bool {
	if len(b) < 8 {
		return false
	}
	// Eight bytes at once: against "00:00:00" a digit leaves 0 to 9 and
	// a colon 0; every byte is then at most 9, the colons' are 0.
	y := binary.LittleEndian.Uint64(b) ^ 0x30303a30303a3030
	const low7 = ^uint64(msb)
	return (y|(y&low7+0x76*lsb))&msb == 0 && y&0x0000ff0000ff0000 == 0
}

func isMonth(b []byte) bool {
	switch uint32(b[0])<<16 | uint32(b[1])<<8 | uint32(b[2]) {
	case 'J'<<16 | 'a'<<8 | 'n', 'F'<<16 | 'e'<<8 | 'b', 'M'<<16 | 'a'<<8 | 'r', 'A'<<16 | 'p'<<8 | 'r',
		'M'<<16 | 'a'<<8 | 'y', 'J'<<16 | 'u'<<8 | 'n', 'J'<<16 | 'u'<<8 | 'l', 'A'<<16 | 'u'<<8 | 'g',
		'S'<<16 | 'e'<<8 | 'p', 'O'<<16 | 'c'<<8 | 't', 'N'<<16 | 'o'<<8 | 'v', 'D'<<16 | 'e'<<8 | 'c':
		return true
	}
	return false
}

// timeKey is a time stamp made comparable: kind 1 an instant (the stamp
// has a zone), 2 a wall-clock time with a year and no zone, 3 a syslog
// (RFC 3164) time without a year (v in seconds from January 1); 0 not
// understood.
type timeKey struct {
	kind int8
	v    int64
}

var isoLayouts = []string{
	"2006-01-02T15:04:05.999999999Z07:00",
	"2006-01-02T15:04:05.999999999Z0700",
	"2006-01-02 15:04:05.999999999 -0700",
}

var wallLayouts = []string{
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999",
	"1/2/2006 3:04:05 PM", // Microsoft 365 message trace (US English)
}

// nanos reads the fraction ".123456" of a second (or nothing) as
// nanoseconds.
func nanos(b []byte) int64 {
	if len(b) < 2 || b[0] != '.' {
		return 0
	}
	var v, scale int64 = 0, 1e9
	for _, c := range b[1:] {
		if !isDigit(c) || scale == 1 {
			break
		}
		scale /= 10
		v += int64(c-'0') * scale
	}
	return v
}

var monthDays = [12]int64{0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334}

// parseTimeKey makes ts, a stamp found by [Timestamp] or a CSV time
// column, comparable.
func parseTimeKey(ts string) timeKey {
	if b := []byte(ts); len(b) >= 15 && isMonth(b) && isClock(b[7:]) {
		m := int64(strings.Index("JanFebMarAprMayJunJulAugSepOctNovDec", ts[:3]) / 3)
		d := int64(b[5] - '0')
		if b[4] != ' ' {
			d += 10 * int64(b[4]-'0')
		}
		h := int64(b[7]-'0')*10 + int64(b[8]-'0')
		mi := int64(b[10]-'0')*10 + int64(b[11]-'0')
		s := int64(b[13]-'0')*10 + int64(b[14]-'0')
		return timeKey{3, (((monthDays[m]+d-1)*24+h)*3600+mi*60+s)*1e9 + nanos(b[15:])}
	}
	if len(ts) >= 23 && isWeekday([]byte(ts)) && ts[3] == ' ' {
		ts = ts[4:] // short-full: the wall-clock time, its zone name aside
		if sp := strings.IndexByte(ts[11:], ' '); sp >= 0 {
			ts = ts[:11+sp]
		}
	}
	for _, l := range isoLayouts {
		if t, err := time.Parse(l, ts); err == nil {
			return timeKey{1, t.UnixNano()}
		}
	}
	for _, l := range wallLayouts {
		if t, err := time.Parse(l, ts); err == nil {
			return timeKey{2, t.UnixNano()}
		}
	}
	return timeKey{}
}

// before reports whether a is earlier than b, and whether the two can be
// compared at all (stamps of one kind). Syslog stamps have no year: one
// more than half a year before the other is taken to be of the next
// year (a log that runs from December into January).
func (a timeKey) before(b timeKey) (earlier, ok bool) {
	if a.kind == 0 || a.kind != b.kind {
		return false, false
	}
	d := a.v - b.v
	if a.kind == 3 {
		const half = 183 * 24 * 3600 * 1e9
		switch {
		case d < -half:
			return false, true
		case d > half:
			return true, true
		}
	}
	return d < 0, true
}
