package journey

// The README commands the journeys run, by block and the start of the
// line: the journeys take the whole line from the README, so a changed
// command is run as changed, and a removed one fails the unit tier
// (TestEveryCommandTheJourneysRunIsInTheREADME) before any journey runs.
var (
	cmdSmoke             = cmdRef{"smoke-and-down", "make smoke"}
	cmdDown              = cmdRef{"smoke-and-down", "make down"}
	cmdCurlOutputs       = cmdRef{"outputs", "curl "}
	cmdBuildRollout      = cmdRef{"rollout", "go build -o bin/ ./cmd/rollout"}
	cmdCheck             = cmdRef{"rollout", "bin/rollout check --stack dev"}
	cmdAdvance           = cmdRef{"rollout", "bin/rollout advance --stack dev"}
	cmdPRCreate          = cmdRef{"rollout", "gh pr create"}
	cmdUpAgain           = cmdRef{"rollout", "make up"}
	cmdRollback          = cmdRef{"rollout", "# An exit 1 instead: bin/rollout rollback"}
	cmdBuildShadowReport = cmdRef{"shadow-report", "go build -o bin/ ./cmd/shadow-report"}
	cmdShadowRpt         = cmdRef{"shadow-report", "bin/shadow-report --stack shadow --out report/   #"}
	cmdShadowGate        = cmdRef{"shadow-report", "bin/shadow-report --stack shadow --out report/ --since"}
	cmdShadowLogs        = cmdRef{"shadow-report", "bin/shadow-report --logs"}
	// examples/sklearn-iris/README.md: smoke with the model's own request.
	cmdSmokeByoInfer = cmdRef{"byo", "make smoke STACK=byo ARGS="}
)

// allCommands is every command above, for the unit tier's check.
var allCommands = []cmdRef{cmdSmoke, cmdDown, cmdCurlOutputs, cmdBuildRollout, cmdCheck, cmdAdvance, cmdPRCreate, cmdUpAgain,
	cmdRollback, cmdBuildShadowReport, cmdShadowRpt, cmdShadowGate, cmdShadowLogs, cmdSmokeByoInfer}

// cmdRef names a README line: its block and how it starts.
type cmdRef struct{ block, prefix string }

// line is the README's line.
func (c cmdRef) line(blocks map[string]Block) (string, error) {
	b, ok := blocks[c.block]
	if !ok {
		return "", errNoBlock(c.block)
	}
	return b.Command(c.prefix)
}

type errNoBlock string

func (e errNoBlock) Error() string {
	return "neither README.md nor examples/sklearn-iris/README.md has a block marked <!-- journey: " + string(e) + " --> before a ```sh fence"
}
