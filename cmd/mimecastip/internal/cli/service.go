package cli

import (
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

// serviceSignals returns the channel a long-running subcommand (policy,
// milter) reads its signals from: env.Signals when set (tests), else the
// process's SIGTERM, SIGINT and SIGHUP as "TERM", "INT" and "HUP". The
// returned function stops the delivery.
func serviceSignals(env *Env) (<-chan string, func()) {
	if env.Signals != nil {
		return env.Signals, func() {}
	}
	sigs := make(chan string, 4)
	osSigs := make(chan os.Signal, 4)
	signal.Notify(osSigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	stop := make(chan struct{})
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
	return sigs, func() { signal.Stop(osSigs); close(stop) }
}

// serviceLogger builds the logger of a long-running subcommand from its
// --log-level and --log-format flags, writing to env.Stderr; a bad value
// is reported and ok is false.
func serviceLogger(env *Env, name, level, format string) (logger *slog.Logger, ok bool) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		errorf(env, name, "--log-level: want debug, info, warn or error")
		return nil, false
	}
	hopts := &slog.HandlerOptions{Level: l}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(env.Stderr, hopts)), true
	case "json":
		return slog.New(slog.NewJSONHandler(env.Stderr, hopts)), true
	}
	errorf(env, name, "--log-format: want text or json")
	return nil, false
}
