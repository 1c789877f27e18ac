// Command smtpgate is an example SMTP server (github.com/emersion/go-smtp)
// for a domain that takes inbound mail only through Mimecast. It sits
// behind a TCP proxy or load balancer that speaks the PROXY protocol
// (github.com/pires/go-proxyproto, v1 and v2): the proxies listed in
// -trusted-proxy MUST send a PROXY header, any other peer is dropped. Each
// connection is classified by its PROXY source address; a client that is
// not a Mimecast gateway (of the -region regions) gets a 554 greeting and
// never reaches the SMTP server. Accepted mail is discarded: this is an
// example of the gate, not a mail store.
//
//	smtpgate -listen :2525 -trusted-proxy 10.0.0.10/32 -region us
//
// HAProxy in front of it:
//
//	backend smtp
//	    mode tcp
//	    server gate 10.0.0.20:2525 send-proxy-v2
package main

import (
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/seed-b311f21d/go-mimecastip/mimecastip"
	"github.com/seed-b311f21d/go-mimecastip/regions"
)

// Config is what run needs.
type Config struct {
	Trusted       []string    // proxies that must send PROXY headers
	Regions       regions.Set // empty: every region
	Hostname      string
	HeaderTimeout time.Duration
	Log           *slog.Logger
}

// Server is a running gate.
type Server struct {
	SMTP     *smtp.Server
	Listener net.Listener // the gated listener the SMTP server serves
}

// Start serves ln behind the PROXY protocol and the Mimecast gate.
func Start(ln net.Listener, cfg Config) (*Server, error) {
	var c *mimecastip.Classifier
	var err error
	if cfg.Regions.IsEmpty() {
		c = mimecastip.Default()
	} else if c, err = mimecastip.Load(regions.Embedded(), cfg.Regions); err != nil {
		return nil, err
	}
	if cfg.HeaderTimeout <= 0 {
		cfg.HeaderTimeout = 5 * time.Second
	}
	rc := mimecastip.NewReloadable(c)
	pl, err := ProxyListener(ln, cfg.Trusted, cfg.HeaderTimeout)
	if err != nil {
		return nil, err
	}
	gate := &Gate{Classifier: rc, Hostname: cfg.Hostname, Log: cfg.Log}
	gl := gate.Wrap(pl)
	s := smtp.NewServer(&backend{classifier: rc, log: cfg.Log})
	s.Domain = cfg.Hostname
	s.ReadTimeout = 5 * time.Minute
	s.WriteTimeout = time.Minute
	s.MaxMessageBytes = 50 << 20
	s.MaxRecipients = 100
	go s.Serve(gl)
	return &Server{SMTP: s, Listener: gl}, nil
}

func main() {
	listen := flag.String("listen", ":2525", "listen `address`")
	trusted := flag.String("trusted-proxy", "127.0.0.0/8,::1/128", "comma-separated `CIDRs` of the proxies that send PROXY headers (required from them; others are dropped)")
	region := flag.String("region", "", "accept only gateways of these `regions` (default every region)")
	hostname := flag.String("hostname", "mx.example.test", "server `name` for greetings")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	set, err := regions.ParseSet(*region)
	if err != nil {
		fmt.Fprintln(os.Stderr, "smtpgate:", err)
		os.Exit(2)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, "smtpgate:", err)
		os.Exit(2)
	}
	s, err := Start(ln, Config{Trusted: strings.Split(*trusted, ","), Regions: set, Hostname: *hostname, Log: log})
	if err != nil {
		fmt.Fprintln(os.Stderr, "smtpgate:", err)
		os.Exit(2)
	}
	log.Info("smtpgate listening", "addr", ln.Addr().String(), "trusted_proxies", *trusted, "regions", set.String())
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	s.SMTP.Close()
}
