package cli

import (
	"flag"

	"github.com/modelrollouts/modelrollouts/stacks/stackoutputs"
)

// OutputsFlags registers the flags that say where a tool reads the stack
// outputs, with one name and one meaning in every tool.
func OutputsFlags(fs *flag.FlagSet, src *stackoutputs.Source) {
	fs.StringVar(&src.Stack, "stack", "", "pulumi `NAME` whose outputs to read (runs 'pulumi stack output --json' against the project's "+
		stackoutputs.StateDir+" backend unless PULUMI_BACKEND_URL is set, as make does)")
	fs.StringVar(&src.Cwd, "cwd", "", "pulumi project directory for --stack (default: the folder with Pulumi.yaml above the working directory)")
	fs.StringVar(&src.File, "outputs", "", "read the outputs from this JSON file instead (written by 'pulumi stack output --json > FILE')")
}
