package stacks

import (
	"fmt"
	"math"
	"net/netip"
	"net/url"
	"regexp"
	"strings"

	"github.com/distribution/reference"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/modelrollouts/modelrollouts/model-echo/modelapi"
)

// Validate reports every problem with a defaulted config at once, each at
// the key path a user types. A non-nil result means nothing may be created.
// Each type checks itself; the rules that tie one key to another (the
// cluster type and the gateway, the image and the cluster) are here.
func (c *Config) Validate() *FieldError {
	var errs *FieldError
	errs = errs.Also(c.Cluster.Validate().ViaField(key("cluster")))
	errs = errs.Also(c.Platform.Validate().ViaField(key("platform")))
	errs = errs.Also(c.validateGatewayOnKind().ViaField(key("platform"), "istio"))
	errs = errs.Also(checkDNS1123Label(c.Namespace, CurrentField).ViaField(key("namespace")))
	switch c.Strategy {
	case StrategyCanary:
		if c.Canary == nil {
			errs = errs.Also(ErrGeneric("required when strategy is canary", key("canary")))
		} else {
			errs = errs.Also(c.Canary.Validate().ViaField(key("canary")))
			errs = errs.Also(c.validateTagHeaderRouting().ViaField(key("canary")))
		}
	case StrategyShadow:
		if c.Shadow == nil {
			errs = errs.Also(ErrGeneric("required when strategy is shadow", key("shadow")))
		} else {
			errs = errs.Also(c.Shadow.Validate().ViaField(key("shadow")))
			errs = errs.Also(c.validateShadowHost().ViaField(key("shadow")))
		}
	case "":
		errs = errs.Also(ErrMissingField(key("strategy"), "canary or shadow"))
	default:
		errs = errs.Also(ErrUnknownValue(string(c.Strategy), key("strategy"), "strategy", "canary", "shadow"))
	}
	errs = errs.Also(c.Image.Validate().ViaField(key("image")))
	errs = errs.Also(c.validateImageSource().ViaField(key("image")), c.validateAgentImage().ViaField(key("image")))
	return errs
}

// Validate checks the cluster's own keys. A key that does not apply to
// the cluster type is reported at that key.
func (cl *ClusterConfig) Validate() *FieldError {
	var errs *FieldError
	switch cl.Type {
	case ClusterKind:
		errs = errs.Also(checkDNS1123Label(cl.Name, "name"))
		if cl.Workers < 0 || cl.Workers > maxWorkers {
			errs = errs.Also(ErrOutOfBoundsValue(cl.Workers, 0, maxWorkers, "workers"))
		}
		if cl.IngressHostPort < 1 || cl.IngressHostPort > 65535 {
			errs = errs.Also(ErrOutOfBoundsValue(cl.IngressHostPort, 1, 65535, "ingressHostPort"))
		}
		// The default Kubernetes NodePort range.
		if cl.IngressNodePort < 30000 || cl.IngressNodePort > 32767 {
			errs = errs.Also(ErrOutOfBoundsValue(cl.IngressNodePort, 30000, 32767, "ingressNodePort"))
		}
		errs = errs.Also(checkIPAddress(cl.ListenAddress, "listenAddress"))
		if cl.Kubeconfig != "" {
			errs = errs.Also(ErrGeneric("kind clusters make their own kubeconfig; set cluster.type to existing to use one", "kubeconfig"))
		}
		if cl.Context != "" {
			errs = errs.Also(ErrGeneric("applies only to existing clusters: kind clusters make their own kubeconfig (set cluster.type to existing to use one)", "context"))
		}
		if cl.IngressWaitSeconds != nil {
			errs = errs.Also(ErrGeneric("applies only to existing clusters: kind's ingress is the mapped host port", "ingressWaitSeconds"))
		}
	case ClusterExisting:
		kindOnly := []struct {
			field string
			set   bool
		}{
			{"name", cl.Name != ""}, {"nodeImage", cl.NodeImage != ""}, {"workers", cl.Workers != 0},
			{"ingressHostPort", cl.IngressHostPort != 0}, {"ingressNodePort", cl.IngressNodePort != 0},
			{"listenAddress", cl.ListenAddress != ""},
		}
		for _, k := range kindOnly {
			if k.set {
				errs = errs.Also(ErrGeneric("applies only to kind clusters, and cluster.type is existing", k.field))
			}
		}
		if w := cl.IngressWaitSeconds; w != nil && (*w < 0 || *w > maxIngressWaitSeconds) {
			errs = errs.Also(ErrOutOfBoundsValue(*w, 0, maxIngressWaitSeconds, "ingressWaitSeconds"))
		}
	default:
		errs = errs.Also(ErrUnknownValue(cl.Type, "type", "cluster type", ClusterKind, ClusterExisting))
	}
	if cl.IngressURL != "" && !strings.HasPrefix(cl.IngressURL, "http://") && !strings.HasPrefix(cl.IngressURL, "https://") {
		errs = errs.Also(ErrInvalidValue(cl.IngressURL, "ingressUrl", "an http(s) URL"))
	}
	return errs
}

