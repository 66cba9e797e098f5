package components

import (
	"encoding/json"
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// The small steps every component shares.

// typeToken names a component's type in the modelrollouts package.
func typeToken(name string) string { return "modelrollouts:index:" + name }

// childOpts parents a child to its component and adds extra options.
func childOpts(parent pulumi.Resource, extra ...pulumi.ResourceOption) []pulumi.ResourceOption {
	return append([]pulumi.ResourceOption{pulumi.Parent(parent)}, extra...)
}

// Plain turns a typed struct into the plain values (maps, lists, strings,
// float64s, bools) that a CustomResource's untyped fields and a stack
// output take, through the struct's own JSON names, which the readers
// decode. T is any, or map[string]any for a struct.
func Plain[T any](v any) T {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("marshal %T: %v", v, err)) // only our own plain types reach here
	}
	var out T
	if err := json.Unmarshal(b, &out); err != nil {
		panic(fmt.Sprintf("unmarshal %T into %T: %v", v, out, err))
	}
	return out
}
