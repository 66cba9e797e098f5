package pulumik8s

import (
	"errors"
	"reflect"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/utilities"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// ReleaseType is the Helm release's type token.
const ReleaseType = "kubernetes:helm.sh/v3:Release"

// Release is a Helm chart installed by the provider as one release.
type Release struct {
	pulumi.CustomResourceState

	// Status is the release's name, namespace and state once installed.
	Status ReleaseStatusOutput `pulumi:"status"`
}

// ReleaseArgs are the release's inputs the program sets (the SDK's
// helmv3.ReleaseArgs has these and more, by the same names).
type ReleaseArgs struct {
	Chart           pulumi.StringInput
	Version         pulumi.StringPtrInput
	RepositoryOpts  *RepositoryOpts
	Name            pulumi.StringPtrInput
	Namespace       pulumi.StringPtrInput
	CreateNamespace pulumi.BoolPtrInput
	Values          pulumi.MapInput
	SkipAwait       pulumi.BoolPtrInput
	Timeout         pulumi.IntPtrInput
	// Compat is set by NewRelease, as the SDK sets it.
	Compat pulumi.StringPtrInput
}

// RepositoryOpts says where the chart is published.
type RepositoryOpts struct {
	Repo string `pulumi:"repo"`
}

// releaseArgs is the wire form of ReleaseArgs (its field names pair them).
type releaseArgs struct {
	Chart           string          `pulumi:"chart"`
	Version         *string         `pulumi:"version"`
	RepositoryOpts  *RepositoryOpts `pulumi:"repositoryOpts"`
	Name            *string         `pulumi:"name"`
	Namespace       *string         `pulumi:"namespace"`
	CreateNamespace *bool           `pulumi:"createNamespace"`
	Values          map[string]any  `pulumi:"values"`
	SkipAwait       *bool           `pulumi:"skipAwait"`
	Timeout         *int            `pulumi:"timeout"`
	Compat          *string         `pulumi:"compat"`
}

// ElementType makes ReleaseArgs the resource's inputs.
func (ReleaseArgs) ElementType() reflect.Type { return reflect.TypeOf((*releaseArgs)(nil)).Elem() }

// NewRelease registers a Helm release as the SDK's helmv3.NewRelease does.
func NewRelease(ctx *pulumi.Context, name string, args *ReleaseArgs, opts ...pulumi.ResourceOption) (*Release, error) {
	if args == nil || args.Chart == nil {
		return nil, errors.New("helm release " + name + ": chart is required")
	}
	a := *args
	a.Compat = pulumi.StringPtr("true")
	var r Release
	if err := ctx.RegisterResource(ReleaseType, name, &a, &r, utilities.PkgResourceDefaultOpts(opts)...); err != nil {
		return nil, err
	}
	return &r, nil
}

// ReleaseStatus is the part of the release's status the program reads.
type ReleaseStatus struct {
	Name      *string `pulumi:"name"`
	Namespace *string `pulumi:"namespace"`
	Status    string  `pulumi:"status"`
}

// ReleaseStatusOutput is a ReleaseStatus to come.
type ReleaseStatusOutput struct{ *pulumi.OutputState }

// ElementType is ReleaseStatus.
func (ReleaseStatusOutput) ElementType() reflect.Type {
	return reflect.TypeOf((*ReleaseStatus)(nil)).Elem()
}

// Name is the release's name.
func (o ReleaseStatusOutput) Name() pulumi.StringPtrOutput {
	return o.ApplyT(func(s ReleaseStatus) *string { return s.Name }).(pulumi.StringPtrOutput)
}

// Namespace is the release's namespace.
func (o ReleaseStatusOutput) Namespace() pulumi.StringPtrOutput {
	return o.ApplyT(func(s ReleaseStatus) *string { return s.Namespace }).(pulumi.StringPtrOutput)
}

func init() {
	pulumi.RegisterOutputType(ReleaseStatusOutput{})
}
