// Package replycode recognises the SMTP reply codes that refuse mail, the
// "4NN text" and "5NN text" actions of Postfix access(5) tables, the one
// check that export --reject, policy --reject/--other and audit's
// reject-line detection share.
package replycode

// Refusal reports whether s is a 4NN or 5NN reply code: exactly three
// ASCII digits, the first 4 (temporary failure) or 5 (permanent).
func Refusal(s string) bool {
	return len(s) == 3 && (s[0] == '4' || s[0] == '5') && isDigit(s[1]) && isDigit(s[2])
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
