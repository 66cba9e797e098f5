// Package mocks runs Pulumi programs with pulumi.WithMocks and records
// every resource they register, with its inputs, parent and provider, so
// tests can say "exactly these resources, with these inputs" and the
// render command can print them.
package mocks

import (
	"encoding/json"
	"os"
	"sort"
	"strings"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Resource is one registered resource.
type Resource struct {
	Type     string
	Name     string
	URN      string
	Custom   bool
	Parent   string
	Provider string
	// DependsOn lists the URNs of explicit dependencies.
	DependsOn []string
	// ReplaceOnChanges and DeleteBeforeReplace are the replacement options.
	ReplaceOnChanges    []string
	DeleteBeforeReplace bool
	// AdditionalSecretOutputs names outputs the engine must keep secret.
	AdditionalSecretOutputs []string
	Inputs                  resource.PropertyMap
}

// Recorder implements pulumi.MockResourceMonitor and records registrations.
type Recorder struct {
	mu        sync.Mutex
	resources []Resource
}

// runMu serialises runs: the Go SDK reads mock config from the process
// environment.
var runMu sync.Mutex

// Run runs program under mocks with the given config (full keys such as
// "modelrollouts:strategy") and returns what it registered.
func Run(program pulumi.RunFunc, config map[string]string) (*Recorder, error) {
	runMu.Lock()
	defer runMu.Unlock()
	cfgJSON, err := json.Marshal(config)
	if err != nil {
		return nil, err
	}
	old, had := os.LookupEnv(pulumi.EnvConfig)
	os.Setenv(pulumi.EnvConfig, string(cfgJSON))
	defer func() {
		if had {
			os.Setenv(pulumi.EnvConfig, old)
		} else {
			os.Unsetenv(pulumi.EnvConfig)
		}
	}()
	rec := &Recorder{}
	err = pulumi.RunErr(program, pulumi.WithMocks("modelrollouts", "test", rec))
	return rec, err
}

// Resources returns every registered resource, sorted by URN so a listing
// is stable whatever order goroutines registered them in.
func (r *Recorder) Resources() []Resource {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := append([]Resource(nil), r.resources...)
	sort.Slice(out, func(i, j int) bool { return out[i].URN < out[j].URN })
	return out
}

// ByType returns the resources of one type token.
func (r *Recorder) ByType(typ string) []Resource {
	var out []Resource
	for _, res := range r.Resources() {
		if res.Type == typ {
			out = append(out, res)
		}
	}
	return out
}

// Find returns the resource with this type and name.
func (r *Recorder) Find(typ, name string) (Resource, bool) {
	for _, res := range r.Resources() {
		if res.Type == typ && res.Name == name {
			return res, true
		}
	}
	return Resource{}, false
}

// Parent returns the parent of res, if it was registered.
func (r *Recorder) Parent(res Resource) (Resource, bool) {
	for _, p := range r.Resources() {
		if p.URN == res.Parent {
			return p, true
		}
	}
	return Resource{}, false
}

// NewResource records a registration and answers with plausible outputs.
func (r *Recorder) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	rpc := args.RegisterRPC
	res := Resource{
		Type:     args.TypeToken,
		Name:     args.Name,
		Custom:   args.Custom,
		Provider: args.Provider,
		Inputs:   args.Inputs,
	}
	if rpc != nil {
		res.Parent = rpc.GetParent()
		res.DependsOn = rpc.GetDependencies()
		res.ReplaceOnChanges = rpc.GetReplaceOnChanges()
		res.DeleteBeforeReplace = rpc.GetDeleteBeforeReplace()
		res.AdditionalSecretOutputs = rpc.GetAdditionalSecretOutputs()
		res.URN = urn(rpc.GetParent(), args.TypeToken, args.Name)
	}
	r.mu.Lock()
	r.resources = append(r.resources, res)
	r.mu.Unlock()
	return args.Name + "-id", keepSecret(outputs(args), res.AdditionalSecretOutputs), nil
}

// keepSecret marks outputs secret as the engine does for a resource's
// additionalSecretOutputs, so what a program derives from them is too.
func keepSecret(out resource.PropertyMap, names []string) resource.PropertyMap {
	for _, name := range names {
		if v, ok := out[resource.PropertyKey(name)]; ok && !v.IsSecret() {
			out[resource.PropertyKey(name)] = resource.MakeSecret(v)
		}
	}
	return out
}

// Call answers invokes with their arguments.
func (r *Recorder) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	return args.Args, nil
}

// urn builds the URN the mock monitor gives a resource, so resources can
// be joined with their parents.
func urn(parent, typ, name string) string {
	parentType := tokens.Type("")
	if p := resource.URN(parent); p != "" && p.QualifiedType() != resource.RootStackType {
		parentType = p.QualifiedType()
	}
	return string(resource.NewURN("test", "modelrollouts", parentType, tokens.Type(typ), name))
}

// outputs are the inputs plus what a real provider would add that the
// program reads back.
func outputs(args pulumi.MockResourceArgs) resource.PropertyMap {
	out := args.Inputs.Copy()
	switch args.TypeToken {
	case "command:local:Command":
		out["stdout"] = resource.NewStringProperty("apiVersion: v1\nkind: Config\n# mock kubeconfig\n")
	case "docker:index/image:Image":
		name := args.Inputs["imageName"].StringValue()
		out["repoDigest"] = resource.NewStringProperty(name + "@sha256:" + strings.Repeat("0", 64))
	case "kubernetes:helm.sh/v3:Release":
		out["status"] = resource.NewObjectProperty(resource.PropertyMap{
			"name":      args.Inputs["name"],
			"namespace": args.Inputs["namespace"],
		})
	}
	return out
}
