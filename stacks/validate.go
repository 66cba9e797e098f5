package stacks

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
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
	switch blockErrs, err := ByStrategy[*FieldError](c.Strategy, strategyBlock{c}); {
	case c.Strategy == "":
		errs = errs.Also(ErrMissingField(key("strategy"), orList(StrategyNames())))
	case err != nil:
		errs = errs.Also(ErrUnknownValue(string(c.Strategy), key("strategy"), "strategy", StrategyNames()...))
	default:
		errs = errs.Also(blockErrs, c.validateOtherBlocks())
	}
	errs = errs.Also(c.Image.Validate().ViaField(key("image")))
	errs = errs.Also(c.validateImageSource().ViaField(key("image")), c.validateAgentImage().ViaField(key("image")))
	return errs
}

// strategyBlock checks the block of the stack's strategy: the config key
// named after it, which the strategy requires.
type strategyBlock struct{ c *Config }

func (b strategyBlock) Canary() *FieldError {
	if b.c.Canary == nil {
		return ErrGeneric("required when strategy is canary", key("canary"))
	}
	return b.c.Canary.Validate().Also(b.c.validateTagHeaderRouting()).ViaField(key("canary"))
}

func (b strategyBlock) Shadow() *FieldError {
	if b.c.Shadow == nil {
		return ErrGeneric("required when strategy is shadow", key("shadow"))
	}
	return b.c.Shadow.Validate().Also(b.c.validateShadowHost()).ViaField(key("shadow"))
}

// validateOtherBlocks reports the block of a strategy the stack does not
// use: nothing would deploy it, and a reader (or the review) could take it
// for what runs.
func (c *Config) validateOtherBlocks() *FieldError {
	set := perStrategy[bool]{c.Canary != nil, c.Shadow != nil}
	var errs *FieldError
	for _, s := range Strategies {
		if s != c.Strategy && set.of(s) {
			errs = errs.Also(ErrGeneric(fmt.Sprintf("applies only when strategy is %s, and strategy is %s: remove the block or change strategy", s, c.Strategy), key(string(s))))
		}
	}
	return errs
}

// strategyModels are the settings of the strategy's versions, none when
// its block is unset.
type strategyModels struct{ c *Config }

func (m strategyModels) Canary() []ModelSettings {
	var models []ModelSettings
	if m.c.Canary != nil {
		for _, v := range m.c.Canary.Versions {
			models = append(models, v.ModelSettings)
		}
	}
	return models
}

func (m strategyModels) Shadow() []ModelSettings {
	var models []ModelSettings
	if m.c.Shadow != nil {
		for _, v := range m.c.Shadow.Versions {
			models = append(models, v.ModelSettings)
		}
	}
	return models
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

// validateTagHeaderRouting is at canary: the flag lives in Knative's
// config-features, which only a Knative this stack installs is patched in.
func (c *Config) validateTagHeaderRouting() *FieldError {
	if c.Canary.HeaderRouting && c.Platform.Knative.Install != nil && !*c.Platform.Knative.Install {
		return ErrGeneric("needs platform.knative.install: the switch is Knative's config-features, which this stack does not manage "+
			"(set tag-header-based-routing: Enabled there yourself and leave this off)", "headerRouting")
	}
	return nil
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
	if c.Cluster.Type == ClusterKind && c.Strategy.RunsOnKnative() {
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

func (c *Config) everyVersionHasImage() bool {
	models, _ := ByStrategy[[]ModelSettings](c.Strategy, strategyModels{c})
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
