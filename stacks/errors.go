package stacks

import (
	"fmt"
	"strings"
)

// FieldError is one problem with the stack config, at the key path a user
// passes to `pulumi config set --path`.
type FieldError struct {
	Path    string
	Message string
}

func (e FieldError) Error() string { return e.Path + ": " + e.Message }

// Errors collects every problem found, so one run reports them all.
type Errors []FieldError

func (errs Errors) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "invalid stack config (%d problem", len(errs))
	if len(errs) != 1 {
		b.WriteString("s")
	}
	b.WriteString("):")
	for _, e := range errs {
		b.WriteString("\n  ")
		b.WriteString(e.Error())
	}
	return b.String()
}

// fieldPath builds key paths: key("canary").field("versions").index(1).
type fieldPath string

func key(name string) fieldPath { return fieldPath(Namespace + ":" + name) }

func (p fieldPath) field(name string) fieldPath { return p + "." + fieldPath(name) }

func (p fieldPath) index(i int) fieldPath { return p + fieldPath(fmt.Sprintf("[%d]", i)) }

// collector gathers FieldErrors.
type collector struct{ errs Errors }

func (c *collector) add(p fieldPath, format string, args ...any) {
	c.errs = append(c.errs, FieldError{Path: string(p), Message: fmt.Sprintf(format, args...)})
}

func (c *collector) err() error {
	if len(c.errs) == 0 {
		return nil
	}
	return c.errs
}
