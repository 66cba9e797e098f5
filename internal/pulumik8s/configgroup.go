package pulumik8s

import (
	"reflect"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/utilities"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// ConfigGroupType is the YAML group's type token (a component the
// provider builds).
const ConfigGroupType = "kubernetes:yaml/v2:ConfigGroup"

// ConfigGroup is the Kubernetes objects of a set of YAML files, each its
// own resource under the group. Depending on the group waits for them all.
type ConfigGroup struct {
	pulumi.ResourceState

	// Resources are references to the objects, as the provider made them.
	Resources pulumi.ArrayOutput `pulumi:"resources"`
}

// ConfigGroupArgs are the group's inputs the program sets.
type ConfigGroupArgs struct {
	Files pulumi.StringArrayInput
}

type configGroupArgs struct {
	Files []string `pulumi:"files"`
}

// ElementType makes ConfigGroupArgs the component's inputs.
func (ConfigGroupArgs) ElementType() reflect.Type {
	return reflect.TypeOf((*configGroupArgs)(nil)).Elem()
}

// NewConfigGroup registers the group as the SDK's yamlv2.NewConfigGroup
// does.
func NewConfigGroup(ctx *pulumi.Context, name string, args *ConfigGroupArgs, opts ...pulumi.ResourceOption) (*ConfigGroup, error) {
	if args == nil {
		args = &ConfigGroupArgs{}
	}
	var g ConfigGroup
	if err := ctx.RegisterRemoteComponentResource(ConfigGroupType, name, args, &g, utilities.PkgResourceDefaultOpts(opts)...); err != nil {
		return nil, err
	}
	return &g, nil
}
