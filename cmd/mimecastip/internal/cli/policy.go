package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/seed-b311f21d/go-mimecastip/cmd/mimecastip/internal/policy"
	"github.com/seed-b311f21d/go-mimecastip/regions"
)

const policyDescription = `
Serve Postfix policy delegation requests (check_policy_service, Postfix's
SMTPD_POLICY_README protocol) and answer per client_address, in tiers:

  Mimecast gateway or non-SPF relay of the --region regions  -> --pass (DUNNO)
  Mimecast gateway of another region, or of a retired range  -> --other (DEFER_IF_PERMIT 4.7.1 ...),
                                                                logged as a warning; --strict: --reject
                                                                for other regions
  anything else (other networks, Mimecast website addresses)  -> --reject (REJECT 5.7.1 ...)
  --tag: every client, the same tiers                         -> PREPEND X-Mimecastip-Class: <class>; tier=...
  missing or unparseable client_address                       -> DEFER_IF_PERMIT 4.7.1 (never a pass)
  internal error                                               -> DEFER_IF_PERMIT 4.3.0

A Mimecast gateway of another region gets a temporary failure, not a
reject: if the region data is wrong, mail waits in the sender's queue
instead of bouncing. Without --region every region passes (a warning is
printed); a --region that selects no gateway range is an error.

--pass takes any access(5) action; --other and --reject only one that
keeps the mail out (REJECT, DEFER, DEFER_IF_PERMIT, 4NN, 5NN, HOLD,
DISCARD, reject, defer). {address}, {class}, {regions}, {prefix} and
{reason} in them are replaced. Input that
breaks the protocol or a limit (line, attribute count, request size,
--read-timeout) closes that connection without an answer; Postfix retries
and then applies its default_action.

--listen (repeatable) takes
  HOST:PORT, inet:HOST:PORT       TCP, e.g. 127.0.0.1:10040 or inet:[::1]:10040
  unix:/PATH, or any path with /  a unix socket; a stale socket file is
                                  removed, the socket gets --socket-mode and
                                  is removed at exit
Only --allow-from peers may ask over TCP (default: loopback); others are
closed without an answer and logged. A unix socket is governed by its mode.
At --max-conns, the longest-idle connection is closed for the new one.

Signals: SIGTERM/SIGINT stop accepting, let requests in flight finish and
answer, then exit 0 (a second signal, or --shutdown-timeout, closes what is
left). SIGHUP reloads the data (--data FILE is read once and swapped in as
a whole; the embedded dataset is rebuilt) without dropping connections; a
failed reload keeps the old data and logs the error. --data must be a
regular file: a FIFO, device or directory is refused.

Postfix main.cf (after reject_unauth_destination, or OK would make an open relay;
a default_action with spaces needs braces of its own; for port 25 only, set it
with -o in master.cf's smtp service, see the README):
  smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination,
      check_policy_service { inet:127.0.0.1:10040, timeout=10s, { default_action = 451 4.3.5 Mimecast policy service unavailable } }
`

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

// modeFlag is an octal file mode.
type modeFlag os.FileMode

func (m *modeFlag) String() string { return fmt.Sprintf("%#o", os.FileMode(*m)) }
func (m *modeFlag) Set(s string) error {
	v, err := strconv.ParseUint(s, 8, 32)
	if err != nil || v > 0o777 {
		return fmt.Errorf("want an octal mode such as 0660")
	}
	*m = modeFlag(v)
	return nil
}