// maxWorkers bounds kind worker nodes: each is a container on one machine.
const maxWorkers = 10

// maxIngressWaitSeconds bounds the wait for a load balancer's address.
const maxIngressWaitSeconds = 3600

// checkIPAddress reports value at field unless it is an IP address, which
// is what kind's port mapping binds to (a port there is a common mistake).
func checkIPAddress(value, field string) *FieldError {
	if addr, err := netip.ParseAddr(value); err == nil && addr.Zone() == "" {
		return nil
	}
	return ErrInvalidValue(value, field, "an IP address (without a port: the port is cluster.ingressHostPort), e.g. 127.0.0.1 or 0.0.0.0")
}

// Validate checks the platform's own keys.
func (p *PlatformConfig) Validate() *FieldError {
	return p.Istio.Validate().ViaField("istio").Also(p.Knative.Validate().ViaField("knative"))
}

var gatewayServiceTypes = []string{"NodePort", "LoadBalancer", "ClusterIP"}

// Validate checks the Istio install's keys.
func (i *IstioConfig) Validate() *FieldError {
	if !oneOf(i.GatewayServiceType, gatewayServiceTypes) {
		return ErrUnknownValue(i.GatewayServiceType, "gatewayServiceType", "Service type", gatewayServiceTypes...)
	}
	return nil
}

// Validate checks the Knative install's keys.
func (k *KnativeConfig) Validate() *FieldError {
	errs := checkDNSName(k.Domain, "domain")
	for i, r := range k.SkipTagResolution {
		if r == "" {
			errs = errs.Also(ErrGeneric("must not be empty", CurrentField).ViaFieldIndex("skipTagResolution", i))
		}
	}
	return errs
}

// validateGatewayOnKind is at platform.istio: kind's host reaches the
// gateway only through the NodePort it maps.
func (c *Config) validateGatewayOnKind() *FieldError {
	t := c.Platform.Istio.GatewayServiceType
	if c.Cluster.Type == ClusterKind && oneOf(t, gatewayServiceTypes) && t != "NodePort" {
		return ErrGeneric("must be NodePort on kind: the host reaches the gateway through the mapped NodePort", "gatewayServiceType")
	}
	return nil
}

// Validate checks the canary's keys and how its versions fit together:
// unique names and tags, percents summing to 100, tag hosts that fit.
func (cn *CanaryConfig) Validate() *FieldError {
	errs := checkDNS1035Label(cn.Service, "service")
	serviceFits := errs == nil && len(cn.Service) <= maxServiceWithTag
	if errs == nil && !serviceFits {
		errs = ErrGeneric(fmt.Sprintf("%d characters leaves no room for a tag, want at most %d: Knative names a tag's host <tag>-<service>, one DNS label",
			len(cn.Service), maxServiceWithTag), "service")
	}
	if len(cn.Versions) == 0 {
		return errs.Also(ErrGeneric("at least one version is required", "versions"))
	}
	names := map[string]int{}
	tags := map[string]tagUse{}
	sum, allPercentsValid := 0, true
	for i := range cn.Versions {
		ver := &cn.Versions[i]
		verrs := uniqueName(ver.Name, names, i).Also(ver.Validate(), cn.validateTag(ver, tags, i, serviceFits))
		errs = errs.Also(verrs.ViaFieldIndex("versions", i))
		if ver.Percent == nil || *ver.Percent < 0 || *ver.Percent > 100 {
			allPercentsValid = false
		} else {
			sum += *ver.Percent
		}
	}
	if sum != 100 && allPercentsValid {
		errs = errs.Also(ErrGeneric(fmt.Sprintf("percents sum to %d, want 100", sum), "versions"))
	}
	if cn.Rollout != nil {
		errs = errs.Also(cn.Rollout.Validate(cn.Versions).ViaField("rollout"))
	}
	return errs
}

