package cli

import (
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
