package stacks

// Namespace is the Pulumi config namespace (the project name) of every key.
const Namespace = "modelrollouts"

// Strategy selects how model versions share traffic.
type Strategy string

const (
	// StrategyCanary splits user traffic across versions by percent (Knative).
	StrategyCanary Strategy = "canary"
	// StrategyShadow serves users from a primary and mirrors a share of the
	// traffic to a shadow whose answers nobody sees (Istio).
	StrategyShadow Strategy = "shadow"
)

// Cluster types.
const (
	ClusterKind     = "kind"
	ClusterExisting = "existing"
)

// Shadow roles.
const (
	RolePrimary = "primary"
	RoleShadow  = "shadow"
)

// Config is the whole stack configuration. Each field is one config key.
type Config struct {
	Cluster   ClusterConfig  `json:"cluster"`
	Platform  PlatformConfig `json:"platform"`
	Image     ImageConfig    `json:"image"`
	Namespace string         `json:"namespace"`
	Strategy  Strategy       `json:"strategy"`
	Canary    *CanaryConfig  `json:"canary,omitempty"`
	Shadow    *ShadowConfig  `json:"shadow,omitempty"`
}

// ClusterConfig says where the lab runs: a kind cluster this stack creates,
// or an existing cluster reached through a kubeconfig.
type ClusterConfig struct {
	// Type is "kind" or "existing".
	Type string `json:"type"`

	// Name of the kind cluster.
	Name string `json:"name,omitempty"`
	// NodeImage pins the kind node image (and so the Kubernetes version).
	NodeImage string `json:"nodeImage,omitempty"`
	// Workers is the number of kind worker nodes besides the control plane.
	Workers int `json:"workers,omitempty"`
	// IngressHostPort is the host port that reaches the mesh ingress.
	IngressHostPort int `json:"ingressHostPort,omitempty"`
	// IngressNodePort is the NodePort of the ingress gateway's HTTP port,
	// mapped to IngressHostPort with kind's extraPortMappings.
	IngressNodePort int `json:"ingressNodePort,omitempty"`
	// ListenAddress is the host address the port mapping binds to.
	ListenAddress string `json:"listenAddress,omitempty"`

	// Kubeconfig is a path to a kubeconfig file (existing clusters); empty
	// means the provider's default ($KUBECONFIG or ~/.kube/config).
	Kubeconfig string `json:"kubeconfig,omitempty"`
	// Context selects a kubeconfig context (existing clusters).
	Context string `json:"context,omitempty"`
	// IngressURL overrides the address smoke tests use to reach the ingress
	// gateway, e.g. http://203.0.113.10; empty means read it from the
	// gateway Service's load balancer status.
	IngressURL string `json:"ingressUrl,omitempty"`
	// IngressWaitSeconds bounds how long `up` waits for the gateway's load
	// balancer to get an address when IngressURL is empty (existing
	// clusters); then the up finishes and says the address is pending.
	IngressWaitSeconds *int `json:"ingressWaitSeconds,omitempty"`
}

// PlatformConfig says which platform pieces this stack installs.
type PlatformConfig struct {
	Istio   IstioConfig   `json:"istio"`
	Knative KnativeConfig `json:"knative"`
}

// IstioConfig configures the Istio install from the official Helm charts.
type IstioConfig struct {
	// Install is false on a cluster that already runs Istio.
	Install *bool `json:"install,omitempty"`
	// Version of the charts in ChartRepo.
	Version string `json:"version,omitempty"`
	// ChartRepo is the Helm repository of the charts.
	ChartRepo string `json:"chartRepo,omitempty"`
	// ChartsDir, when set, installs the charts from a local checkout of
	// istio/manifests/charts instead of ChartRepo (air-gapped installs).
	ChartsDir string `json:"chartsDir,omitempty"`
	// GatewayServiceType is NodePort on kind and LoadBalancer elsewhere.
	GatewayServiceType string `json:"gatewayServiceType,omitempty"`
}

// KnativeConfig configures Knative Serving and its Istio networking layer.
type KnativeConfig struct {
	// Install is false on a cluster that already runs Knative Serving.
	Install *bool `json:"install,omitempty"`
	// Version is the Knative release, e.g. 1.24.0 (knative-v1.24.0).
	Version string `json:"version,omitempty"`
	// Manifests override the release files, e.g. local paths or globs for an
	// air-gapped install. Empty lists mean the release URLs of Version.
	CRDManifests      []string `json:"crdManifests,omitempty"`
	CoreManifests     []string `json:"coreManifests,omitempty"`
	NetIstioManifests []string `json:"netIstioManifests,omitempty"`
	// Domain is the domain of every Knative route, e.g. example.com.
	Domain string `json:"domain,omitempty"`
	// ScaleToZero lets idle revisions scale to zero pods.
	ScaleToZero *bool `json:"scaleToZero,omitempty"`
	// SkipTagResolution lists registries whose image tags Knative must not
	// resolve to digests: locally loaded images exist in no registry.
	SkipTagResolution []string `json:"skipTagResolution,omitempty"`
}