// validateTagHeaderRouting is at canary: the flag lives in Knative's
// config-features, which only a Knative this stack installs is patched in.
func (c *Config) validateTagHeaderRouting() *FieldError {
	if c.Canary.HeaderRouting && c.Platform.Knative.Install != nil && !*c.Platform.Knative.Install {
		return ErrGeneric("needs platform.knative.install: the switch is Knative's config-features, which this stack does not manage "+
			"(set tag-header-based-routing: Enabled there yourself and leave this off)", "headerRouting")
	}
	return nil
}

var shadowBindings = []string{BindGateway, BindMesh, BindBoth}

// maxServiceWithTag leaves a one-letter tag and its dash in a DNS label.
const maxServiceWithTag = validation.DNS1035LabelMaxLength - 2

// knativeReservedEnv are set by Knative in every revision; it refuses a
// revision that sets them.
var knativeReservedEnv = map[string]bool{"K_SERVICE": true, "K_CONFIGURATION": true, "K_REVISION": true}

// Validate checks one canary version on its own. Its tag, set or defaulted
// to its name, must be a DNS-1035 label; an unset tag's problems are the
// name's, so they are reported at the name.
func (v *CanaryVersion) Validate() *FieldError {
	errs := v.ModelSettings.Validate()
	switch {
	case v.Percent == nil:
		errs = errs.Also(ErrMissingField("percent", "the version's share of traffic, 0 to 100"))
	case *v.Percent < 0 || *v.Percent > 100:
		errs = errs.Also(ErrOutOfBoundsValue(*v.Percent, 0, 100, "percent"))
	}
	switch {
	case v.Tag == "":
	case v.tagDefaulted():
		if len(validation.IsDNS1123Label(v.Name)) == 0 {
			if msgs := validation.IsDNS1035Label(v.Name); len(msgs) > 0 {
				errs = errs.Also(ErrInvalidValue(v.Name, "name", "a DNS-1035 label, as the version's tag defaults to its name (set a tag, or start the name with a letter): "+strings.Join(msgs, "; ")))
			}
		}
	default:
		errs = errs.Also(checkDNS1035Label(v.Tag, "tag"))
	}
	for _, name := range sortedKeys(v.Env) {
		if knativeReservedEnv[name] {
			errs = errs.Also(ErrGeneric("is set by Knative in every revision", CurrentField).ViaFieldKey("env", name))
		}
	}
	for _, s := range []struct {
		field string
		n     *int
	}{{"minScale", v.MinScale}, {"maxScale", v.MaxScale}, {"initialScale", v.InitialScale}} {
		if s.n != nil && *s.n < 0 {
			errs = errs.Also(ErrBelowMinimum(*s.n, 0, s.field))
		}
	}
	if v.MinScale != nil && v.MaxScale != nil && *v.MaxScale > 0 && *v.MinScale > *v.MaxScale {
		errs = errs.Also(ErrGeneric(fmt.Sprintf("%d is above maxScale %d, want 0 to %d", *v.MinScale, *v.MaxScale, *v.MaxScale), "minScale"))
	}
	return errs
}

// tagDefaulted: SetDefaults gives a version without a tag its name.
func (v *CanaryVersion) tagDefaulted() bool { return v.Tag == v.Name }

// tagUse remembers which version holds a tag, and whether it is the
// version's name standing in for an unset tag.
type tagUse struct {
	index     int
	defaulted bool
}

