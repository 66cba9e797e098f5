package components

import (
	"fmt"

	"github.com/pulumi/pulumi-command/sdk/go/command/local"
	"github.com/pulumi/pulumi-docker/sdk/v4/go/docker"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// ModelImageArgs configures the model-echo image build.
type ModelImageArgs struct {
	// ImageName is repository:tag. The tag should change whenever the
	// sources change: Knative makes a new revision only when it does.
	ImageName string
	// Context and Dockerfile of the build.
	Context    string
	Dockerfile string
	// KindClusterName, when set, loads the built image into that cluster.
	KindClusterName pulumi.StringInput
	// Registry, when set, receives the pushed image.
	Registry *docker.RegistryArgs
}

// ModelImage is the model-echo image, built locally and either loaded into
// a kind cluster or pushed to a registry.
type ModelImage struct {
	pulumi.ResourceState

	// Ref is the image reference pods use; it resolves only once the image
	// is where the cluster can find it.
	Ref pulumi.StringOutput
}

// NewModelImage builds the image and makes it available to the cluster.
func NewModelImage(ctx *pulumi.Context, name string, args *ModelImageArgs, opts ...pulumi.ResourceOption) (*ModelImage, error) {
	if args == nil {
		return nil, fmt.Errorf("model image %s: args are required", name)
	}
	comp := &ModelImage{}
	if err := ctx.RegisterComponentResource(typeToken("ModelImage"), name, comp, opts...); err != nil {
		return nil, err
	}
	image, err := docker.NewImage(ctx, name, &docker.ImageArgs{
		ImageName: pulumi.String(args.ImageName),
		Build: &docker.DockerBuildArgs{
			Context:    pulumi.String(args.Context),
			Dockerfile: pulumi.String(args.Dockerfile),
		},
		SkipPush: pulumi.Bool(args.Registry == nil),
		Registry: args.Registry,
	}, childOpts(comp)...)
	if err != nil {
		return nil, fmt.Errorf("model image %s: %w", args.ImageName, err)
	}
	comp.Ref = image.ImageName
	if args.Registry != nil && args.KindClusterName == nil {
		// A pushed image is pinned by digest: a retagged push still rolls.
		comp.Ref = image.RepoDigest
	}
	if args.KindClusterName != nil {
		load, err := local.NewCommand(ctx, name+"-kind-load", &local.CommandArgs{
			Create: pulumi.String(`kind load docker-image "$IMAGE" --name "$KIND_CLUSTER_NAME"`),
			Environment: pulumi.StringMap{
				"IMAGE":             image.ImageName,
				"KIND_CLUSTER_NAME": args.KindClusterName,
			},
			// Load again whenever the image or the cluster changes.
			Triggers: pulumi.Array{image.ImageName, args.KindClusterName},
		}, childOpts(comp, pulumi.ReplaceOnChanges([]string{"*"}))...)
		if err != nil {
			return nil, fmt.Errorf("load model image into kind: %w", err)
		}
		comp.Ref = pulumi.All(image.ImageName, load.Stdout).ApplyT(func(v []any) string {
			return v[0].(string)
		}).(pulumi.StringOutput)
	}
	return comp, ctx.RegisterResourceOutputs(comp, pulumi.Map{"ref": comp.Ref})
}
