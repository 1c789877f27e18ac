// Package cli implements the mimecastip command. Each subcommand lives in
// its own file as a func(*Env, []string) int; Main dispatches.
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/seed-b311f21d/go-mimecastip/mimecastip"
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
		{"trace", "tell from a message's headers whether it really came through Mimecast", cmdTrace},
		{"milter", "serve the lockdown as a milter (Postfix smtpd_milters, Sendmail, maddy)", cmdMilter},
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
//
// The flag package prints the full usage on stderr by itself for --help
// and for a bad flag; parseFlags keeps stderr to the one-line error and a
// hint, and prints the usage asked for with --help on stdout only.
func parseFlags(env *Env, fs *flag.FlagSet, args []string) (done bool, status int) {
	usage := fs.Usage
	fs.Usage = func() {}
	err := fs.Parse(args)
	fs.Usage = usage
	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(env.Stdout)
		fs.Usage()
		fs.SetOutput(env.Stderr)
		return true, ExitOK
	}
	if err != nil {
		fmt.Fprintf(env.Stderr, "Run \"mimecastip %s --help\" for usage.\n", fs.Name())
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

// parseArgs parses args like parseFlags but lets flags and operands mix
// ("lookup 1.2.3.4 --json"), as people type them; "--" ends the flags. It
// returns the operands.
func parseArgs(env *Env, fs *flag.FlagSet, args []string) (operands []string, done bool, status int) {
	for {
		if done, status := parseFlags(env, fs, args); done {
			return nil, true, status
		}
		rest := fs.Args()
		// flag stops at the first operand, or after "--".
		consumed := len(args) - len(rest)
		if consumed > 0 && args[consumed-1] == "--" {
			return append(operands, rest...), false, ExitOK
		}
		if len(rest) == 0 {
			return operands, false, ExitOK
		}
		operands = append(operands, rest[0])
		args = rest[1:]
	}
}

// regionFlag adds the --region flag to fs.
func regionFlag(fs *flag.FlagSet, what string) *string {
	return fs.String("region", "", "comma-separated regions or account codes (us, usb, ca, eu, de, au, za, or CUSA..., CUK...; \"all\" for every region)"+what)
}

// parseRegions parses the --region value; "" gives the empty set.
func parseRegions(env *Env, name, s string) (regions.Set, bool) {
	set, err := regions.ParseSet(s)
	if err != nil {
		errorf(env, name, "--region: %v", strings.TrimPrefix(err.Error(), "regions: "))
		return 0, false
	}
	return set, true
}

// parseClasses parses a comma-separated list of classes.
func parseClasses(env *Env, name, s string) ([]mimecastip.Class, bool) {
	var out []mimecastip.Class
	for _, f := range strings.Split(s, ",") {
		if strings.TrimSpace(f) == "" {
			continue
		}
		c, err := mimecastip.ParseClass(f)
		if err != nil {
			errorf(env, name, "--class: %v", strings.TrimPrefix(err.Error(), "mimecastip: "))
			return nil, false
		}
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		errorf(env, name, "--class: no class given (want mimecast, non-spf or foreign)")
		return nil, false
	}
	return out, true
}

// loadClassifier loads the dataset named by --data and builds a classifier over
// the ranges of set (every range when set is empty); on failure it prints
// the error and returns ok=false.
func loadClassifier(env *Env, name, dataPath string, set regions.Set) (*regions.Dataset, *mimecastip.Classifier, bool) {
	d, err := loadDataset(dataPath)
	if err != nil {
		errorf(env, name, "%v", err)
		return nil, nil, false
	}
	rs := d.Ranges
	if !set.IsEmpty() {
		rs = regions.Filter(rs, set)
	}
	c, err := mimecastip.New(rs)
	if err != nil {
		errorf(env, name, "%v", err)
		return nil, nil, false
	}
	return d, c, true
}

// openInput opens a named input file, or returns stdin for "-".
func openInput(env *Env, path string) (io.ReadCloser, error) {
	if path == "-" {
		return io.NopCloser(env.Stdin), nil
	}
	return os.Open(path)
}