// validateTag checks what a version's tag means beside the others: unique,
// and short enough for the host label Knative makes of it and the service.
// A defaulted tag's problems are reported at the name the user set.
func (cn *CanaryConfig) validateTag(v *CanaryVersion, tags map[string]tagUse, i int, serviceFits bool) *FieldError {
	if v.Tag == "" || len(validation.IsDNS1035Label(v.Tag)) > 0 {
		return nil // reported by the version's own Validate
	}
	defaulted := v.tagDefaulted()
	if prev, dup := tags[v.Tag]; dup {
		if !defaulted || !prev.defaulted {
			return ErrDuplicateValue(v.Tag, "tag", "tag", prev.index)
		}
		return nil // the names are reported as duplicates
	}
	tags[v.Tag] = tagUse{index: i, defaulted: defaulted}
	// Knative's tag host is <tag>-<route>.<namespace>.<domain>.
	host := v.Tag + "-" + cn.Service
	if !serviceFits || len(host) <= validation.DNS1035LabelMaxLength {
		return nil
	}
	if defaulted {
		return ErrGeneric(fmt.Sprintf("makes the tag host label %q (the tag defaults to the name) %d characters, want at most %d: shorten the name or the service, or set a shorter tag",
			host, len(host), validation.DNS1035LabelMaxLength), "name")
	}
	return ErrGeneric(fmt.Sprintf("makes the tag host label %q %d characters, want at most %d: shorten the tag or the service",
		host, len(host), validation.DNS1035LabelMaxLength), "tag")
}

// Validate checks the shadow's keys and its versions: unique names, and
// exactly one primary and one shadow.
func (sh *ShadowConfig) Validate() *FieldError {
	errs := checkDNS1035Label(sh.Service, "service")
	switch {
	case sh.MirrorPercent == nil:
		errs = errs.Also(ErrMissingField("mirrorPercent", "the share of requests copied to the shadow, 0 to 100"))
	case !(*sh.MirrorPercent >= 0 && *sh.MirrorPercent <= 100): // NaN too
		errs = errs.Also(ErrOutOfBoundsValue(*sh.MirrorPercent, 0, 100, "mirrorPercent"))
	}
	if !oneOf(sh.BindTo, shadowBindings) {
		errs = errs.Also(ErrUnknownValue(sh.BindTo, "bindTo", "binding", shadowBindings...))
	}
	names := map[string]int{}
	roles := map[string]int{}
	for i := range sh.Versions {
		ver := &sh.Versions[i]
		errs = errs.Also(uniqueName(ver.Name, names, i).Also(ver.Validate()).ViaFieldIndex("versions", i))
		roles[ver.Role]++
	}
	for _, role := range []string{RolePrimary, RoleShadow} {
		if roles[role] != 1 {
			errs = errs.Also(ErrGeneric(fmt.Sprintf("has %d %s versions, want exactly 1", roles[role], role), "versions"))
		}
	}
	return errs
}

// Validate checks one shadow version on its own.
func (v *ShadowVersion) Validate() *FieldError {
	errs := v.ModelSettings.Validate()
	if !oneOf(v.Role, []string{RolePrimary, RoleShadow}) {
		errs = errs.Also(ErrUnknownValue(v.Role, "role", "role", RolePrimary, RoleShadow))
	}
	if v.Replicas != nil && *v.Replicas < 1 {
		errs = errs.Also(ErrBelowMinimum(*v.Replicas, 1, "replicas"))
	}
	return errs
}

// validateShadowHost is at shadow: the host defaults to service.domain, and
// a host derived from a bad service or domain is reported there.
func (c *Config) validateShadowHost() *FieldError {
	sh := c.Shadow
	domain := c.Platform.Knative.Domain
	derived := sh.Host == sh.Service+"."+domain
	if derived && (checkDNS1035Label(sh.Service, "") != nil || checkDNSName(domain, "") != nil) {
		return nil
	}
	return checkDNSName(sh.Host, "host")
}

