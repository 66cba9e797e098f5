//go:build smoke

package smoke_test

import (
	"bytes"
	"context"
	"os"
	"testing"
	"time"

	"github.com/modelrollouts/modelrollouts/internal/smoke"
	"github.com/modelrollouts/modelrollouts/stacks/stackoutputs"
)

// TestLive checks a deployed stack. CI jobs with a cluster run
//
//	SMOKE_STACK=dev [SMOKE_CWD=path/to/project] go test -tags smoke -run TestLive -v -timeout 15m ./internal/smoke/
//
// or SMOKE_OUTPUTS=outputs.json instead of SMOKE_STACK.
func TestLive(t *testing.T) {
	src := stackoutputs.Source{Stack: os.Getenv("SMOKE_STACK"), Cwd: os.Getenv("SMOKE_CWD"), File: os.Getenv("SMOKE_OUTPUTS")}
	if src.Stack == "" && src.File == "" {
		t.Skip("no deployed stack to check: set SMOKE_STACK (with SMOKE_CWD for the pulumi project) or SMOKE_OUTPUTS to an outputs JSON file")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	o, err := stackoutputs.Load(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := smoke.Run(ctx, o, smoke.DefaultParams, smoke.NewProgress(os.Stderr, false))
	if err != nil {
		t.Fatal(err)
	}
	rep.Source = src.String()
	var buf bytes.Buffer
	rep.WriteText(&buf)
	t.Log("\n" + buf.String())
	if !rep.Pass {
		t.Fatalf("the deployment does not do what %s says: %v", src, rep.Failures())
	}
}
