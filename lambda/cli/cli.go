package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"
	"strings"

	"github.com/vpce-guard/vpce-guard/lambda/remediate"
)

// Exit statuses shared by every command.
const (
	ExitOK       = 0
	ExitNegative = 1 // non-compliant, denied
	ExitError    = 2 // bad input or usage, bad configuration, or an AWS call that failed
)

// Env is what a command may touch of the world outside.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	ReadFile       func(name string) ([]byte, error)

	// Open opens a file or a folder for replay, which streams files too large
	// to read at once. A folder must implement fs.ReadDirFile, as *os.File does.
	Open func(name string) (fs.File, error)
	// Getenv reads the settings replay and audit share with the Lambda
	// (CHECK_MODE, SERVICES, ...); nil reads none, so every default applies.
	Getenv func(key string) string
	// NewEC2 returns an EC2 client for region, or for the SDK's default region
	// when region is empty, and the region the client uses. It is called only
	// when a command needs EC2, so the offline commands need no AWS configuration.
	NewEC2 func(ctx context.Context, region string) (client remediate.EC2, clientRegion string, err error)
}

// OSEnv is the process's own standard streams, file system and environment
// variables. NewEC2 is left for main to set, which owns the AWS SDK configuration.
func OSEnv() Env {
	return Env{
		Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
		ReadFile: os.ReadFile,
		Open:     func(name string) (fs.File, error) { return os.Open(name) },
		Getenv:   os.Getenv,
	}
}

type command struct {
	summary string
	run     func(ctx context.Context, env Env, args []string) int
}

// commands are the commands, by name.
var commands = map[string]command{
	"audit":    {"check every endpoint of a region; fix with --fix (exit 0 all compliant or fixed, 1 non-compliant found, 2 errors)", runAudit},
	"check":    {"check a policy file against a template or another policy (exit 0 compliant, 1 not, 2 bad input)", runCheck},
	"fix":      {"print the policy the function would write for a policy file (exit 0 compliant, nothing printed; 1 rewritten; 2 bad input)", runFix},
	"render":   {"print a rendered template", runRender},
	"replay":   {"handle recorded events against EC2 now (exit 0 handled, 1 non-compliant left by --dry-run, 2 errors)", runReplay},
	"simulate": {"decide one request against a policy (exit 0 allow, 1 deny, 2 bad input)", runSimulate},
}

// Run runs the command named by args[0] and returns the exit status.
func Run(ctx context.Context, env Env, args []string) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(env.Stderr)
		if len(args) == 0 {
			return ExitError
		}
		return ExitOK
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(env.Stderr, "vpce-guard: unknown command %q\n", args[0])
		usage(env.Stderr)
		return ExitError
	}
	return cmd.run(ctx, env, args[1:])
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: vpce-guard COMMAND [flags] [args]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for name := range commands {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Fprintf(w, "  %-9s %s\n", name, commands[name].summary)
	}
	fmt.Fprintln(w, "\nrun 'vpce-guard COMMAND -h' for a command's flags")
}

// parseArgs parses flags that may come before, between or after the
// positional arguments, as people type them.
func parseArgs(flags *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := flags.Parse(args); err != nil {
			return nil, err
		}
		args = flags.Args()
		if len(args) == 0 {
			return positional, nil
		}
		if args[0] == "--" {
			return append(positional, args[1:]...), nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}

// newFlagSet makes a flag set that reports errors instead of exiting.
func newFlagSet(name string, env Env, synopsis string) *flag.FlagSet {
	flags := flag.NewFlagSet(name, flag.ContinueOnError)
	flags.SetOutput(env.Stderr)
	flags.Usage = func() {
		fmt.Fprintf(env.Stderr, "usage: vpce-guard %s %s\n", name, synopsis)
		flags.PrintDefaults()
	}
	return flags
}

// usageError prints a problem with the command line and returns ExitError.
func usageError(env Env, name string, err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return ExitOK
	}
	fmt.Fprintf(env.Stderr, "vpce-guard %s: %v\n", name, err)
	return ExitError
}

// stringList is a flag that may be given several times.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// readInput reads a named file, or standard input for "-".
func readInput(env Env, name string) ([]byte, error) {
	if name == "-" {
		return io.ReadAll(env.Stdin)
	}
	return env.ReadFile(name)
}
