package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/seed-b311f21d/go-mimecastip/cmd/mimecastip/internal/milter"
	"github.com/seed-b311f21d/go-mimecastip/cmd/mimecastip/internal/policy"
)

const milterDescription = `
Serve the milter protocol (version 6: Postfix smtpd_milters, Sendmail
INPUT_MAIL_FILTER, maddy check.milter) and apply the lockdown at connect:

  Mimecast gateway or non-SPF relay of --region        accept
  Mimecast gateway of another region, retired range    451 4.7.1 (temporary: mail is never lost over data)
  any other address (incl. Mimecast website, IPv6)     550 5.7.1
  no IP address, internal error                        451 (fail closed)

--tag refuses nobody for the address: at the end of each message it
inserts "X-Mimecastip-Trace: VERDICT; address=...; class=...; regions=...;
prefix=...; decision=..." as the first header, with the verdict of
"mimecastip trace" for the client and the message's headers (mimecast,
other-region, bypass, forged), and deletes copies of that header the
sender wrote. Internal errors still fail temporarily.

--listen takes inet:HOST:PORT, HOST:PORT or unix:/PATH (the syntax of
Postfix's smtpd_milters). Signals: SIGTERM/SIGINT stop (connections in
flight get --shutdown-timeout); SIGHUP reloads the data (--data FILE is
read again) and swaps it in at once; a failed reload keeps the old data.

Postfix main.cf (or -o on the port-25 smtpd in master.cf only):
  smtpd_milters = inet:127.0.0.1:8899
  milter_default_action = tempfail

Exit status: 0 stopped by a signal; 2 bad usage, bad data, or a listener
that failed.`

// milterMode parses an octal socket mode.
func milterMode(s string) (os.FileMode, error) {
	v, err := strconv.ParseUint(s, 8, 32)
	if err != nil || v > 0o777 {
		return 0, fmt.Errorf("want an octal mode such as 0660")
	}
	return os.FileMode(v), nil
}

func cmdMilter(env *Env, args []string) int {
	const name = "milter"
	fs := newFlags(env, name, "--listen ADDR --region R[,R...] [--data FILE] [--tag] [flags]", milterDescription)
	listen := fs.String("listen", "", "listen on `ADDR`: inet:HOST:PORT, HOST:PORT or unix:/PATH (required)")
	regionList := regionFlag(fs, "; required: the regions whose gateways pass (\"all\" for every region)")
	data := fs.String("data", "", dataFlagUsage+"; re-read on SIGHUP")
	tag := fs.Bool("tag", false, "tag mode: add the "+milter.DefaultTagHeader+" header with the trace verdict, refuse nobody")
	tagHeader := fs.String("tag-header", milter.DefaultTagHeader, "header `name` of --tag (not an X-Mimecast-* name)")
	logLevel := fs.String("log-level", "info", "log `level`: debug (one line per decision), info, warn or error")
	logFormat := fs.String("log-format", "text", "log `format`: text or json (logs go to stderr)")
	socketMode := fs.String("socket-mode", "0666", "permission bits of a unix socket (the MTA's user must write to it)")
	readTimeout := fs.Duration("read-timeout", 0, "close a milter connection idle this long (0: never; the MTA keeps it open between SMTP commands)")
	shutdownTimeout := fs.Duration("shutdown-timeout", 30*time.Second, "on SIGTERM, wait this long for open milter connections")
	if done, st := parseFlags(env, fs, args); done {
		return st
	}
	if fs.NArg() > 0 {
		errorf(env, name, "unexpected argument %q", fs.Arg(0))
		return ExitUsage
	}
	if *listen == "" {
		errorf(env, name, "--listen is required (e.g. --listen inet:127.0.0.1:8899 or --listen unix:/var/spool/postfix/private/mimecastip-milter)")
		return ExitUsage
	}
	if *regionList == "" {
		errorf(env, name, "--region is required: the regions of your Mimecast account (e.g. --region us; \"all\" accepts every region's gateways)")
		return ExitUsage
	}
	scope, ok := parseRegions(env, name, *regionList)
	if !ok {
		return ExitUsage
	}
	mode, err := milterMode(*socketMode)
	if err != nil {
		errorf(env, name, "--socket-mode: %v", err)
		return ExitUsage
	}
	logger, ok := serviceLogger(env, name, *logLevel, *logFormat)
	if !ok {
		return ExitUsage
	}

	srv, err := milter.New(milter.Config{Load: milter.Loader(*data, scope), Tag: *tag, TagHeader: *tagHeader,
		ReadTimeout: *readTimeout, Logger: logger})
	if err != nil {
		errorf(env, name, "%v", err)
		return ExitUsage
	}
	l, err := policy.Listen(*listen, mode)
	if err != nil {
		errorf(env, name, "--listen %s: %v", *listen, err)
		return ExitUsage
	}

	sigs, stopSignals := serviceSignals(env)
	defer stopSignals()

	modeName := "enforce"
	if *tag {
		modeName = "tag"
	}
	snap := srv.Current()
	logger.Info("mimecastip milter starting", "listen", *listen, "regions", scope.String(), "ranges", snap.Ranges,
		"data", snap.Source, "mode", modeName)
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(l) }()
	status := ExitOK
loop:
	for {
		select {
		case s := <-sigs:
			switch s {
			case "HUP":
				logger.Info("SIGHUP: reloading")
				srv.Reload() // logs its own error; the old data stays
			case "TERM", "INT":
				logger.Info("stopping", "signal", s, "timeout", *shutdownTimeout)
				break loop
			default:
				logger.Warn("ignoring unknown signal", "signal", s)
			}
		case err := <-serveErr:
			logger.Error("listener failed; stopping", "err", err)
			serveErr <- err
			status = ExitUsage
			break loop
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), *shutdownTimeout)
	defer cancel()
	go func() {
		select {
		case s := <-sigs:
			if s == "TERM" || s == "INT" {
				cancel()
			}
		case <-ctx.Done():
		}
	}()
	if err := srv.Shutdown(ctx); err != nil && !errors.Is(err, context.Canceled) {
		logger.Warn("shutdown did not finish in time; closing connections", "err", err)
		srv.Close()
	}
	l.Close()
	if err := <-serveErr; err != nil && !errors.Is(err, milter.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
		logger.Warn("listener", "err", err)
	}
	logger.Info("mimecastip milter stopped")
	return status
}
