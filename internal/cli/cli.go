// Package cli implements the mimecastip command. Each subcommand lives in
// its own file as a func(*Env, []string) int; Main dispatches.
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/seed-b311f21d/go-mimecastip/regions"
)

// Exit statuses shared by every subcommand.
const (
	ExitOK      = 0 // done, nothing to report
	ExitFinding = 1 // done, and found something (a foreign address, a missing range, drift)
	ExitUsage   = 2 // bad usage or bad input; nothing (or not everything) was done
)

// Env is what a subcommand may touch: its standard streams and a way to
// tell it to stop (for long-running servers).
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Signals, when non-nil, delivers "TERM"/"INT" (stop) and "HUP"
	// (reload) to long-running subcommands. StdEnv wires it to the
	// process's signals; tests send on it directly.
	Signals chan string
}

// StdEnv returns an Env on the process's standard streams.
func StdEnv() *Env {
	return &Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}
}

type command struct {
	name    string
	summary string
	run     func(*Env, []string) int
}

func commands() []command {
	return []command{
		{"lookup", "classify addresses given as arguments or on stdin", cmdLookup},
		{"scan", "print log lines holding Mimecast (or other) addresses", cmdScan},
		{"export", "write the ranges as an allowlist for a mail system or firewall", cmdExport},
		{"audit", "check an existing allowlist against the published ranges", cmdAudit},
		{"regions", "list regions, account codes, SPF includes, URLs and ports", cmdRegions},
		{"policy", "serve Postfix policy delegation requests (check_policy_service)", cmdPolicy},
		{"refresh", "compare the data with Mimecast's SPF records, optionally write a new file", cmdRefresh},
	}
}

// Main runs the command line args (without the program name) and returns the
// exit status.
func Main(args []string, env *Env) int {
	if len(args) == 0 {
		usage(env.Stderr)
		return ExitUsage
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		if len(args) > 1 {
			return Main([]string{args[1], "--help"}, env)
		}
		usage(env.Stdout)
		return ExitOK
	case "version", "--version":
		fmt.Fprintf(env.Stdout, "mimecastip, embedded dataset %s\n", regions.Version())
		return ExitOK
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(env, args[1:])
		}
	}
	fmt.Fprintf(env.Stderr, "mimecastip: unknown subcommand %q\n\n", args[0])
	usage(env.Stderr)
	return ExitUsage
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "Usage: mimecastip SUBCOMMAND [flags] [args]\n\nSubcommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nRun \"mimecastip SUBCOMMAND --help\" for a subcommand's flags.\n")
	fmt.Fprintf(w, "Exit status: 0 ok, 1 a finding, 2 a usage or input error.\n")
}

// newFlags returns a flag set for a subcommand whose usage text starts with
// synopsis and a description.
func newFlags(env *Env, name, synopsis, description string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "Usage: mimecastip %s %s\n\n%s\n", name, synopsis, strings.TrimSpace(description))
		var any bool
		fs.VisitAll(func(*flag.Flag) { any = true })
		if any {
			fmt.Fprintf(w, "\nFlags:\n")
			fs.PrintDefaults()
		}
	}
	return fs
}

// parseFlags parses args; it returns done=true with the exit status when the
// subcommand must stop (--help: 0, printed to stdout; a bad flag: 2).
func parseFlags(env *Env, fs *flag.FlagSet, args []string) (done bool, status int) {
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(env.Stdout)
		fs.Usage()
		return true, ExitOK
	}
	if err != nil {
		return true, ExitUsage
	}
	return false, ExitOK
}

// errorf prints "mimecastip NAME: message" on stderr.
func errorf(env *Env, name, format string, args ...any) {
	fmt.Fprintf(env.Stderr, "mimecastip %s: %s\n", name, fmt.Sprintf(format, args...))
}

// loadDataset returns the embedded dataset, or the data file at path when
// path is not empty (parsed and validated like the embedded one).
func loadDataset(path string) (*regions.Dataset, error) {
	if path == "" {
		return regions.Embedded(), nil
	}
	return regions.ParseFile(path)
}

// dataFlagUsage is the help text of every subcommand's --data flag.
const dataFlagUsage = "read ranges from this data file (the format of regions/ranges.txt) instead of the embedded dataset"
