// Command gate is a TCP server that accepts connections only from
// Mimecast's mail gateways: the accept-loop shape of Go mail software,
// with the check in a [net.Listener] wrapper so the server code behind it
// does not change.
//
// Usage:
//
//	go run ./examples/gate [-listen ADDR] [-region SET]
//
// -listen is the address to listen on (default 127.0.0.1:2525). -region
// restricts the accepted gateways to some regions (for example "us" or an
// account code such as CUSA12A345); by default every region's gateways
// are accepted. Both gateway and non-SPF relay ranges are let through;
// anything else, including Mimecast's website addresses, gets
// "554 5.7.1 ..." and is disconnected.
//
// Accepted clients get a "220" greeting and a toy line protocol ("250 ok"
// to every line, "221" to QUIT) that stands in for a real SMTP server such
// as github.com/emersion/go-smtp, which would be handed the wrapped
// listener: server.Serve(gate).
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"strings"
	"time"

	"github.com/seed-b311f21d/go-mimecastip/mimecastip"
	"github.com/seed-b311f21d/go-mimecastip/regions"
)

// Classifier is what the gate asks about each client. *mimecastip.Classifier
// and *mimecastip.Reloadable satisfy it.
type Classifier interface {
	LookupNetAddr(net.Addr) mimecastip.Result
}

// Listener wraps a net.Listener: Accept returns only connections whose
// remote address is in a Mimecast mail range (Class != Foreign). The
// others are refused without ever reaching the server: Reject (when not
// empty) is written to them, then they are closed. Refusals run in their
// own goroutines, so a slow client cannot stall the accept loop.
type Listener struct {
	net.Listener
	C      Classifier
	Reject string                           // e.g. "554 5.7.1 ...\r\n"; "" closes silently
	Logf   func(format string, args ...any) // may be nil
}

// Accept waits for and returns the next connection from a Mimecast mail
// range.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		r := l.C.LookupNetAddr(c.RemoteAddr())
		if r.Class != mimecastip.Foreign {
			l.logf("accept %v: %v", c.RemoteAddr(), r)
			return c, nil
		}
		l.logf("refuse %v: %v", c.RemoteAddr(), r)
		go l.refuse(c)
	}
}

func (l *Listener) refuse(c net.Conn) {
	defer c.Close()
	if l.Reject == "" {
		return
	}
	_ = c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_, _ = c.Write([]byte(l.Reject))
}

func (l *Listener) logf(format string, args ...any) {
	if l.Logf != nil {
		l.Logf(format, args...)
	}
}

// rejectLine is the reply refused clients get.
const rejectLine = "554 5.7.1 Mail is accepted only through Mimecast\r\n"

// serve is the server behind the gate: it knows nothing of Mimecast.
func serve(l net.Listener, logf func(string, ...any)) error {
	for {
		c, err := l.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		go handle(c, logf)
	}
}

// handle is a toy line protocol standing in for SMTP.
func handle(c net.Conn, logf func(string, ...any)) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Minute))
	fmt.Fprintf(c, "220 gate ready\r\n")
	sc := bufio.NewScanner(c)
	for sc.Scan() {
		if strings.EqualFold(strings.TrimSpace(sc.Text()), "QUIT") {
			fmt.Fprintf(c, "221 bye\r\n")
			return
		}
		fmt.Fprintf(c, "250 ok\r\n")
	}
	if err := sc.Err(); err != nil {
		logf("%v: %v", c.RemoteAddr(), err)
	}
}

func main() {
	listen := flag.String("listen", "127.0.0.1:2525", "address to listen on")
	region := flag.String("region", "", "accept only these regions' gateways (comma-separated: us, usb, ca, eu, de, au, za, or account codes); default all")
	flag.Parse()

	c := mimecastip.Default()
	if *region != "" {
		set, err := regions.ParseSet(*region)
		if err == nil {
			c, err = mimecastip.Load(regions.Embedded(), set)
		}
		if err != nil {
			log.Fatalf("gate: -region: %v", err)
		}
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatalf("gate: %v", err)
	}
	log.Printf("gate: listening on %v; accepting %d Mimecast ranges (data %s)", ln.Addr(), c.Len(), regions.Version())
	gate := &Listener{Listener: ln, C: c, Reject: rejectLine, Logf: log.Printf}
	if err := serve(gate, log.Printf); err != nil {
		log.Printf("gate: %v", err)
		os.Exit(1)
	}
}
