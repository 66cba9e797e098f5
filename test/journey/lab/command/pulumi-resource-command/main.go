// Command pulumi-resource-command is the journeys' stand-in for
// pulumi-command's provider plugin (see package command).
package main

import (
	"fmt"
	"os"

	"github.com/modelrollouts/modelrollouts/test/journey/lab/command"
)

// version is stamped by the journeys (-ldflags -X) with the version of
// github.com/pulumi/pulumi-command/sdk in go.mod, the plugin the program asks for.
var version = "1.1.0"

func main() {
	p := &command.Provider{Version: version}
	if path := os.Getenv("COMMAND_STANDIN_LOG"); path != "" {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		p.Log = f
	}
	if err := command.Serve(p, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