// Validate checks what every version has.
func (m *ModelSettings) Validate() *FieldError {
	var errs *FieldError
	if m.Name == "" {
		errs = errs.Also(ErrMissingField("name", "a DNS-1123 label such as v1"))
	} else {
		errs = errs.Also(checkDNS1123Label(m.Name, "name"))
	}
	if m.Target == "" && m.RunsModelEcho() {
		errs = errs.Also(ErrMissingField("target", "what the version answers (TARGET)"))
	}
	if m.Image != "" {
		errs = errs.Also(checkImageRef(m.Image, "image"))
	}
	if math.IsNaN(m.Bias) || math.IsInf(m.Bias, 0) {
		errs = errs.Also(ErrInvalidValue(m.Bias, "bias", "a finite number"))
	}
	// model-echo refuses to start outside these ranges.
	if m.LatencyMs < 0 || m.LatencyMs > modelapi.MaxLatencyMS {
		errs = errs.Also(ErrOutOfBoundsValue(m.LatencyMs, 0, modelapi.MaxLatencyMS, "latencyMs"))
	}
	if !(m.ErrorRate >= 0 && m.ErrorRate <= 1) {
		errs = errs.Also(ErrOutOfBoundsValue(m.ErrorRate, 0, 1, "errorRate"))
	}
	errs = errs.Also(m.validatePayloadLog(), m.validateModelServer())
	for _, name := range sortedKeys(m.Env) {
		switch {
		case len(validation.IsEnvVarName(name)) > 0:
			errs = errs.Also(ErrInvalidValue(name, CurrentField, "an environment variable name: "+strings.Join(validation.IsEnvVarName(name), "; ")).ViaFieldKey("env", name))
		case reservedEnv[name]:
			errs = errs.Also(ErrGeneric("is set by the program from the version's fields", CurrentField).ViaFieldKey("env", name))
		}
	}
	return errs
}

// validatePayloadLog checks loggerUrl the way model-echo does at start-up:
// an absolute http(s) URL, and only with payloadLog on.
func (m *ModelSettings) validatePayloadLog() *FieldError {
	if m.LoggerURL == "" {
		return nil
	}
	if u, err := url.Parse(m.LoggerURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ErrInvalidValue(m.LoggerURL, "loggerUrl", "an http or https URL with a host, e.g. http://sink.default.svc:8080")
	}
	if m.PayloadLog == nil || !*m.PayloadLog {
		return ErrGeneric("is set but payloadLog is not true: events are sent there only when they are logged; set payloadLog: true", "loggerUrl")
	}
	return nil
}

// uniqueName reports a valid name already used by an earlier version.
func uniqueName(name string, names map[string]int, i int) *FieldError {
	if name == "" || len(validation.IsDNS1123Label(name)) > 0 {
		return nil
	}
	if j, dup := names[name]; dup {
		return ErrDuplicateValue(name, "name", "name", j)
	}
	names[name] = i
	return nil
}

// reservedEnv are the variables the program derives from typed fields,
// and the port, which the platform sets.
var reservedEnv = map[string]bool{
	modelapi.EnvTarget: true, modelapi.EnvModelVersion: true, modelapi.EnvModelName: true, modelapi.EnvModelBias: true,
	modelapi.EnvLatencyMS: true, modelapi.EnvErrorRate: true, modelapi.EnvPort: true,
	modelapi.EnvPayloadLog: true, modelapi.EnvLoggerURL: true,
}

// Validate checks the image keys on their own: references parse with the
// distribution grammar Docker, containerd and Kubernetes use.
func (img *ImageConfig) Validate() *FieldError {
	var errs *FieldError
	build := img.Build != nil && *img.Build
	if img.Ref != "" {
		errs = errs.Also(checkImageRef(img.Ref, "ref"))
	}
	if img.Repository != "" {
		if named, err := reference.ParseNormalizedNamed(img.Repository); err != nil {
			errs = errs.Also(ErrInvalidValue(img.Repository, "repository", "an image repository: "+err.Error()))
		} else if !reference.IsNameOnly(named) {
			errs = errs.Also(ErrInvalidValue(img.Repository, "repository", "a repository alone: set the tag with image.tag"))
		}
	}
	if img.Tag != "" && !anchoredTag.MatchString(img.Tag) {
		errs = errs.Also(ErrInvalidValue(img.Tag, "tag", "an image tag: up to 128 letters, digits, '_', '.' and '-', not starting with '.' or '-'"))
	}
	if build && img.Ref != "" {
		errs = errs.Also(ErrGeneric("set either ref or build, not both", "ref"))
	}
	if build && img.Push && (img.Registry == nil || img.Registry.Server == "") {
		errs = errs.Also(ErrGeneric("required to push the image", "server").ViaField("registry"))
	}
	return errs
}