// ImageConfig says where the model image comes from.
type ImageConfig struct {
	// Build builds model-echo with Docker; on kind the image is then loaded
	// into the cluster, elsewhere it must be pushed (Push).
	Build *bool `json:"build,omitempty"`
	// Repository names the built image. On kind it must be in a registry
	// Knative skips tag resolution for (kind.local, dev.local, ko.local).
	Repository string `json:"repository,omitempty"`
	// Tag of the built image.
	Tag string `json:"tag,omitempty"`
	// Context and Dockerfile of the build, relative to the project root.
	Context    string `json:"context,omitempty"`
	Dockerfile string `json:"dockerfile,omitempty"`
	// Push pushes the built image to Registry (existing clusters).
	Push     bool            `json:"push,omitempty"`
	Registry *RegistryConfig `json:"registry,omitempty"`
	// Ref is a ready-made image reference to deploy instead of building one.
	Ref string `json:"ref,omitempty"`

	// SmokeRepository names the smoke client image, built and loaded (or
	// pushed) beside the model's, that `smoke --from-cluster` runs as a
	// Job; it defaults to Repository with "-smoke" appended.
	SmokeRepository string `json:"smokeRepository,omitempty"`
	// SmokeDockerfile of the smoke client build, relative to Context.
	SmokeDockerfile string `json:"smokeDockerfile,omitempty"`
	// SmokeRef is a ready-made smoke client image where nothing is built.
	SmokeRef string `json:"smokeRef,omitempty"`
}

// RegistryConfig holds credentials for pushing the model image.
type RegistryConfig struct {
	Server   string `json:"server"`
	Username string `json:"username,omitempty"`
	// Password should be set with `pulumi config set --secret --path`.
	Password string `json:"password,omitempty"`
}

// ModelSettings are the model-echo knobs every version carries.
type ModelSettings struct {
	// Name is the version's name: a DNS label, the MODEL_VERSION it
	// reports and part of its Kubernetes object names.
	Name string `json:"name"`
	// Target is what the version answers on GET / (TARGET).
	Target string `json:"target"`
	// Image overrides the stack's model image for this version.
	Image string `json:"image,omitempty"`
	// Bias makes this version's inference answers differ measurably.
	Bias float64 `json:"bias,omitempty"`
	// LatencyMs and ErrorRate play a bad release.
	LatencyMs int     `json:"latencyMs,omitempty"`
	ErrorRate float64 `json:"errorRate,omitempty"`
	// Env adds environment variables to the model container.
	Env map[string]string `json:"env,omitempty"`
	// PayloadLog logs each inference request's input and output as
	// KServe-style CloudEvents on stdout (PAYLOAD_LOG), which the shadow
	// report reads; on by default for shadow versions, off for canary ones.
	PayloadLog *bool `json:"payloadLog,omitempty"`
	// LoggerURL also POSTs those events to a KServe-compatible sink
	// (LOGGER_URL); it needs payloadLog.
	LoggerURL string `json:"loggerUrl,omitempty"`
	// ModelServer: port, readinessPath and agent (agent.go).
	ModelServer
}

// CanaryConfig is a Knative traffic split across model versions.
type CanaryConfig struct {
	// Service names the Knative Route users call.
	Service string `json:"service,omitempty"`
	// WaitForReady makes `pulumi up` wait until every version and the route
	// are Ready; off only where no Knative controller runs (API-only tests).
	WaitForReady *bool `json:"waitForReady,omitempty"`
	// HeaderRouting turns on Knative's tag-header-based-routing: a request
	// on the user host with Knative-Serving-Tag: TAG reaches that tag's
	// version; an unknown tag gets the split.
	HeaderRouting bool            `json:"headerRouting,omitempty"`
	Versions      []CanaryVersion `json:"versions"`
	// Rollout, when set, moves one version up a ladder of percents, one
	// reviewed step at a time (cmd/rollout).
	Rollout *RolloutConfig `json:"rollout,omitempty"`
}

// CanaryVersion is one model version and its share of the traffic.
type CanaryVersion struct {
	ModelSettings
	// Percent of user traffic; all versions sum to 100.
	Percent *int `json:"percent"`
	// Tag gives the version its own URL (tag-service.namespace.domain).
	Tag string `json:"tag,omitempty"`
	// MinScale keeps pods warm (no scale to zero) while the version is routed.
	MinScale     *int `json:"minScale,omitempty"`
	MaxScale     *int `json:"maxScale,omitempty"`
	InitialScale *int `json:"initialScale,omitempty"`
}

// ShadowConfig serves users from the primary and mirrors to the shadow.
type ShadowConfig struct {
	// Service names the Kubernetes Service and Istio objects.
	Service string `json:"service,omitempty"`
	// Host is the Host header users send through the ingress gateway.
	Host string `json:"host,omitempty"`
	// MirrorPercent of user requests copied to the shadow, 0-100.
	MirrorPercent *float64 `json:"mirrorPercent"`
	// BindTo says whose calls the routing applies to: callers outside the
	// mesh through the ingress gateway ("gateway"), callers with a sidecar
	// calling the Service ("mesh"), or "both" (the default).
	BindTo string `json:"bindTo,omitempty"`
	// HeaderRouting sends a request with x-model-version: NAME to version
	// NAME directly, unmirrored.
	HeaderRouting bool            `json:"headerRouting,omitempty"`
	Versions      []ShadowVersion `json:"versions"`
}

// Shadow bindings (shadow.bindTo).
const (
	BindGateway = "gateway"
	BindMesh    = "mesh"
	BindBoth    = "both"
)

// ViaGateway reports whether callers outside the mesh are routed.
func (sh *ShadowConfig) ViaGateway() bool { return sh.BindTo == BindGateway || sh.BindTo == BindBoth }

// InMesh reports whether callers inside the mesh are routed.
func (sh *ShadowConfig) InMesh() bool { return sh.BindTo == BindMesh || sh.BindTo == BindBoth }

// ShadowVersion is one model version with its role.
type ShadowVersion struct {
	ModelSettings
	// Role is "primary" or "shadow".
	Role     string `json:"role"`
	Replicas *int   `json:"replicas,omitempty"`
}
