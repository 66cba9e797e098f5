package stacks

import (
	"regexp"

	"github.com/distribution/reference"
)

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

// imageRegistry is the registry part of a repository (docker.io when it
// names none); false when the repository does not parse.
func imageRegistry(repository string) (string, bool) {
	named, err := reference.ParseNormalizedNamed(repository)
	if err != nil {
		return "", false
	}
	return reference.Domain(named), true
}
