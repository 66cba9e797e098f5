// Package cli is the one command-line convention every tool of the
// project follows (rollout, smoke, shadow-report, review, render):
//
//   - each command parses its own FlagSet, never the global one, so no
//     flag a dependency registers in an init function (glog's -v,
//     -log_dir, ...) reaches a user;
//   - -h/--help prints to stdout a one-line summary, the usage, the
//     flags, examples and the exit codes, and exits 0;
//   - a bad flag or a stray argument is named on stderr, with the way to
//     the help, and exits 2 (every tool's "could not do its job");
//   - a renamed flag keeps its old name as a hidden alias that warns.
//
// docs/cli.md describes the convention for users.
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
)

// ExitUsage is the exit code of a command line that cannot be run: every
// tool uses 2 for "could not do its job".
const ExitUsage = 2

// ExitCode is one exit status and what it means.
type ExitCode struct {
	Code    int
	Meaning string
}

// Command is one tool (or one subcommand: "rollout check") and its flags.
type Command struct {
	// Name as a user types it after `go run ./cmd/...`: "smoke",
	// "rollout check".
	Name string
	// Summary is one line: what the command does.
	Summary string
	// Usage is the synopsis after the name, e.g.
	// "(--stack NAME | --outputs FILE) [flags]".
	Usage string
	// Examples are command lines a user can paste.
	Examples []string
	// Exit lists every exit status the command can end with.
	Exit []ExitCode
	// Notes is an optional paragraph printed after the flags.
	Notes string
	// Flags is the command's own FlagSet.
	Flags *flag.FlagSet

	aliases map[string]string // hidden old name → current name
}

// New returns a command with an empty private FlagSet.
func New(name, summary string) *Command {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // Parse reports errors itself
	fs.Usage = func() {}
	return &Command{Name: name, Summary: summary, Flags: fs, aliases: map[string]string{}}
}

// Alias registers old as a hidden, deprecated name of the flag name
// (registered already): it sets the same value and warns when used.
func (c *Command) Alias(old, name string) {
	f := c.Flags.Lookup(name)
	if f == nil {
		panic("cli: alias " + old + " of unknown flag " + name)
	}
	c.Flags.Var(f.Value, old, "deprecated: use --"+name)
	c.Deprecated(old, name)
}

// Deprecated hides the registered flag old from the help and warns when
// it is used, pointing at its replacement (a flag whose value differs,
// e.g. --confidence 0.95 for --alpha 0.05).
func (c *Command) Deprecated(old, replacement string) {
	if c.Flags.Lookup(old) == nil {
		panic("cli: unknown flag " + old)
	}
	c.aliases[old] = replacement
}

// Parse parses args. done means the caller returns code at once: the
// help was printed (0) or the command line is wrong (ExitUsage, the
// reason on stderr).
func (c *Command) Parse(args []string, stdout, stderr io.Writer) (code int, done bool) {
	err := c.Flags.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		c.WriteHelp(stdout)
		return 0, true
	case err != nil:
		return c.UsageError(stderr, err.Error()), true
	case c.Flags.NArg() > 0:
		return c.UsageError(stderr, fmt.Sprintf("unexpected arguments %q", c.Flags.Args())), true
	}
	c.Flags.Visit(func(f *flag.Flag) {
		if name, ok := c.aliases[f.Name]; ok {
			fmt.Fprintf(stderr, "%s: --%s is deprecated and will go: use --%s\n", c.Name, f.Name, name)
		}
	})
	return 0, false
}

// UsageError prints a command-line problem and where the help is, and
// returns ExitUsage.
func (c *Command) UsageError(stderr io.Writer, msg string) int {
	fmt.Fprintf(stderr, "%s: %s\nrun `%s -h` for the flags, examples and exit codes\n", c.Name, msg, c.Name)
	return ExitUsage
}

// Set reports whether the flag (or its old alias) was given.
func (c *Command) Set(name string) bool {
	set := false
	c.Flags.Visit(func(f *flag.Flag) {
		if f.Name == name || c.aliases[f.Name] == name {
			set = true
		}
	})
	return set
}

// WriteHelp prints the summary, the usage, the flags (without the hidden
// aliases), the examples and the exit codes.
func (c *Command) WriteHelp(w io.Writer) {
	fmt.Fprintf(w, "%s: %s\n\nusage: %s %s\n\nflags:\n", c.Name, c.Summary, c.Name, c.Usage)
	visible := flag.NewFlagSet(c.Name, flag.ContinueOnError)
	c.Flags.VisitAll(func(f *flag.Flag) {
		if _, hidden := c.aliases[f.Name]; hidden {
			return
		}
		visible.Var(f.Value, f.Name, f.Usage)
		visible.Lookup(f.Name).DefValue = f.DefValue
	})
	visible.SetOutput(w)
	visible.PrintDefaults()
	if c.Notes != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimRight(c.Notes, "\n"))
	}
	WriteExamples(w, c.Examples)
	WriteExitCodes(w, c.Exit)
}

// WriteExamples prints the examples section.
func WriteExamples(w io.Writer, examples []string) {
	fmt.Fprintln(w, "\nexamples:")
	for _, e := range examples {
		fmt.Fprintf(w, "  %s\n", e)
	}
}

// WriteExitCodes prints the exit status section, lowest code first.
func WriteExitCodes(w io.Writer, codes []ExitCode) {
	sorted := append([]ExitCode(nil), codes...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Code < sorted[j].Code })
	fmt.Fprintln(w, "\nexit status:")
	for _, e := range sorted {
		fmt.Fprintf(w, "  %d  %s\n", e.Code, e.Meaning)
	}
}

// IsHelp reports whether args ask for help and nothing else (a tool with
// subcommands answers it before picking one).
func IsHelp(args []string) bool {
	if len(args) != 1 {
		return false
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		return true
	}
	return false
}
