package stacks

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"reflect"
	"strings"

	"github.com/agext/levenshtein"
	goccyyaml "github.com/goccy/go-yaml"
	"gopkg.in/yaml.v3"
)

// Getter returns the raw value of one config key of the namespace, as
// Pulumi hands it to programs: objects and lists are JSON text.
type Getter func(name string) (string, bool)

// Load decodes, defaults and validates a stack's config. Every problem is
// reported at once, with the key path a user types.
func Load(get Getter) (*Config, error) {
	c, errs := load(get)
	if errs != nil {
		return nil, errs
	}
	return c, nil
}

// load decodes what it can, reports what it cannot, and validates the
// rest: a wrong type in one key does not hide an out-of-range value in
// another. A validation problem at or under a key that failed to decode is
// dropped: it would only repeat that failure ("required" where the value
// was of the wrong type).
func load(get Getter) (*Config, *FieldError) {
	var c Config
	var decodeErrs *FieldError
	for _, f := range topLevelFields() {
		raw, ok := get(f.key)
		if !ok || raw == "" {
			continue
		}
		field := reflect.ValueOf(&c).Elem().FieldByName(f.goName)
		if f.typ.Kind() == reflect.String {
			// Plain strings arrive unquoted.
			field.SetString(raw)
			continue
		}
		target := reflect.New(f.typ)
		decodeErrs = decodeErrs.Also(decodeJSON([]byte(raw), target.Interface()).ViaField(key(f.key)))
		field.Set(target.Elem())
	}
	c.SetDefaults()
	errs := decodeErrs.Also(c.Validate().without(decodeErrs))
	if errs != nil {
		return nil, errs
	}
	return &c, nil
}

// StackFile is the part of a Pulumi.<stack>.yaml this package reads.
type StackFile struct {
	Config map[string]any `yaml:"config"`
}

// LoadFile loads the config of a stack file such as Pulumi.dev.yaml, the
// same way the program sees it. Keys of other namespaces are ignored; an
// unknown key of ours is an error, reported beside every other problem.
func LoadFile(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read stack file: %w", err)
	}
	values, keyErrs, err := parseStackFile(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	c, errs := load(func(name string) (string, bool) {
		s, ok := values[name]
		return s, ok
	})
	if errs = keyErrs.Also(errs); errs != nil {
		return nil, fmt.Errorf("%s: %w", path, errs)
	}
	return c, nil
}

// ParseStackFile returns the values of our namespace in a stack file, keyed
// by name without the namespace, objects as JSON text.
func ParseStackFile(data []byte) (map[string]string, error) {
	values, keyErrs, err := parseStackFile(data)
	if err != nil {
		return nil, err
	}
	if keyErrs != nil {
		return nil, keyErrs
	}
	return values, nil
}

// parseStackFile reads the config keys as Pulumi does: a key without a
// namespace belongs to the project (Pulumi rewrites `strategy` to
// `modelrollouts:strategy`), `modelrollouts:config:strategy` is the old
// spelling of the same key, and anything else with more than one colon is
// refused with Pulumi's own message. The error is for a file that is not
// YAML; keyErrs are problems with single keys.
func parseStackFile(data []byte) (values map[string]string, keyErrs *FieldError, err error) {
	var f StackFile
	if err := yaml.Unmarshal(data, &f); err != nil {
		return nil, nil, fmt.Errorf("parse stack file: %w", locateYAMLError(data, err))
	}
	known := map[string]bool{}
	for _, fld := range topLevelFields() {
		known[fld.key] = true
	}
	values = map[string]string{}
	for _, k := range sortedKeys(f.Config) {
		val := f.Config[k]
		full := k
		if !strings.Contains(k, ":") {
			full = key(k)
		}
		ns, name, err := ParseConfigKey(full)
		if err != nil {
			keyErrs = keyErrs.Also(ErrGeneric(err.Error(), k))
			continue
		}
		if ns != Namespace {
			// Pulumi keeps another namespace's keys for whoever reads
			// them; one a letter or two from ours is a typo whose value
			// nothing would read.
			if levenshtein.Distance(strings.ToLower(ns), Namespace, nil) <= 2 {
				keyErrs = keyErrs.Also(ErrGeneric(fmt.Sprintf("namespace %q is not the project's, want %s:%s", ns, Namespace, name), k))
			}
			continue
		}
		if !known[name] {
			keyErrs = keyErrs.Also(ErrGeneric("unknown key, want one of "+strings.Join(sortedKeys(known), ", "), key(name)))
			continue
		}
		val = spellNonFinite(maskSecrets(val))
		if s, isString := val.(string); isString {
			values[name] = s
			continue
		}
		b, err := json.Marshal(val)
		if err != nil {
			keyErrs = keyErrs.Also(ErrGeneric(fmt.Sprintf("cannot be encoded: %v", err), key(name)))
			continue
		}
		values[name] = string(b)
	}
	return values, keyErrs, nil
}

