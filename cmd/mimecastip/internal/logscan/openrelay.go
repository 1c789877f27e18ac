package logscan

import "bytes"

// openRelayText is what Mimecast answers a relay whose address is not one
// of the account's authorized outbound addresses ("451 Open relay not
// allowed - https://community.mimecast.com/docs/DOC-1369#451 [...]").
var openRelayText = []byte("Open relay not allowed")

// openRelay recognises a Postfix smtp (or lmtp) client line where the
// server answered "Open relay not allowed", and returns the address of
// that server: the one in "host NAME[ADDR] said:", else relay=NAME[ADDR].
func openRelay(line []byte) (client, bool) {
	line = TrimEOL(line)
	if !bytes.Contains(line, openRelayText) {
		return client{}, false
	}
	prog, msg, ok := syslog(line)
	if !ok {
		return client{}, false
	}
	if !bytes.HasSuffix(prog, []byte("/smtp")) && !bytes.HasSuffix(prog, []byte("/lmtp")) {
		return client{}, false
	}
	body := line[msg:]
	for _, key := range []string{"(host ", "relay="} {
		k := bytes.Index(body, []byte(key))
		if k < 0 {
			continue
		}
		from := k + len(key)
		b := bytes.IndexByte(body[from:], '[')
		if b < 0 || bytes.IndexByte(body[from:from+b], ' ') >= 0 {
			continue
		}
		if a, s, e, ok := bracket(line, msg+from+b); ok {
			return client{m: Match{a, s, e}, format: 0, t0: -1, t1: -1}, true
		}
	}
	return client{}, false
}

// SyslogHost returns the host name field of a syslog line
// ("Nov 22 07:14:45 HOST prog[pid]: ..."), or nil.
func SyslogHost(line []byte) []byte {
	ts := Timestamp(line)
	if ts == nil || len(ts) >= len(line) || line[len(ts)] != ' ' {
		return nil
	}
	rest := line[len(ts)+1:]
	sp := bytes.IndexByte(rest, ' ')
	if sp <= 0 {
		return nil
	}
	return rest[:sp]
}
