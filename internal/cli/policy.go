package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/seed-b311f21d/go-mimecastip/internal/policy"
	"github.com/seed-b311f21d/go-mimecastip/mimecastip"
	"github.com/seed-b311f21d/go-mimecastip/regions"
)

const policyDescription = `
Serve Postfix policy delegation requests (check_policy_service, Postfix's
SMTPD_POLICY_README protocol) and answer per client_address:

  Mimecast gateway or non-SPF relay of the --region regions  -> --pass (DUNNO)
  any other address (incl. Mimecast of other regions, IPv6)   -> --reject
  --tag: every client                                          -> PREPEND X-Mimecast-Class: <class>; regions=...
  missing or unparseable client_address                       -> DEFER_IF_PERMIT 4.7.1 (never a pass)
  internal error                                               -> DEFER_IF_PERMIT 4.3.0

--pass and --reject take any access(5) action; {address}, {class} and
{regions} in them are replaced. Input that breaks the protocol or a limit
(line, attribute count, request size, read timeout) closes that connection
without an answer; Postfix retries and then applies
smtpd_policy_service_default_action.

--listen (repeatable) takes
  HOST:PORT, inet:HOST:PORT       TCP, e.g. 127.0.0.1:10040 or inet:[::1]:10040
  unix:/PATH, or any path with /  a unix socket; a stale socket file is
                                  removed, the socket gets --socket-mode and
                                  is removed at exit

Signals: SIGTERM/SIGINT stop accepting, let requests in flight finish and
answer, then exit 0 (a second signal, or --shutdown-timeout, closes what is
left). SIGHUP reloads the data (--data FILE is read again; the embedded
dataset is rebuilt) without dropping connections; a failed reload keeps the
old data and logs the error.

Postfix main.cf (after reject_unauth_destination, or OK would make an open relay):
  smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination,
      check_policy_service { inet:127.0.0.1:10040, default_action=451 4.3.5 Policy service unavailable }
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
	fs := newFlags(env, name, "--listen ADDR [--listen ADDR...] [--region R,...] [--data FILE] [--pass ACTION] [--reject ACTION] [--tag] [flags]", policyDescription)
	var listens listFlag
	fs.Var(&listens, "listen", "listen on `ADDR`: HOST:PORT, inet:HOST:PORT, unix:/PATH or a path (repeatable; required)")
	regionList := regionFlag(fs, "; accept only the gateways of these (default: every region)")
	data := fs.String("data", "", dataFlagUsage+"; re-read on SIGHUP")
	pass := fs.String("pass", policy.DefaultPassAction, "`action` for Mimecast and non-SPF relay clients of the regions")
	reject := fs.String("reject", policy.DefaultRejectAction, "`action` for every other client ({address}, {class}, {regions} are replaced)")
	tag := fs.Bool("tag", false, "tag-only mode: answer PREPEND <tag-header>: <class>; regions=... for every client instead of --pass/--reject")
	tagHeader := fs.String("tag-header", policy.DefaultTagHeader, "header `name` of --tag")
	logLevel := fs.String("log-level", "info", "log `level`: debug (one line per decision), info, warn or error")
	logFormat := fs.String("log-format", "text", "log `format`: text or json (logs go to stderr)")
	socketMode := modeFlag(0o666)
	fs.Var(&socketMode, "socket-mode", "permission bits of unix sockets (Postfix's smtpd runs as user postfix)")
	readTimeout := fs.Duration("read-timeout", policy.DefaultReadTimeout, "time allowed from a request's first byte to its end")
	idleTimeout := fs.Duration("idle-timeout", policy.DefaultIdleTimeout, "close a connection idle this long (keep above Postfix's smtpd_policy_service_max_idle, 300s)")
	maxConns := fs.Int("max-conns", policy.DefaultMaxConns, "close new connections beyond this many open ones")
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
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		errorf(env, name, "--log-level: want debug, info, warn or error")
		return ExitUsage
	}
	hopts := &slog.HandlerOptions{Level: level}
	var logger *slog.Logger
	switch *logFormat {
	case "text":
		logger = slog.New(slog.NewTextHandler(env.Stderr, hopts))
	case "json":
		logger = slog.New(slog.NewJSONHandler(env.Stderr, hopts))
	default:
		errorf(env, name, "--log-format: want text or json")
		return ExitUsage
	}
	for _, a := range []struct{ flag, v string }{{"--pass", *pass}, {"--reject", *reject}} {
		if err := policy.ValidateAction(a.v); err != nil {
			errorf(env, name, "%s: %v", a.flag, err)
			return ExitUsage
		}
	}

	load := policy.Loader(*data, scope)
	scoped, wide, err := load()
	if err != nil {
		errorf(env, name, "%v", err)
		return ExitUsage
	}
	cfg := policy.Config{
		Classifier: mimecastip.NewReloadable(scoped), Regions: scope, Load: load,
		PassAction: *pass, RejectAction: *reject, Tag: *tag, TagHeader: *tagHeader,
		ReadTimeout: *readTimeout, IdleTimeout: *idleTimeout, MaxConns: *maxConns,
		StatsInterval: *statsInterval, Logger: logger,
	}
	if wide != nil {
		cfg.Wide = mimecastip.NewReloadable(wide)
	}
	srv, err := policy.New(cfg)
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

	sigs := env.Signals
	if sigs == nil {
		sigs = make(chan string, 4)
		osSigs := make(chan os.Signal, 4)
		signal.Notify(osSigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
		defer signal.Stop(osSigs)
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			for {
				select {
				case s := <-osSigs:
					switch s {
					case syscall.SIGHUP:
						sigs <- "HUP"
					case syscall.SIGINT:
						sigs <- "INT"
					default:
						sigs <- "TERM"
					}
				case <-stop:
					return
				}
			}
		}()
	}

	scopeText := scope.String()
	if scopeText == "" {
		scopeText = "all"
	}
	mode := "enforce"
	if *tag {
		mode = "tag"
	}
	logger.Info("mimecastip policy service starting", "regions", scopeText, "ranges", scoped.Len(),
		"data", dataName(*data), "mode", mode, "pass", *pass, "reject", *reject)

	serveErr := make(chan error, len(lns))
	for _, l := range lns {
		go func(l net.Listener) { serveErr <- srv.Serve(l) }(l)
	}
	status := ExitOK
	running := len(lns)
loop:
	for {
		select {
		case s := <-sigs:
			switch s {
			case "HUP":
				logger.Info("SIGHUP: reloading", "data", dataName(*data))
				srv.Reload() // logs its own error; the old data stays
			case "TERM", "INT":
				logger.Info("stopping: finishing requests in flight", "signal", s, "timeout", *shutdownTimeout)
				break loop
			default:
				logger.Warn("ignoring unknown signal", "signal", s)
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

func dataName(path string) string {
	if path == "" {
		return "embedded " + regions.Version()
	}
	return path
}
