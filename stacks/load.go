package stacks

import (
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Getter returns the raw value of one config key of the namespace, as
// Pulumi hands it to programs: objects and lists are JSON text.
type Getter func(name string) (string, bool)

// Load decodes, defaults and validates a stack's config. Every problem is
// reported at once, with the key path a user types.
func Load(get Getter) (*Config, error) {
	var c Config
	var errs *FieldError
	for _, f := range topLevelFields() {
		raw, ok := get(f.key)
		if !ok || raw == "" {
			continue
		}
		target := reflect.New(f.typ)
		if f.typ.Kind() == reflect.String {
			// Plain strings arrive unquoted.
			target.Elem().SetString(raw)
		} else if err := decodeStrict([]byte(raw), target.Interface()); err != nil {
			errs = errs.Also(err.ViaField(key(f.key)))
			continue
		}
		reflect.ValueOf(&c).Elem().FieldByName(f.goName).Set(target.Elem())
	}
	if errs != nil {
		return nil, errs
	}
	c.SetDefaults()
	if errs := c.Validate(); errs != nil {
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
// unknown key of ours is an error.
func LoadFile(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read stack file: %w", err)
	}
	values, err := ParseStackFile(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return Load(func(name string) (string, bool) {
		s, ok := values[name]
		return s, ok
	})
}

// ParseStackFile returns the values of our namespace in a stack file, keyed
// by name without the namespace, objects as JSON text.
func ParseStackFile(data []byte) (map[string]string, error) {
	var f StackFile
	if err := yaml.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("parse stack file: %w", err)
	}
	known := map[string]bool{}
	for _, fld := range topLevelFields() {
		known[fld.key] = true
	}
	values := map[string]string{}
	var errs *FieldError
	for _, k := range sortedKeys(f.Config) {
		val := f.Config[k]
		name, ours := strings.CutPrefix(k, Namespace+":")
		if !ours {
			continue
		}
		if !known[name] {
			errs = errs.Also(ErrGeneric("unknown key, want one of "+strings.Join(sortedKeys(known), ", "), key(name)))
			continue
		}
		if s, isString := val.(string); isString {
			values[name] = s
			continue
		}
		b, err := json.Marshal(maskSecrets(val))
		if err != nil {
			errs = errs.Also(ErrGeneric(fmt.Sprintf("cannot be encoded: %v", err), key(name)))
			continue
		}
		values[name] = string(b)
	}
	if errs != nil {
		return nil, errs
	}
	return values, nil
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

// decodeStrict decodes JSON into target after checking every key and
// value type against it, so a typo or a wrong type is reported at its path.
func decodeStrict(data []byte, target any) *FieldError {
	var generic any
	if err := json.Unmarshal(data, &generic); err != nil {
		return ErrGeneric(fmt.Sprintf("is not valid JSON: %v", err), CurrentField)
	}
	t := reflect.TypeOf(target).Elem()
	generic = coerceScalars(generic, t)
	if errs := checkShape(generic, t); errs != nil {
		return errs
	}
	data, err := json.Marshal(generic)
	if err != nil {
		return ErrGeneric(fmt.Sprintf("cannot be encoded: %v", err), CurrentField)
	}
	if err := json.Unmarshal(data, target); err != nil {
		return ErrGeneric(err.Error(), CurrentField)
	}
	return nil
}

// coerceScalars turns strings into the numbers and booleans their fields
// want: `pulumi config set --path` stores a value such as 12.5 as the
// string "12.5" unless given --type, and a user should not need to know.
func coerceScalars(value any, t reflect.Type) any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch x := value.(type) {
	case map[string]any:
		var fields map[string]reflect.Type
		if t.Kind() == reflect.Struct {
			fields = structFields(t)
		}
		for k, item := range x {
			switch {
			case fields != nil && fields[k] != nil:
				x[k] = coerceScalars(item, fields[k])
			case t.Kind() == reflect.Map:
				x[k] = coerceScalars(item, t.Elem())
			}
		}
	case []any:
		if t.Kind() == reflect.Slice {
			for i, item := range x {
				x[i] = coerceScalars(item, t.Elem())
			}
		}
	case string:
		switch t.Kind() {
		case reflect.Int, reflect.Float64:
			if n, err := strconv.ParseFloat(x, 64); err == nil {
				return n
			}
		case reflect.Bool:
			if b, err := strconv.ParseBool(x); err == nil {
				return b
			}
		}
	}
	return value
}

// checkShape reports every key and value of value that does not fit t.
func checkShape(value any, t reflect.Type) *FieldError {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if value == nil {
		return nil
	}
	var errs *FieldError
	switch t.Kind() {
	case reflect.Struct:
		obj, ok := value.(map[string]any)
		if !ok {
			return ErrGeneric("must be an object, got "+describe(value), CurrentField)
		}
		fields := structFields(t)
		for _, k := range sortedKeys(obj) {
			ft, known := fields[k]
			if !known {
				errs = errs.Also(ErrUnknownField(k, sortedKeys(fields)))
				continue
			}
			errs = errs.Also(checkShape(obj[k], ft).ViaField(k))
		}
	case reflect.Slice:
		list, ok := value.([]any)
		if !ok {
			return ErrGeneric("must be a list, got "+describe(value), CurrentField)
		}
		for i, item := range list {
			errs = errs.Also(checkShape(item, t.Elem()).ViaIndex(i))
		}
	case reflect.Map:
		obj, ok := value.(map[string]any)
		if !ok {
			return ErrGeneric("must be an object, got "+describe(value), CurrentField)
		}
		for _, k := range sortedKeys(obj) {
			errs = errs.Also(checkShape(obj[k], t.Elem()).ViaKey(k))
		}
	case reflect.String:
		if _, ok := value.(string); !ok {
			return ErrGeneric("must be a string, got "+describe(value), CurrentField)
		}
	case reflect.Bool:
		if _, ok := value.(bool); !ok {
			return ErrGeneric("must be true or false, got "+describe(value), CurrentField)
		}
	case reflect.Int:
		n, ok := value.(float64)
		if !ok || n != float64(int(n)) {
			return ErrGeneric("must be a whole number, got "+describe(value), CurrentField)
		}
	case reflect.Float64:
		if _, ok := value.(float64); !ok {
			return ErrGeneric("must be a number, got "+describe(value), CurrentField)
		}
	}
	return errs
}

// structFields maps JSON names to field types, flattening embedded structs.
func structFields(t reflect.Type) map[string]reflect.Type {
	fields := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Anonymous {
			for k, ft := range structFields(f.Type) {
				fields[k] = ft
			}
			continue
		}
		fields[jsonName(f)] = f.Type
	}
	return fields
}

func jsonName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	if name == "" {
		return f.Name
	}
	return name
}

func describe(value any) string {
	switch x := value.(type) {
	case string:
		return fmt.Sprintf("%q", x)
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	default:
		return fmt.Sprint(x)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
