// Package command stands in for pulumi-command's provider, whose module the
// Go module proxy refuses (so it cannot be built here), for the one
// resource the program uses: command:local:Command. It does what the real
// one does with the inputs the program sets: runs `create` (on create and
// on update) and `delete` with /bin/sh -c, the provider's environment plus
// `environment`, `stdin` on standard input, and returns stdout and stderr
// (a trailing newline trimmed) beside the inputs; a delete also gets the
// create's stdout and stderr in PULUMI_COMMAND_STDOUT/STDERR unless
// addPreviousOutputInEnv is false. Any other input it does
// not know is refused at its name, so a program that starts relying on one
// fails here instead of passing untested.
//
// The journeys install it as the command plugin at the version the SDK in
// go.mod asks for, with a `kind` stand-in on the engine's PATH, so a kind
// stack deploys as typed: its kubeconfig comes out of a real
// local:Command's stdout, and the stack output is a secret.
package command
