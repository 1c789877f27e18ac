package cli

import (
	"flag"
	"fmt"
	"strings"

	"github.com/seed-b311f21d/go-mimecastip/cmd/mimecastip/internal/logscan"
)

type inboundFlags struct {
	inbound   bool
	format    string
	auth      bool
	openRelay bool
}

func addInboundFlags(fs *flag.FlagSet) *inboundFlags {
	f := &inboundFlags{}
	fs.BoolVar(&f.inbound, "inbound", false, "read mail logs as mail logs: only the connecting client of inbound SMTP sessions counts (see the formats below)")
	fs.StringVar(&f.format, "log-format", "auto", "with --inbound, the log format: auto (detected per line), "+strings.Join(logscan.FormatNames(), ", ")+"; implies --inbound")
	fs.BoolVar(&f.auth, "authenticated", false, "with --inbound, also count authenticated submission sessions (Postfix sasl_username= and the submission/submissions/smtps services, Exim A=)")
	fs.BoolVar(&f.openRelay, "open-relay", false, `list the hosts whose deliveries Mimecast refused with "Open relay not allowed" (see above)`)
	return f
}

func (f *inboundFlags) build(env *Env) (*logscan.Inbound, bool) {
	if f.format != "auto" {
		f.inbound = true
	}
	if f.openRelay && (f.inbound || f.auth) {
		errorf(env, "scan", "--open-relay cannot be combined with --inbound, --log-format or --authenticated")
		return nil, false
	}
	if !f.inbound {
		if f.auth {
			errorf(env, "scan", "--authenticated needs --inbound")
			return nil, false
		}
		return nil, true
	}
	in := &logscan.Inbound{Format: f.format, Auth: f.auth}
	if err := in.Validate(); err != nil {
		errorf(env, "scan", "--log-format: %v", err)
		return nil, false
	}
	return in, true
}

// inboundHelp describes the formats of logscan.Formats for the help text.
func inboundHelp() string {
	var b strings.Builder
	b.WriteString(`
With --inbound, only the address of the client that connected to this MTA
counts: outbound deliveries (relay= of Postfix smtp, Exim =>, Sendmail to=),
the server's own addresses, HELO literals and loopback clients (content
filter return hops) never do, nor authenticated submission unless
--authenticated. The format is detected on each line (a syslog file may mix
MTAs) or forced with --log-format. An input in which no line is of a known
format is an error (exit 2), never a log without bypasses; so is a line
that names postfix/smtpd, postscreen, sendmail or exim in a layout not
read (a <PRI> prefix, RFC 5424), in a file of known lines. The formats:
`)
	for _, f := range logscan.Formats() {
		fmt.Fprintf(&b, "\n  %s: %s\n    %s\n", f.Name, f.Title, wrap(f.Lines, 72, "    "))
	}
	return strings.TrimRight(b.String(), "\n")
}

// wrap breaks s into lines of at most width characters; lines after the
// first start with indent.
func wrap(s string, width int, indent string) string {
	var b strings.Builder
	n := 0
	for i, w := range strings.Fields(s) {
		if i > 0 {
			if n+1+len(w) > width {
				b.WriteString("\n" + indent)
				n = 0
			} else {
				b.WriteByte(' ')
				n++
			}
		}
		b.WriteString(w)
		n += len(w)
	}
	return b.String()
}