var anchoredTag = regexp.MustCompile(`^` + reference.TagRegexp.String() + `$`)

// checkImageRef reports value at field unless it is an image reference.
func checkImageRef(value, field string) *FieldError {
	if _, err := reference.ParseNormalizedNamed(value); err != nil {
		return ErrInvalidValue(value, field, "an image reference ([registry/]repository[:tag][@digest]): "+err.Error())
	}
	return nil
}

// validateImageSource is at image: where the image comes from must suit the
// cluster, and something must give every version an image.
func (c *Config) validateImageSource() *FieldError {
	img := c.Image
	if img.Build == nil || !*img.Build {
		if img.Ref == "" && !c.everyVersionHasImage() {
			return ErrMissingField("ref", "nothing builds the model image, so give an image reference (or an image on every version)")
		}
		return nil
	}
	var errs *FieldError
	// Only Knative resolves tags; the shadow's Deployments run the loaded
	// image from any repository name.
	if c.Cluster.Type == ClusterKind && c.Strategy == StrategyCanary {
		if registry, ok := imageRegistry(img.Repository); ok && !oneOf(registry, c.Platform.Knative.SkipTagResolution) {
			errs = errs.Also(ErrGeneric(fmt.Sprintf("%q is not in a registry Knative skips tag resolution for (%s): the revision would never become ready",
				img.Repository, strings.Join(c.Platform.Knative.SkipTagResolution, ", ")), "repository"))
		}
	}
	if c.Cluster.Type == ClusterExisting && !img.Push {
		errs = errs.Also(ErrGeneric("an existing cluster cannot see a local image: set push with a registry, or ref", "push"))
	}
	return errs
}

// imageRegistry is the registry part of a repository (docker.io when it
// names none); false when the repository does not parse.
func imageRegistry(repository string) (string, bool) {
	named, err := reference.ParseNormalizedNamed(repository)
	if err != nil {
		return "", false
	}
	return reference.Domain(named), true
}

func (c *Config) everyVersionHasImage() bool {
	var models []ModelSettings
	if c.Canary != nil && c.Strategy == StrategyCanary {
		for _, ver := range c.Canary.Versions {
			models = append(models, ver.ModelSettings)
		}
	}
	if c.Shadow != nil && c.Strategy == StrategyShadow {
		for _, ver := range c.Shadow.Versions {
			models = append(models, ver.ModelSettings)
		}
	}
	for _, m := range models {
		if m.Image == "" {
			return false
		}
	}
	return len(models) > 0
}

// checkDNS1123Label reports value at field unless it is a DNS-1123 label,
// with apimachinery's own explanation.
func checkDNS1123Label(value, field string) *FieldError {
	if msgs := validation.IsDNS1123Label(value); len(msgs) > 0 {
		return ErrInvalidValue(value, field, "a DNS-1123 label: "+strings.Join(msgs, "; "))
	}
	return nil
}

// checkDNS1035Label reports value at field unless it is a DNS-1035 label:
// Service names and Knative tags, which must start with a letter.
func checkDNS1035Label(value, field string) *FieldError {
	if msgs := validation.IsDNS1035Label(value); len(msgs) > 0 {
		return ErrInvalidValue(value, field, "a DNS-1035 label: "+strings.Join(msgs, "; "))
	}
	return nil
}

// checkDNSName reports value at field unless it is a DNS name whose every
// label fits in 63 characters (IsDNS1123Subdomain checks only the total).
func checkDNSName(value, field string) *FieldError {
	msgs := validation.IsDNS1123Subdomain(value)
	if len(msgs) == 0 {
		for _, label := range strings.Split(value, ".") {
			if len(label) > validation.DNS1123LabelMaxLength {
				msgs = append(msgs, fmt.Sprintf("label %q is longer than %d characters", label, validation.DNS1123LabelMaxLength))
			}
		}
	}
	if len(msgs) > 0 {
		return ErrInvalidValue(value, field, "a DNS name: "+strings.Join(msgs, "; "))
	}
	return nil
}

func oneOf(s string, allowed []string) bool {
	for _, a := range allowed {
		if s == a {
			return true
		}
	}
	return false
}

// String renders a strategy for messages.
func (s Strategy) String() string { return string(s) }
