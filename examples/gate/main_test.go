package main

import (
	"bufio"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b311f21d/go-mimecastip/internal/testenv"
	"github.com/seed-b311f21d/go-mimecastip/mimecastip"
	"github.com/seed-b311f21d/go-mimecastip/regions"
)

// loopbackClassifier treats 127.0.0.1 as a Mimecast gateway and 127.0.0.3
// as a non-SPF relay. mimecastip.New takes any canonical prefix; only the
// data-file parser refuses loopback space.
func loopbackClassifier(t *testing.T) *mimecastip.Classifier {
	t.Helper()
	c, err := mimecastip.New([]regions.Range{
		{Prefix: netip.MustParsePrefix("127.0.0.1/32"), Regions: regions.SetOf(regions.US), Service: regions.Gateway},
		{Prefix: netip.MustParsePrefix("127.0.0.3/32"), Regions: regions.SetOf(regions.US), Service: regions.NonSPF},
		{Prefix: netip.MustParsePrefix("127.0.0.4/32"), Regions: regions.SetOf(regions.Global), Service: regions.Website},
	})
	require.NoError(t, err)
	return c
}

// startGate serves a gate on a loopback port and returns its address.
func startGate(t *testing.T, c Classifier) string {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	require.NoError(t, err)
	gate := &Listener{Listener: ln, C: c, Reject: rejectLine, Logf: t.Logf}
	done := make(chan error, 1)
	go func() { done <- serve(gate, func(string, ...any) {}) }() // handlers may outlive the test: no t.Logf there
	t.Cleanup(func() {
		ln.Close()
		assert.NoError(t, <-done, "serve returned an error after Close")
	})
	return ln.Addr().String()
}

// dialFrom connects to addr from the loopback address src.
func dialFrom(t *testing.T, src, addr string) net.Conn {
	t.Helper()
	testenv.RequireLoopbackSource(t, src)
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp4", addr)
	require.NoError(t, err, "dial from %s", src)
	t.Cleanup(func() { c.Close() })
	require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
	return c
}

func TestGate(t *testing.T) {
	addr := startGate(t, loopbackClassifier(t))

	// Refused first, to show that a refusal does not stop the accept loop.
	for _, src := range []string{"127.0.0.2", "127.0.0.4"} {
		c := dialFrom(t, src, addr)
		all, err := io.ReadAll(c)
		assert.NoError(t, err, "client %s", src)
		assert.Equal(t, rejectLine, string(all), "client %s gets the 554 and the close", src)
	}

	for _, src := range []string{"127.0.0.1", "127.0.0.3"} {
		c := dialFrom(t, src, addr)
		r := bufio.NewReader(c)
		line, err := r.ReadString('\n')
		require.NoError(t, err, "client %s", src)
		assert.Equal(t, "220 gate ready\r\n", line, "client %s", src)
		_, err = io.WriteString(c, "HELO test\r\nQUIT\r\n")
		require.NoError(t, err)
		rest, err := io.ReadAll(r)
		assert.NoError(t, err)
		assert.Equal(t, "250 ok\r\n221 bye\r\n", string(rest), "client %s", src)
	}
}

func TestGateEmbeddedData(t *testing.T) {
	// With the real data, loopback is foreign: every client is refused.
	addr := startGate(t, mimecastip.Default())
	c := dialFrom(t, "127.0.0.1", addr)
	all, err := io.ReadAll(c)
	assert.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(all), "554 5.7.1 "), "got %q", all)
}

func TestGateSilentReject(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	gate := &Listener{Listener: ln, C: mimecastip.Default()}
	go func() {
		c, err := gate.Accept()
		if err == nil {
			c.Close()
			assert.Fail(t, "a foreign client was accepted")
		}
	}()
	c := dialFrom(t, "127.0.0.1", ln.Addr().String())
	all, err := io.ReadAll(c)
	assert.NoError(t, err)
	assert.Empty(t, all)
}

func TestGateAcceptError(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	require.NoError(t, err)
	gate := &Listener{Listener: ln, C: mimecastip.Default()}
	ln.Close()
	_, err = gate.Accept()
	assert.ErrorIs(t, err, net.ErrClosed)
}
