package logscan

// Timestamp returns the time stamp at the start of a log line, as
// written, or nil: a syslog (RFC 3164) "Nov 22 07:14:45", an RFC 3339 or
// ISO 8601 stamp ("2026-11-22T07:14:45.123456+00:00", as rsyslog and
// Exchange write), or an Exim "2026-11-22 07:14:45" (with its optional
// fraction and "+0000" zone).
func Timestamp(line []byte) []byte {
	if len(line) >= 15 && isMonth(line) && line[3] == ' ' && (line[4] == ' ' || isDigit(line[4])) && isDigit(line[5]) &&
		line[6] == ' ' && isClock(line[7:]) {
		return line[:15]
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

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// isDate reports whether line starts with "dddd-dd-dd".
func isDate(b []byte) bool {
	return len(b) >= 10 && isDigit(b[0]) && isDigit(b[1]) && isDigit(b[2]) && isDigit(b[3]) && b[4] == '-' &&
		isDigit(b[5]) && isDigit(b[6]) && b[7] == '-' && isDigit(b[8]) && isDigit(b[9])
}

// isClock reports whether b starts with "dd:dd:dd".
func isClock(b []byte) bool {
	return len(b) >= 8 && isDigit(b[0]) && isDigit(b[1]) && b[2] == ':' && isDigit(b[3]) && isDigit(b[4]) &&
		b[5] == ':' && isDigit(b[6]) && isDigit(b[7])
}

func isMonth(b []byte) bool {
	switch string(b[:3]) {
	case "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec":
		return true
	}
	return false
}
