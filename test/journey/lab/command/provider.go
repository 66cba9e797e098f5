package command

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strings"

	"github.com/blang/semver"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
)

// Type is the one resource type served.
const Type = "command:local:Command"

// known are the inputs it implements; outputs are the inputs plus these.
var (
	known   = []string{"create", "delete", "environment", "stdin", "logging", "triggers", "addPreviousOutputInEnv"}
	outputs = []string{"stdout", "stderr"}
)

// Provider serves local:Command at Version.
type Provider struct {
	plugin.UnimplementedProvider
	Version string
	// Log receives each command run and its stderr (the real provider
	// streams stderr to the engine's log).
	Log *os.File
}

func (p *Provider) GetPluginInfo(context.Context) (plugin.PluginInfo, error) {
	v, err := semver.Parse(p.Version)
	if err != nil {
		return plugin.PluginInfo{}, err
	}
	return plugin.PluginInfo{Version: &v}, nil
}

func (p *Provider) CheckConfig(_ context.Context, req plugin.CheckConfigRequest) (plugin.CheckConfigResponse, error) {
	return plugin.CheckConfigResponse{Properties: req.News}, nil
}

func (p *Provider) DiffConfig(context.Context, plugin.DiffConfigRequest) (plugin.DiffConfigResponse, error) {
	return plugin.DiffResult{Changes: plugin.DiffNone}, nil
}

func (p *Provider) Configure(context.Context, plugin.ConfigureRequest) (plugin.ConfigureResponse, error) {
	return plugin.ConfigureResponse{}, nil
}

func (p *Provider) Check(_ context.Context, req plugin.CheckRequest) (plugin.CheckResponse, error) {
	var failures []plugin.CheckFailure
	for k := range req.News {
		if !slices.Contains(known, string(k)) {
			failures = append(failures, plugin.CheckFailure{Property: k,
				Reason: fmt.Sprintf("the journeys' command provider stand-in implements only %s", strings.Join(known, ", "))})
		}
	}
	if err := checkType(req.Type); err != nil {
		return plugin.CheckResponse{}, err
	}
	return plugin.CheckResponse{Properties: req.News, Failures: failures}, nil
}

// Diff reports the inputs that changed; the program's replaceOnChanges
// turns any of them into a replacement, as with the real provider.
func (p *Provider) Diff(_ context.Context, req plugin.DiffRequest) (plugin.DiffResponse, error) {
	var changed []resource.PropertyKey
	keys := map[resource.PropertyKey]bool{}
	for k := range req.OldInputs {
		keys[k] = true
	}
	for k := range req.NewInputs {
		keys[k] = true
	}
	for k := range keys {
		if !req.OldInputs[k].DeepEquals(req.NewInputs[k]) {
			changed = append(changed, k)
		}
	}
	sort.Slice(changed, func(i, j int) bool { return changed[i] < changed[j] })
	if len(changed) == 0 {
		return plugin.DiffResult{Changes: plugin.DiffNone}, nil
	}
	return plugin.DiffResult{Changes: plugin.DiffSome, ChangedKeys: changed}, nil
}

func (p *Provider) Create(ctx context.Context, req plugin.CreateRequest) (plugin.CreateResponse, error) {
	if err := checkType(req.Type); err != nil {
		return plugin.CreateResponse{}, err
	}
	out, err := p.run(ctx, req.Properties, "create", req.Preview)
	if err != nil {
		return plugin.CreateResponse{}, err
	}
	id := make([]byte, 4)
	_, _ = rand.Read(id)
	return plugin.CreateResponse{ID: resource.ID(req.Name + hex.EncodeToString(id)), Properties: out, Status: resource.StatusOK}, nil
}

func (p *Provider) Update(ctx context.Context, req plugin.UpdateRequest) (plugin.UpdateResponse, error) {
	out, err := p.run(ctx, req.NewInputs, "create", req.Preview)
	if err != nil {
		return plugin.UpdateResponse{}, err
	}
	return plugin.UpdateResponse{Properties: out, Status: resource.StatusOK}, nil
}

func (p *Provider) Read(_ context.Context, req plugin.ReadRequest) (plugin.ReadResponse, error) {
	return plugin.ReadResponse{ReadResult: plugin.ReadResult{ID: req.ID, Inputs: req.Inputs, Outputs: req.State}, Status: resource.StatusOK}, nil
}

func (p *Provider) Delete(ctx context.Context, req plugin.DeleteRequest) (plugin.DeleteResponse, error) {
	_, err := p.run(ctx, req.Outputs, "delete", false)
	return plugin.DeleteResponse{Status: resource.StatusOK}, err
}

// run runs the command under key ("create" or "delete") as the real
// provider does and returns the inputs with stdout and stderr. In a
// preview nothing runs and the outputs are unknown.
func (p *Provider) run(ctx context.Context, props resource.PropertyMap, key string, preview bool) (resource.PropertyMap, error) {
	out := props.Copy()
	for _, k := range outputs {
		out[resource.PropertyKey(k)] = resource.MakeComputed(resource.NewProperty(""))
	}
	script := props["create"]
	if key == "delete" {
		script = props["delete"]
	}
	if preview || !script.IsString() || script.StringValue() == "" {
		if !preview {
			for _, k := range outputs {
				out[resource.PropertyKey(k)] = resource.NewProperty("")
			}
		}
		return out, nil
	}
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", script.StringValue())
	cmd.Env = os.Environ()
	if env := props["environment"]; env.IsObject() {
		for k, v := range env.ObjectValue() {
			if v.IsString() {
				cmd.Env = append(cmd.Env, string(k)+"="+v.StringValue())
			}
		}
	}
	if prev := props["addPreviousOutputInEnv"]; key == "delete" && (!prev.IsBool() || prev.BoolValue()) {
		// The real provider hands a delete the create's outputs (unless
		// addPreviousOutputInEnv is false).
		for _, k := range outputs {
			if v := props[resource.PropertyKey(k)]; v.IsString() {
				cmd.Env = append(cmd.Env, "PULUMI_COMMAND_"+strings.ToUpper(k)+"="+v.StringValue())
			}
		}
	}
	if in := props["stdin"]; in.IsString() {
		cmd.Stdin = strings.NewReader(in.StringValue())
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if p.Log != nil {
		fmt.Fprintf(p.Log, "[command stand-in] %s: %s (%v)\n%s", key, script.StringValue(), err, stderr.String())
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %s", key, err, strings.TrimSpace(stderr.String()))
	}
	out["stdout"] = resource.NewProperty(strings.TrimSuffix(stdout.String(), "\n"))
	out["stderr"] = resource.NewProperty(strings.TrimSuffix(stderr.String(), "\n"))
	return out, nil
}

func checkType(t interface{ String() string }) error {
	if t.String() != "" && t.String() != Type {
		return fmt.Errorf("the journeys' command provider stand-in serves only %s, not %s", Type, t)
	}
	return nil
}
