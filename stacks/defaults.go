package stacks

import "fmt"

// Pinned platform versions. Each can be overridden per stack.
const (
	// KindVersion is the kind release whose node image DefaultKindNodeImage
	// is; hack/lib/versions.sh pins the same kind (a test checks it).
	KindVersion = "v0.33.0"
	// DefaultKindNodeImage is kind v0.33.0's node image (Kubernetes v1.37.0).
	DefaultKindNodeImage = "kindest/node:v1.37.0@sha256:a1ed56cfb0e7b93589bdf97c8cd566405a265939e3620fc4f5de89adff580ae5"
	DefaultIstioVersion  = "1.31.4"
	DefaultIstioRepo     = "https://istio-release.storage.googleapis.com/charts"
	// DefaultKnativeVersion is Knative 1.24 (knative.dev/serving v0.51.0).
	DefaultKnativeVersion = "1.24.0"
	DefaultKnativeDomain  = "example.com"

	DefaultClusterName     = "modelrollouts"
	DefaultIngressHostPort = 8080
	DefaultIngressNodePort = 31080
	DefaultListenAddress   = "127.0.0.1"
	DefaultNamespace       = "models"
	DefaultServiceName     = "model"
	DefaultRepository      = "kind.local/model-echo"
	DefaultImageContext    = "."
	DefaultDockerfile      = "model-echo/Dockerfile"
	DefaultSmokeDockerfile = "cmd/smoke/Dockerfile"
)

// DefaultIngressWaitSeconds covers a cloud load balancer's provisioning.
const DefaultIngressWaitSeconds = 300

// DefaultSkipTagResolution are the registry names Knative never resolves:
// images loaded with `kind load` exist in no registry.
var DefaultSkipTagResolution = []string{"kind.local", "ko.local", "dev.local"}

// SetDefaults fills every unset field with its default. It runs before
// validation, so validation sees what will be deployed.
func (c *Config) SetDefaults() {
	if c.Cluster.Type == "" {
		c.Cluster.Type = ClusterKind
	}
	onKind := c.Cluster.Type == ClusterKind
	if onKind {
		setString(&c.Cluster.Name, DefaultClusterName)
		setString(&c.Cluster.NodeImage, DefaultKindNodeImage)
		setString(&c.Cluster.ListenAddress, DefaultListenAddress)
		setInt(&c.Cluster.IngressHostPort, DefaultIngressHostPort)
		setInt(&c.Cluster.IngressNodePort, DefaultIngressNodePort)
	} else {
		setIntPtr(&c.Cluster.IngressWaitSeconds, DefaultIngressWaitSeconds)
	}

	istio := &c.Platform.Istio
	setBool(&istio.Install, true)
	setString(&istio.Version, DefaultIstioVersion)
	setString(&istio.ChartRepo, DefaultIstioRepo)
	if onKind {
		setString(&istio.GatewayServiceType, "NodePort")
	} else {
		setString(&istio.GatewayServiceType, "LoadBalancer")
	}

	kn := &c.Platform.Knative
	setBool(&kn.Install, true)
	setString(&kn.Version, DefaultKnativeVersion)
	setString(&kn.Domain, DefaultKnativeDomain)
	setBool(&kn.ScaleToZero, true)
	if kn.SkipTagResolution == nil {
		kn.SkipTagResolution = append([]string(nil), DefaultSkipTagResolution...)
	}
	if len(kn.CRDManifests) == 0 {
		kn.CRDManifests = []string{knativeRelease("serving", kn.Version, "serving-crds.yaml")}
	}
	if len(kn.CoreManifests) == 0 {
		kn.CoreManifests = []string{knativeRelease("serving", kn.Version, "serving-core.yaml")}
	}
	if len(kn.NetIstioManifests) == 0 {
		kn.NetIstioManifests = []string{knativeRelease("net-istio", kn.Version, "net-istio.yaml")}
	}

	img := &c.Image
	// Building is the default only where the image can reach the cluster
	// without a registry: kind loads it. Elsewhere a stack opts in with push.
	// A ref is a ready-made image, so on kind it means nothing is built.
	setBool(&img.Build, img.Push || (onKind && img.Ref == ""))
	setString(&img.Repository, DefaultRepository)
	setString(&img.Context, DefaultImageContext)
	setString(&img.Dockerfile, DefaultDockerfile)
	setString(&img.SmokeRepository, img.Repository+"-smoke")
	setString(&img.SmokeDockerfile, DefaultSmokeDockerfile)

	setString(&c.Namespace, DefaultNamespace)
	c.setModelServerDefaults()

	if c.Canary != nil {
		setString(&c.Canary.Service, DefaultServiceName)
		setBool(&c.Canary.WaitForReady, true)
		// A tag per version gives each its own URL unless one is set.
		for i := range c.Canary.Versions {
			setString(&c.Canary.Versions[i].Tag, c.Canary.Versions[i].Name)
		}
		if c.Canary.Rollout != nil {
			c.Canary.Rollout.SetDefaults(c.Canary.Versions)
		}
	}
	if c.Shadow != nil {
		setString(&c.Shadow.Service, DefaultServiceName)
		setString(&c.Shadow.Host, fmt.Sprintf("%s.%s", c.Shadow.Service, kn.Domain))
		setString(&c.Shadow.BindTo, BindBoth)
		for i := range c.Shadow.Versions {
			// The shadow report is made from these events, where
			// something in the pod can write them.
			setBool(&c.Shadow.Versions[i].PayloadLog, c.Shadow.Versions[i].LogsPayloads())
			if c.Shadow.Versions[i].Replicas == nil {
				one := 1
				c.Shadow.Versions[i].Replicas = &one
			}
		}
	}
}

// CanaryTagHost is the host Knative gives a tagged traffic target of a
// Route: TAG-SERVICE.NAMESPACE.DOMAIN (Knative's default domain template).
func CanaryTagHost(tag, service, namespace, domain string) string {
	return fmt.Sprintf("%s-%s.%s.%s", tag, service, namespace, domain)
}

func knativeRelease(repo, version, file string) string {
	return fmt.Sprintf("https://github.com/knative/%s/releases/download/knative-v%s/%s", repo, version, file)
}

func setString(p *string, v string) {
	if *p == "" {
		*p = v
	}
}

func setInt(p *int, v int) {
	if *p == 0 {
		*p = v
	}
}

func setIntPtr(p **int, v int) {
	if *p == nil {
		*p = &v
	}
}

func setBool(p **bool, v bool) {
	if *p == nil {
		*p = &v
	}
}
