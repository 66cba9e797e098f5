package stacks

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
