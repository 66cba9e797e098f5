package components

import "github.com/pulumi/pulumi/sdk/v3/go/pulumi"

// Whole is a component others can depend on as a whole.
type Whole interface {
	pulumi.Resource
	// whole resolves to the component once every child is registered.
	whole() pulumi.ResourceArrayOutput
}

// DependsOn makes a resource wait for each component, whole: every
// resource the component registered. A plain pulumi.DependsOn on a
// component expands to the children attached at that moment, and in the
// Go SDK a child attaches in its own goroutine, so a dependent registered
// right after the constructor returns can miss some (pulumi/pulumi#7833).
func DependsOn(components ...Whole) pulumi.ResourceOption {
	if len(components) == 0 {
		return pulumi.DependsOn(nil)
	}
	var wholes []any
	for _, c := range components {
		wholes = append(wholes, c.whole())
	}
	return pulumi.DependsOnInputs(pulumi.All(wholes...).ApplyT(func(ws []any) []pulumi.Resource {
		var out []pulumi.Resource
		for _, w := range ws {
			out = append(out, w.([]pulumi.Resource)...)
		}
		return out
	}).(pulumi.ResourceArrayOutput))
}

// wholeOnceRegistered resolves to comp once each child's registration
// is done, so expanding comp then finds every child.
func wholeOnceRegistered(comp pulumi.Resource, children ...pulumi.Resource) pulumi.ResourceArrayOutput {
	var urns []any
	for _, c := range children {
		urns = append(urns, c.URN())
	}
	return pulumi.All(urns...).ApplyT(func([]any) []pulumi.Resource {
		return []pulumi.Resource{comp}
	}).(pulumi.ResourceArrayOutput)
}
