package stacks

import (
	"fmt"
)

var shadowBindings = []string{BindGateway, BindMesh, BindBoth}

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
