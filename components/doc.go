// Package components holds the reusable Pulumi ComponentResources of the
// model-rollouts lab: the cluster (KindCluster), the platform (IstioMesh,
// KnativeServing), the model image (ModelImage) and the two rollout
// strategies (CanaryModel, ShadowModel).
//
// Each component takes a typed XArgs struct, registers under
// "modelrollouts:index:X", parents every child, and inherits its Kubernetes
// provider from the options it is given, so a kind cluster and an existing
// cluster are one code path.
package components

import "github.com/pulumi/pulumi/sdk/v3/go/pulumi"

// typeToken names a component's type in the modelrollouts package.
func typeToken(name string) string { return "modelrollouts:index:" + name }

// childOpts parents a child to its component and adds extra options.
func childOpts(parent pulumi.Resource, extra ...pulumi.ResourceOption) []pulumi.ResourceOption {
	return append([]pulumi.ResourceOption{pulumi.Parent(parent)}, extra...)
}
