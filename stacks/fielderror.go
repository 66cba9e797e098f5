package stacks

import (
	"fmt"
	"reflect"
	"strings"
)

// FieldError holds what is wrong with a stack config, in the style of
// Knative's apis.FieldError: a problem is made where it is found, at a path
// relative to the value being checked, and each parent prefixes its own
// field (ViaField, ViaIndex, ViaKey) on the way up; Also gathers several, so
// one run reports them all. A nil *FieldError means no problem.
//
// knative.dev/pkg/apis itself is not used: it renders map keys as
// env[NAME], which `pulumi config set --path` does not take, and it merges
// and sorts problems by message, where we keep them in config order.
type FieldError struct {
	problems []Problem
}

// Problem is one thing wrong, at the key path a user passes to
// `pulumi config set --path`.
type Problem struct {
	Path    string
	Message string

	segments []any // field names (string) and list indexes (int)
}

func (p Problem) Error() string { return p.Path + ": " + p.Message }

// Problems lists every problem in the order they were found.
func (fe *FieldError) Problems() []Problem {
	if fe == nil {
		return nil
	}
	out := make([]Problem, len(fe.problems))
	for i, p := range fe.problems {
		p.Path = renderPath(p.segments)
		out[i] = p
	}
	return out
}

func (fe *FieldError) Error() string {
	problems := fe.Problems()
	var b strings.Builder
	fmt.Fprintf(&b, "invalid stack config (%d problem", len(problems))
	if len(problems) != 1 {
		b.WriteString("s")
	}
	b.WriteString("):")
	for _, p := range problems {
		b.WriteString("\n  ")
		b.WriteString(p.Error())
	}
	return b.String()
}

// Also returns fe with the problems of errs added after its own.
func (fe *FieldError) Also(errs ...*FieldError) *FieldError {
	var all []Problem
	if fe != nil {
		all = append(all, fe.problems...)
	}
	for _, e := range errs {
		if e != nil {
			all = append(all, e.problems...)
		}
	}
	if len(all) == 0 {
		return nil
	}
	return &FieldError{problems: all}
}

// without drops the problems at or under a path that has a problem in
// other.
func (fe *FieldError) without(other *FieldError) *FieldError {
	if fe == nil || other == nil {
		return fe
	}
	var kept []Problem
	for _, p := range fe.problems {
		if !under(p.segments, other) {
			kept = append(kept, p)
		}
	}
	if len(kept) == 0 {
		return nil
	}
	return &FieldError{problems: kept}
}

// under reports whether path is, or is below, the path of a problem of fe.
func under(path []any, fe *FieldError) bool {
	for _, p := range fe.problems {
		if len(p.segments) <= len(path) && reflect.DeepEqual(p.segments, path[:len(p.segments)]) {
			return true
		}
	}
	return false
}

// ViaField puts the fields in front of every problem's path:
// ViaField("canary", "versions") is under canary.versions.
func (fe *FieldError) ViaField(names ...string) *FieldError {
	segments := make([]any, len(names))
	for i, n := range names {
		segments[i] = n
	}
	return fe.via(segments...)
}

// ViaIndex puts a list index in front of every problem's path.
func (fe *FieldError) ViaIndex(i int) *FieldError { return fe.via(i) }

// ViaKey puts a map key in front of every problem's path. It is a field to
// Pulumi too; keys that need quoting are rendered as ["KEY"].
func (fe *FieldError) ViaKey(k string) *FieldError { return fe.via(k) }

// ViaFieldIndex is ViaIndex(i).ViaField(name): the i-th item of a list field.
func (fe *FieldError) ViaFieldIndex(name string, i int) *FieldError {
	return fe.ViaIndex(i).ViaField(name)
}

// ViaFieldKey is ViaKey(k).ViaField(name): the entry k of a map field.
func (fe *FieldError) ViaFieldKey(name, k string) *FieldError {
	return fe.ViaKey(k).ViaField(name)
}

func (fe *FieldError) via(prefix ...any) *FieldError {
	if fe == nil {
		return nil
	}
	out := &FieldError{problems: make([]Problem, len(fe.problems))}
	for i, p := range fe.problems {
		p.segments = append(append([]any(nil), prefix...), p.segments...)
		out.problems[i] = p
	}
	return out
}

// CurrentField is the field argument of a constructor for a problem with
// the value being checked itself, to be placed by the caller's Via calls.
const CurrentField = ""

func newError(field, message string) *FieldError {
	var segments []any
	if field != CurrentField {
		segments = []any{field}
	}
	return &FieldError{problems: []Problem{{Message: message, segments: segments}}}
}

// ErrGeneric is a problem at field told in its own words.
func ErrGeneric(message, field string) *FieldError { return newError(field, message) }

// ErrMissingField says field is unset and what it should hold.
func ErrMissingField(field, want string) *FieldError {
	return newError(field, "required: "+want)
}

// ErrInvalidValue says value is not what field wants: `"V2" is not a
// DNS-1123 label: ...`.
func ErrInvalidValue(value any, field, want string) *FieldError {
	return newError(field, describeValue(value)+" is not "+want)
}

// ErrUnknownValue says value is none of the allowed words:
// `unknown role "mirror", want primary or shadow`.
func ErrUnknownValue(value any, field, what string, allowed ...string) *FieldError {
	return newError(field, fmt.Sprintf("unknown %s %s, want %s", what, describeValue(value), orList(allowed)))
}

// ErrOutOfBoundsValue says value is outside lower..upper, both allowed.
func ErrOutOfBoundsValue(value, lower, upper any, field string) *FieldError {
	return newError(field, fmt.Sprintf("%v is out of range, want %v to %v", value, lower, upper))
}

// ErrBelowMinimum says value is below lower, and there is no upper bound.
func ErrBelowMinimum(value, lower any, field string) *FieldError {
	return newError(field, fmt.Sprintf("%v is out of range, want %v or more", value, lower))
}

// ErrUnknownField says field is not one the config has, and lists those it has.
func ErrUnknownField(field string, known []string) *FieldError {
	return newError(field, "unknown field, want one of "+strings.Join(known, ", "))
}

// ErrDuplicateValue says value is already taken by another list item.
func ErrDuplicateValue(value any, field, what string, index int) *FieldError {
	return newError(field, fmt.Sprintf("%s is already the %s of versions[%d]", describeValue(value), what, index))
}

func describeValue(v any) string {
	if s, ok := v.(string); ok {
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprint(v)
}

// orList renders ["a", "b", "c"] as "a, b or c".
func orList(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}

// key is the first path segment of a top-level config key: modelrollouts:canary.
func key(name string) string { return Namespace + ":" + name }

// renderPath writes a path the way Pulumi's PropertyPath.String does, so it
// can be pasted into `pulumi config set --path`: the first segment as it is
// (it carries the namespace), then .field, [index], or ["key"] for a key
// with characters other than letters, digits and underscores.
func renderPath(segments []any) string {
	var b strings.Builder
	for i, s := range segments {
		switch s := s.(type) {
		case int:
			fmt.Fprintf(&b, "[%d]", s)
		case string:
			switch {
			case i == 0:
				b.WriteString(s)
			case needsQuotes(s):
				b.WriteString(`["` + strings.ReplaceAll(s, `"`, `\"`) + `"]`)
			default:
				b.WriteString("." + s)
			}
		}
	}
	return b.String()
}

func needsQuotes(s string) bool {
	for _, c := range s {
		if (c < 'A' || c > 'Z') && (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return true
		}
	}
	return s == ""
}
