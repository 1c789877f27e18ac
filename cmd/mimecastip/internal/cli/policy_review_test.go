package cli

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// "policy --reject DUNNO" started a lockdown that passed every network.
// --other and --reject must keep the mail out: exit 2, the flag named.
func TestPolicyRefusalActionRequired(t *testing.T) {
	for _, args := range [][]string{{"--reject", "DUNNO"}, {"--reject", "OK"}, {"--other", "PREPEND X-A: b"}, {"--reject", "permit"}} {
		var stderr bytes.Buffer
		env := &Env{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: &stderr, Signals: make(chan string)}
		st := Main(append([]string{"policy", "--listen", "127.0.0.1:0", "--region", "us"}, args...), env)
		assert.Equal(t, ExitUsage, st, "%v", args)
		assert.Contains(t, stderr.String(), args[0]+": action", "%v", args)
		assert.Contains(t, stderr.String(), "does not keep the mail out", "%v", args)
	}
}
