package policy

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// Request is what the server keeps of one policy delegation request: the
// attributes it decides or logs on. Other attributes are counted against
// the limits and otherwise ignored, as SMTPD_POLICY_README asks.
type Request struct {
	Request       string // "request": smtpd_access_policy for Postfix's smtpd
	ProtocolState string // "protocol_state": CONNECT, EHLO, RCPT, DATA, ...
	ClientAddress string // "client_address": the SMTP client's bare IP address
	ClientName    string // "client_name"
	HeloName      string // "helo_name"
	Sender        string // "sender"
	Recipient     string // "recipient"
	QueueID       string // "queue_id"
	Instance      string // "instance": one value per message
	Attributes    int    // number of name=value lines
	// ClientAddressCount is how many client_address lines the request had;
	// more than one makes the address unusable.
	ClientAddressCount int
	// hasRequest tells whether a "request" attribute was present.
	hasRequest bool
}

// limitError is a request that broke one of the server's limits or the
// protocol; the connection is closed without an answer.
type limitError struct{ msg string }

func (e *limitError) Error() string { return e.msg }

// errProtocol marks input that is not name=value lines.
var errProtocol = errors.New("policy: protocol error")

// readRequest reads one request (name=value lines up to an empty line)
// from br. br's buffer size is the line limit: a longer line fails with a
// *limitError without being buffered whole. A line may end in "\n" or
// "\r\n" (people test with nc and telnet).
func readRequest(br *bufio.Reader, maxAttrs, maxBytes int) (Request, error) {
	var req Request
	total := 0
	for {
		line, err := br.ReadSlice('\n')
		total += len(line)
		if errors.Is(err, bufio.ErrBufferFull) {
			return req, &limitError{fmt.Sprintf("line longer than %d bytes", br.Size())}
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				if total == 0 && req.Attributes == 0 {
					return req, io.EOF
				}
				return req, io.ErrUnexpectedEOF
			}
			return req, err
		}
		if total > maxBytes {
			return req, &limitError{fmt.Sprintf("request larger than %d bytes", maxBytes)}
		}
		line = bytes.TrimSuffix(line[:len(line)-1], []byte{'\r'})
		if len(line) == 0 {
			return req, nil
		}
		req.Attributes++
		if req.Attributes > maxAttrs {
			return req, &limitError{fmt.Sprintf("more than %d attributes", maxAttrs)}
		}
		eq := bytes.IndexByte(line, '=')
		if eq <= 0 {
			return req, &limitError{fmt.Sprintf("%v: line %d is not name=value", errProtocol, req.Attributes)}
		}
		name, value := line[:eq], line[eq+1:]
		// string(name) in a switch does not allocate.
		switch string(name) {
		case "request":
			req.Request, req.hasRequest = string(value), true
		case "protocol_state":
			req.ProtocolState = string(value)
		case "client_address":
			req.ClientAddress = string(value)
			req.ClientAddressCount++
		case "client_name":
			req.ClientName = string(value)
		case "helo_name":
			req.HeloName = string(value)
		case "sender":
			req.Sender = string(value)
		case "recipient":
			req.Recipient = string(value)
		case "queue_id":
			req.QueueID = string(value)
		case "instance":
			req.Instance = string(value)
		}
	}
}
