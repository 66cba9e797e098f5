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
