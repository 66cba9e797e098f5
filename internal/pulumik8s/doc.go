// Package pulumik8s declares the two pulumi-kubernetes resources the
// program uses whose SDK packages cost more than they give:
// helm.sh/v3 Release and yaml/v2 ConfigGroup. The SDK's helm/v3 and
// yaml/v2 packages import every typed Kubernetes package the SDK has
// (helm/v3 through the old yaml package, yaml/v2 for helpers the
// ConfigGroup does not use): 440,000 lines compiled for nothing, 6 of a
// cold make test's minutes on two cores, and every test binary linking
// them.
//
// The declarations are the SDK's own, cut to what the program sets: the
// same type tokens, input names and default resource options
// (utilities.PkgResourceDefaultOpts pins the provider version), and the
// same Compat flag on Release, so the engine and the provider receive
// exactly what the SDK would send. The integration tier deploys both
// through the real provider.
package pulumik8s
