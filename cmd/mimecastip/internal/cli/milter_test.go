package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gomilter "github.com/d--j/go-milter"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMilterUsageErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.txt")
	require.NoError(t, os.WriteFile(bad, []byte("garbage\n"), 0o644))
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"milter", "--region", "us"}, "--listen is required"},
		{[]string{"milter", "--listen", "127.0.0.1:0"}, "--region is required"},
		{[]string{"milter", "--listen", "127.0.0.1:0", "--region", "mars"}, `unknown region "mars"`},
		{[]string{"milter", "--listen", "127.0.0.1:0", "--region", "us", "--tag-header", "X-Mimecast-Verdict"}, "Mimecast header name"},
		{[]string{"milter", "--listen", "127.0.0.1:0", "--region", "us", "--data", bad}, bad},
		{[]string{"milter", "--listen", "127.0.0.1:0", "--region", "uspcom"}, "selects no Mimecast gateway"},
		{[]string{"milter", "--listen", "nonsense", "--region", "us"}, "--listen nonsense"},
		{[]string{"milter", "--listen", "127.0.0.1:0", "--region", "us", "--socket-mode", "999"}, "--socket-mode"},
		{[]string{"milter", "--listen", "127.0.0.1:0", "--region", "us", "extra"}, `unexpected argument "extra"`},
	} {
		r := cliRun("", c.args...)
		assert.Equal(t, ExitUsage, r.code, c.args)
		assert.Contains(t, r.stderr, c.want, c.args)
	}
	r := cliRun("", "milter", "--help")
	assert.Equal(t, ExitOK, r.code)
	assert.Contains(t, r.stdout, "Usage: mimecastip milter")
	assert.Contains(t, r.stdout, "smtpd_milters = inet:127.0.0.1:8899")
}

// TestMilterCommand runs the command in-process and talks to it with the
// go-milter client: the three addresses, a reload on HUP, exit 0
// on TERM (startMilter's cleanup).
func TestMilterCommand(t *testing.T) {
	port := freePort(t)
	m := startMilter(t, port, "--region", "us", "--log-level", "debug")
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	conn := func(client string) *gomilter.Action {
		s, err := gomilter.NewClient("tcp", addr).Session(nil)
		require.NoError(t, err)
		defer s.Close()
		act, err := s.Conn("client.example.net", gomilter.FamilyInet, 40000, client)
		require.NoError(t, err)
		return act
	}
	act := conn("8.8.8.8")
	assert.Equal(t, gomilter.ActionRejectWithCode, act.Type)
	assert.Equal(t, uint16(550), act.SMTPCode)
	assert.Equal(t, gomilter.ActionAccept, conn("170.10.129.124").Type)
	act = conn("41.74.201.132")
	assert.Equal(t, uint16(451), act.SMTPCode)
	assert.Contains(t, act.SMTPReply, "(za)")

	m.sigs <- "HUP"
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(m.stderr.String(), "msg=reloaded") {
		if time.Now().After(deadline) {
			t.Fatalf("no reload logged:\n%s", m.stderr)
		}
		time.Sleep(10 * time.Millisecond)
	}
	assert.Equal(t, gomilter.ActionAccept, conn("170.10.129.124").Type)
	assert.Contains(t, m.stderr.String(), "client_address=8.8.8.8 host=client.example.net verdict=reject tier=foreign")
}

// TestMilterUnixSocket: --listen unix:/PATH with --socket-mode, as
// Postfix's smtpd_milters = unix:/PATH reaches it.
func TestMilterUnixSocket(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "milter.sock")
	sigs := make(chan string, 2)
	status := make(chan int, 1)
	stderr := &lockedBuffer{}
	go func() {
		status <- Main([]string{"milter", "--listen", "unix:" + sock, "--region", "us", "--socket-mode", "0660"},
			&Env{Stdin: strings.NewReader(""), Stdout: &lockedBuffer{}, Stderr: stderr, Signals: sigs})
	}()
	waitDial(t, "unix", sock)
	fi, err := os.Stat(sock)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o660), fi.Mode().Perm())
	s, err := gomilter.NewClient("unix", sock).Session(nil)
	require.NoError(t, err)
	act, err := s.Conn("x", gomilter.FamilyInet6, 1, "2001:db8::5")
	require.NoError(t, err)
	assert.Equal(t, uint16(550), act.SMTPCode)
	s.Close()
	sigs <- "TERM"
	select {
	case st := <-status:
		assert.Equal(t, ExitOK, st, stderr.String())
	case <-time.After(40 * time.Second):
		t.Fatal("milter did not stop")
	}
	_, err = os.Stat(sock)
	assert.True(t, os.IsNotExist(err), "socket removed at exit")
}