func cmdPolicy(env *Env, args []string) int {
	const name = "policy"
	fs := newFlags(env, name, "--listen ADDR [--listen ADDR...] [--region R,...] [--data FILE] [--pass ACTION] [--other ACTION] [--reject ACTION] [--strict] [--tag] [flags]", policyDescription)
	var listens listFlag
	fs.Var(&listens, "listen", "listen on `ADDR`: HOST:PORT, inet:HOST:PORT, unix:/PATH or a path (repeatable; required)")
	regionList := regionFlag(fs, "; pass only the gateways of these (default: every region, with a warning)")
	data := fs.String("data", "", dataFlagUsage+"; re-read on SIGHUP")
	pass := fs.String("pass", policy.DefaultPassAction, "`action` for Mimecast gateways and non-SPF relays of the regions")
	other := fs.String("other", policy.DefaultOtherAction, "`action` for Mimecast gateways of other regions and retired ranges")
	reject := fs.String("reject", policy.DefaultRejectAction, "`action` for every other client")
	strict := fs.Bool("strict", false, "answer Mimecast gateways of other regions with --reject instead of --other")
	tag := fs.Bool("tag", false, "tag-only mode: answer PREPEND <tag-header>: <class>; tier=... for every client instead of --pass/--other/--reject")
	tagHeader := fs.String("tag-header", policy.DefaultTagHeader, "header `name` of --tag ("+policy.LegacyTagHeader+" for the name of earlier versions)")
	allowFrom := fs.String("allow-from", "127.0.0.0/8,::1/128", "comma-separated `prefixes` of the TCP peers that may ask; others are closed without an answer")
	logLevel := fs.String("log-level", "info", "log `level`: debug (one line per decision), info, warn or error")
	logFormat := fs.String("log-format", "text", "log `format`: text or json (logs go to stderr)")
	socketMode := modeFlag(0o666)
	fs.Var(&socketMode, "socket-mode", "permission bits of unix sockets (Postfix's smtpd runs as user postfix)")
	readTimeout := fs.Duration("read-timeout", policy.DefaultReadTimeout, "time allowed from a request's first byte to its end")
	idleTimeout := fs.Duration("idle-timeout", policy.DefaultIdleTimeout, "close a connection idle this long (keep above Postfix's smtpd_policy_service_max_idle, 300s)")
	maxConns := fs.Int("max-conns", policy.DefaultMaxConns, "at this many open connections, close the longest-idle one for a new one")
	statsInterval := fs.Duration("stats-interval", 15*time.Minute, "log the counts per class this often (0: only at shutdown)")
	shutdownTimeout := fs.Duration("shutdown-timeout", 30*time.Second, "on SIGTERM, wait this long for requests in flight")
	if done, st := parseFlags(env, fs, args); done {
		return st
	}
	if fs.NArg() > 0 {
		errorf(env, name, "unexpected argument %q", fs.Arg(0))
		return ExitUsage
	}
	if len(listens) == 0 {
		errorf(env, name, "--listen is required (e.g. --listen 127.0.0.1:10040 or --listen unix:/var/spool/postfix/private/mimecastip)")
		return ExitUsage
	}
	scope, ok := parseRegions(env, name, *regionList)
	if !ok {
		return ExitUsage
	}
	logger, ok := serviceLogger(env, name, *logLevel, *logFormat)
	if !ok {
		return ExitUsage
	}
	for _, a := range []struct {
		flag, v string
		check   func(string) error
	}{{"--pass", *pass, policy.ValidateAction}, {"--other", *other, policy.ValidateRefusal}, {"--reject", *reject, policy.ValidateRefusal}} {
		if err := a.check(a.v); err != nil {
			errorf(env, name, "%s: %v", a.flag, err)
			return ExitUsage
		}
	}
	allow, err := parseAllowFrom(*allowFrom)
	if err != nil {
		errorf(env, name, "--allow-from: %v", err)
		return ExitUsage
	}

	opts := policy.Options{Regions: scope, Strict: *strict, PassAction: *pass, OtherAction: *other,
		RejectAction: *reject, Tag: *tag, TagHeader: *tagHeader}
	live, err := policy.NewLive(policy.Loader(*data, opts))
	if err != nil {
		errorf(env, name, "%v", strings.TrimPrefix(err.Error(), "policy: "))
		return ExitUsage
	}
	if scope.IsEmpty() {
		fmt.Fprintf(env.Stderr, "mimecastip %s: warning: no --region: Mimecast gateways of every region pass; a lockdown wants the account's own grid (e.g. --region us or --region CUSA...)\n", name)
	}
	srv, err := policy.New(policy.Config{
		Engine: live, AllowFrom: allow,
		ReadTimeout: *readTimeout, IdleTimeout: *idleTimeout, MaxConns: *maxConns,
		StatsInterval: *statsInterval, Logger: logger,
	})
	if err != nil {
		errorf(env, name, "%v", err)
		return ExitUsage
	}

	var lns []net.Listener
	for _, a := range listens {
		l, err := policy.Listen(a, os.FileMode(socketMode))
		if err != nil {
			for _, l := range lns {
				l.Close()
			}
			errorf(env, name, "--listen %s: %v", a, err)
			return ExitUsage
		}
		lns = append(lns, l)
	}

	sigs, stopSignals := serviceSignals(env)
	defer stopSignals()

	scopeText := scope.String()
	if scopeText == "" {
		scopeText = "all"
	}
	mode := "enforce"
	if *tag {
		mode = "tag"
	}
	eng := live.Engine()
	logger.Info("mimecastip policy service starting", "regions", scopeText, "ranges", eng.Len(),
		"mail_ranges", eng.MailRanges(), "data", dataName(*data), "version", eng.Version(), "mode", mode,
		"strict", *strict, "pass", *pass, "other", *other, "reject", *reject, "allow_from", *allowFrom)

	serveErr := make(chan error, len(lns))
	for _, l := range lns {
		go func(l net.Listener) { serveErr <- srv.Serve(l) }(l)
	}
	status := ExitOK
	running := len(lns)
	// A reload runs beside the signal loop, so TERM and the shutdown
	// timeout are served whatever the reload does; HUPs during a reload
	// are coalesced into one more.
	reloadDone := make(chan struct{}, 1)
	reloading, again := false, false
	startReload := func() {
		reloading = true
		go func() { srv.Reload(); reloadDone <- struct{}{} }() // Reload logs its own error; the old data stays
	}
loop:
	for {
		select {
		case s := <-sigs:
			switch s {
			case "HUP":
				logger.Info("SIGHUP: reloading", "data", dataName(*data))
				if reloading {
					again = true
				} else {
					startReload()
				}
			case "TERM", "INT":
				logger.Info("stopping: finishing requests in flight", "signal", s, "timeout", *shutdownTimeout)
				break loop
			default:
				logger.Warn("ignoring unknown signal", "signal", s)
			}
		case <-reloadDone:
			reloading = false
			if again {
				again = false
				startReload()
			}
		case err := <-serveErr:
			running--
			if !errors.Is(err, policy.ErrServerClosed) {
				logger.Error("listener failed; stopping", "err", err)
				status = ExitUsage
				break loop
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), *shutdownTimeout)
	defer cancel()
	go func() {
		// A second TERM/INT stops waiting.
		for {
			select {
			case s := <-sigs:
				if s == "TERM" || s == "INT" {
					logger.Warn("second stop signal: closing connections now")
					cancel()
					return
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	if err := srv.Shutdown(ctx); err != nil {
		logger.Warn("shutdown did not finish in time; closed remaining connections", "err", err)
	}
	for ; running > 0; running-- {
		<-serveErr
	}
	logger.Info("mimecastip policy service stopped")
	return status
}

// parseAllowFrom parses --allow-from: comma-separated prefixes or
// addresses (an address is its own /32 or /128).
func parseAllowFrom(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			if p != p.Masked() {
				return nil, fmt.Errorf("%q has host bits set (did you mean %s?)", f, p.Masked())
			}
			if p.Addr().Is4In6() {
				return nil, fmt.Errorf("%q is IPv4 written in IPv6 form; peers are matched unmapped, write the IPv4 prefix", f)
			}
			out = append(out, p)
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil || a.Zone() != "" {
			return nil, fmt.Errorf("%q is not a CIDR prefix or an IP address", f)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no prefix given (name at least one, e.g. 127.0.0.1/32)")
	}
	return out, nil
}

func dataName(path string) string {
	if path == "" {
		return "embedded " + regions.Version()
	}
	return path
}
