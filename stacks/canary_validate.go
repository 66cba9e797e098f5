package stacks

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

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
