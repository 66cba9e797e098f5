// Package render computes, with mocks and no cluster, every object a
// program registers for a stack, and prints them as multi-document
// Kubernetes YAML for review. The program is the caller's (cmd/render
// passes infra's), so this package depends on nothing above it.
package render

import (
	"bytes"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"sigs.k8s.io/yaml"

	"github.com/modelrollouts/modelrollouts/internal/mocks"
	"github.com/modelrollouts/modelrollouts/stacks"
)

// Program registers what a valid stack config asks for.
type Program func(ctx *pulumi.Context, cfg *stacks.Config) error

// Stack runs program for a stack file's config under mocks. An invalid
// config returns the validation errors and registers nothing.
func Stack(stackFile string, program Program) (*mocks.Recorder, error) {
	cfg, err := stacks.LoadFile(stackFile)
	if err != nil {
		return nil, err
	}
	return mocks.Run(func(ctx *pulumi.Context) error { return program(ctx, cfg) }, nil)
}

// renderedAPIVersion marks documents that stand for a Pulumi resource
// whose Kubernetes objects a provider computes (Helm releases, remote
// manifests) or that is not a Kubernetes object at all (kind, docker).
const renderedAPIVersion = "render.modelrollouts.dev/v1"

// YAML prints the custom resources a run registered: Kubernetes objects
// as the provider would send them, anything else as a PulumiResource
// document with its type and inputs. Components and providers are left
// out: they hold no state of their own. Paths under projectDir print
// relative to it, so renders from two checkouts diff cleanly.
func YAML(resources []mocks.Resource, projectDir string) ([]byte, error) {
	var docs []map[string]any
	for _, res := range resources {
		if strings.HasPrefix(res.Type, "pulumi:providers:") || (!res.Custom && !isRemoteComponent(res.Type)) {
			continue
		}
		docs = append(docs, relativize(document(res), projectDir).(map[string]any))
	}
	sort.SliceStable(docs, func(i, j int) bool { return sortKey(docs[i]) < sortKey(docs[j]) })
	var out bytes.Buffer
	for _, doc := range docs {
		b, err := yaml.Marshal(doc)
		if err != nil {
			return nil, fmt.Errorf("render: %w", err)
		}
		out.WriteString(docSeparator)
		out.Write(b)
	}
	return out.Bytes(), nil
}

// docSeparator starts each document YAML writes.
const docSeparator = "---\n"

// RawDocuments splits YAML's output into the text of its documents, for
// readers that decode them into types of their own.
func RawDocuments(out []byte) [][]byte {
	var docs [][]byte
	for _, part := range bytes.Split(out, []byte(docSeparator)) {
		if len(bytes.TrimSpace(part)) > 0 {
			docs = append(docs, part)
		}
	}
	return docs
}

// Documents reads YAML's output back: one object per document.
func Documents(out []byte) ([]map[string]any, error) {
	var docs []map[string]any
	for _, part := range RawDocuments(out) {
		var doc map[string]any
		if err := yaml.Unmarshal(part, &doc); err != nil {
			return nil, fmt.Errorf("document is not YAML: %w\n%s", err, part)
		}
		docs = append(docs, doc)
	}
	return docs, nil
}

// isRemoteComponent reports the provider-side components whose children
// only a real provider computes.
func isRemoteComponent(typ string) bool {
	return strings.HasPrefix(typ, "kubernetes:yaml/v2:") || strings.HasPrefix(typ, "kubernetes:helm.sh/v4:")
}

func document(res mocks.Resource) map[string]any {
	inputs := plain(resource.NewObjectProperty(res.Inputs)).(map[string]any)
	_, hasAPIVersion := inputs["apiVersion"]
	_, hasKind := inputs["kind"]
	if hasAPIVersion && hasKind && strings.HasPrefix(res.Type, "kubernetes:") {
		return inputs
	}
	return map[string]any{
		"apiVersion": renderedAPIVersion,
		"kind":       "PulumiResource",
		"metadata":   map[string]any{"name": res.Name},
		"spec":       map[string]any{"type": res.Type, "inputs": inputs},
	}
}

// relativize rewrites strings that are paths inside projectDir.
func relativize(v any, projectDir string) any {
	switch x := v.(type) {
	case map[string]any:
		for k, item := range x {
			x[k] = relativize(item, projectDir)
		}
	case []any:
		for i, item := range x {
			x[i] = relativize(item, projectDir)
		}
	case string:
		if projectDir != "" && (x == projectDir || strings.HasPrefix(x, projectDir+string(filepath.Separator))) {
			if rel, err := filepath.Rel(projectDir, x); err == nil {
				return rel
			}
		}
	}
	return v
}

func sortKey(doc map[string]any) string {
	meta, _ := doc["metadata"].(map[string]any)
	kind, _ := doc["kind"].(string)
	if kind == "PulumiResource" {
		spec, _ := doc["spec"].(map[string]any)
		kind, _ = spec["type"].(string)
	}
	return fmt.Sprintf("%s/%v/%v", kind, meta["namespace"], meta["name"])
}

// plain turns property values into YAML-ready values; secrets are masked.
func plain(v resource.PropertyValue) any {
	switch {
	case v.IsSecret():
		return stacks.SecretPlaceholder
	case v.IsNull():
		return nil
	case v.IsBool():
		return v.BoolValue()
	case v.IsNumber():
		n := v.NumberValue()
		if n == float64(int64(n)) {
			return int64(n)
		}
		return n
	case v.IsString():
		return v.StringValue()
	case v.IsArray():
		out := []any{}
		for _, item := range v.ArrayValue() {
			out = append(out, plain(item))
		}
		return out
	case v.IsObject():
		out := map[string]any{}
		for k, item := range v.ObjectValue() {
			out[string(k)] = plain(item)
		}
		return out
	case v.IsAsset():
		return v.AssetValue().Path
	case v.IsComputed(), v.IsOutput():
		return "[computed]"
	case v.IsResourceReference():
		return string(v.ResourceReferenceValue().URN)
	}
	return fmt.Sprint(v.V)
}
