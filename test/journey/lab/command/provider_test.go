package command

import (
	"context"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
)

func inputs(create, del string) resource.PropertyMap {
	return resource.NewPropertyMapFromMap(map[string]any{
		"create":      create,
		"delete":      del,
		"environment": map[string]any{"NAME": "lab"},
		"stdin":       "from stdin\n",
		"logging":     "stderr",
	})
}

// Create runs create as the real provider does: /bin/sh -c, the extra
// environment, stdin; stdout (one trailing newline trimmed) is an output.
func TestCreateRunsTheCommandWithItsEnvironmentAndStdin(t *testing.T) {
	p := &Provider{Version: "1.1.0"}
	res, err := p.Create(context.Background(), plugin.CreateRequest{Name: "c", Type: tokens.Type(Type),
		Properties: inputs(`echo "$NAME"; cat; echo progress >&2`, "")})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Properties["stdout"].StringValue(); got != "lab\nfrom stdin" {
		t.Errorf("stdout %q", got)
	}
	if got := res.Properties["stderr"].StringValue(); got != "progress" {
		t.Errorf("stderr %q", got)
	}
	if res.ID == "" || !res.Properties["create"].IsString() {
		t.Errorf("id %q, properties %v: want an id and the inputs kept", res.ID, res.Properties)
	}
}

// A failing create fails the resource with its stderr; a preview runs
// nothing and leaves stdout unknown.
func TestAFailingCreateFailsAndAPreviewRunsNothing(t *testing.T) {
	p := &Provider{Version: "1.1.0"}
	_, err := p.Create(context.Background(), plugin.CreateRequest{Name: "c", Type: tokens.Type(Type),
		Properties: inputs(`echo no cluster >&2; exit 3`, "")})
	if err == nil || !strings.Contains(err.Error(), "no cluster") {
		t.Errorf("err %v, want the command's stderr", err)
	}
	res, err := p.Create(context.Background(), plugin.CreateRequest{Name: "c", Type: tokens.Type(Type), Preview: true,
		Properties: inputs(`exit 3`, "")})
	if err != nil || !res.Properties["stdout"].IsComputed() {
		t.Errorf("preview: %v, stdout %v: want nothing run and an unknown stdout", err, res.Properties["stdout"])
	}
}

// Delete runs delete with the create's stdout in PULUMI_COMMAND_STDOUT.
func TestDeleteSeesTheCreatesOutput(t *testing.T) {
	p := &Provider{Version: "1.1.0"}
	out := inputs("", `test "$PULUMI_COMMAND_STDOUT" = kubeconfig && test "$NAME" = lab`)
	out["stdout"] = resource.NewProperty("kubeconfig")
	if _, err := p.Delete(context.Background(), plugin.DeleteRequest{Name: "c", Type: tokens.Type(Type), Outputs: out}); err != nil {
		t.Error(err)
	}
}

// An input the stand-in does not implement is refused at its name, so
// the program cannot come to rely on one untested.
func TestAnInputItDoesNotImplementIsRefusedAtItsName(t *testing.T) {
	p := &Provider{Version: "1.1.0"}
	news := inputs("true", "")
	news["interpreter"] = resource.NewProperty([]resource.PropertyValue{resource.NewProperty("/bin/bash")})
	res, err := p.Check(context.Background(), plugin.CheckRequest{Type: tokens.Type(Type), News: news})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Failures) != 1 || res.Failures[0].Property != "interpreter" {
		t.Errorf("failures %v, want interpreter refused", res.Failures)
	}
	if _, err := p.Check(context.Background(), plugin.CheckRequest{Type: "command:remote:Command", News: inputs("true", "")}); err == nil {
		t.Error("command:remote:Command accepted")
	}
}

// Diff names the inputs that changed (the program replaces on any).
func TestDiffNamesTheChangedInputs(t *testing.T) {
	p := &Provider{Version: "1.1.0"}
	d, err := p.Diff(context.Background(), plugin.DiffRequest{OldInputs: inputs("a", "b"), NewInputs: inputs("a2", "b")})
	if err != nil || d.Changes != plugin.DiffSome || len(d.ChangedKeys) != 1 || d.ChangedKeys[0] != "create" {
		t.Errorf("diff %+v %v", d, err)
	}
	d, _ = p.Diff(context.Background(), plugin.DiffRequest{OldInputs: inputs("a", "b"), NewInputs: inputs("a", "b")})
	if d.Changes != plugin.DiffNone {
		t.Errorf("no change diffed as %v", d.Changes)
	}
}
