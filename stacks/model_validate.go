package stacks

import (
	"math"
	"net/url"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/modelrollouts/modelrollouts/model-echo/modelapi"
)

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