// ParseConfigKey splits a config key as Pulumi's config.ParseKey does
// (infra's tests hold the two to the same answers): `ns:name`, or the old
// `ns:config:name`; any other key is refused with Pulumi's message. It is
// written out here so that this package, which every tool imports, does
// not link the Pulumi SDK and its gRPC stack.
func ParseConfigKey(s string) (namespace, name string, err error) {
	parts := strings.Split(s, ":")
	switch {
	case len(parts) == 2:
		return parts[0], parts[1], nil
	case len(parts) == 3 && parts[1] == "config":
		return parts[0], parts[2], nil
	}
	return "", "", fmt.Errorf("could not parse %s as a configuration key (configuration keys should be of the form `<namespace>:<name>`)", s)
}

// locateYAMLError says where a YAML syntax error is. yaml.v3 (which Pulumi
// reads stack files with) often names the line where the enclosing block
// starts, or the one before the mistake; goccy/go-yaml points at the
// character, so its position and excerpt are used when it agrees that the
// text is not YAML.
func locateYAMLError(data []byte, err error) error {
	var doc any
	var located goccyyaml.Error
	if perr := goccyyaml.Unmarshal(data, &doc); errors.As(perr, &located) && located.GetToken() != nil {
		pos := located.GetToken().Position
		return fmt.Errorf("line %d, column %d: %s\n%s", pos.Line, pos.Column, located.GetMessage(), located.FormatError(false, true))
	}
	return err
}

// spellNonFinite writes YAML's .nan and .inf as strings, which JSON can
// carry, so the value reaches validation and is refused there with its
// allowed range instead of failing to encode.
func spellNonFinite(val any) any {
	switch x := val.(type) {
	case float64:
		switch {
		case math.IsNaN(x):
			return ".nan"
		case math.IsInf(x, 1):
			return ".inf"
		case math.IsInf(x, -1):
			return "-.inf"
		}
	case map[string]any:
		for k, item := range x {
			x[k] = spellNonFinite(item)
		}
	case []any:
		for i, item := range x {
			x[i] = spellNonFinite(item)
		}
	}
	return val
}

// ConfigMap returns a stack file's values of our namespace with their full
// keys, as the Automation API and mocks take them.
func ConfigMap(data []byte) (map[string]string, error) {
	values, err := ParseStackFile(data)
	if err != nil {
		return nil, err
	}
	full := make(map[string]string, len(values))
	for k, v := range values {
		full[Namespace+":"+k] = v
	}
	return full, nil
}

// maskSecrets replaces encrypted values ({secure: ...}) with a placeholder:
// reading a stack file offline cannot decrypt them, and nothing that is
// rendered or validated from a file needs their plaintext.
func maskSecrets(val any) any {
	switch x := val.(type) {
	case map[string]any:
		if _, secure := x["secure"]; secure && len(x) == 1 {
			return SecretPlaceholder
		}
		out := make(map[string]any, len(x))
		for k, item := range x {
			out[k] = maskSecrets(item)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, item := range x {
			out[i] = maskSecrets(item)
		}
		return out
	default:
		return val
	}
}

// SecretPlaceholder stands for a secret read from a stack file.
const SecretPlaceholder = "[secret]"

type topLevelField struct {
	key, goName string
	typ         reflect.Type
}

func topLevelFields() []topLevelField {
	t := reflect.TypeOf(Config{})
	fields := make([]topLevelField, 0, t.NumField())
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		fields = append(fields, topLevelField{key: jsonName(f), goName: f.Name, typ: f.Type})
	}
	return fields
}
