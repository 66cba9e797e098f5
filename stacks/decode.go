package stacks

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// decodeJSON decodes one key's JSON text into target (a pointer). Numbers
// keep their text (json.Number), so a 20-digit env value stays exact.
func decodeJSON(data []byte, target any) *FieldError {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var generic any
	if err := dec.Decode(&generic); err != nil {
		return ErrGeneric(fmt.Sprintf("is not valid JSON: %v", err), CurrentField)
	}
	return decodeValue(generic, reflect.ValueOf(target).Elem())
}

// decodeValue stores a decoded JSON value (map[string]any, []any, string,
// json.Number, bool or nil) into v, and reports every key and value that
// does not fit v's type at its path. What does not fit is left unset and
// the rest is decoded, so validation can still check it.
//
// Scalars are read the way `pulumi config set --path` writes them: it
// stores true, false and whole numbers typed, and everything else as a
// string. So a number or boolean is accepted where a string is wanted (an
// env value of 4 is "4"), and a string where a number or boolean is wanted
// ("12.5" is 12.5).
func decodeValue(value any, v reflect.Value) *FieldError {
	if value == nil {
		return nil // null is unset
	}
	switch v.Kind() {
	case reflect.Pointer:
		elem := reflect.New(v.Type().Elem())
		errs := decodeValue(value, elem.Elem())
		if errs == nil || isContainer(v.Type().Elem().Kind()) {
			v.Set(elem)
		}
		return errs
	case reflect.Struct:
		obj, ok := value.(map[string]any)
		if !ok {
			return errMustBe("an object", value)
		}
		fields := structFields(v.Type())
		var errs *FieldError
		for _, k := range sortedKeys(obj) {
			f, known := fields[k]
			if !known {
				errs = errs.Also(ErrUnknownField(k, sortedKeys(fields)))
				continue
			}
			errs = errs.Also(decodeValue(obj[k], v.FieldByIndex(f.Index)).ViaField(k))
		}
		return errs
	case reflect.Slice:
		list, ok := value.([]any)
		if !ok {
			return errMustBe("a list", value)
		}
		out := reflect.MakeSlice(v.Type(), len(list), len(list))
		var errs *FieldError
		for i, item := range list {
			errs = errs.Also(decodeValue(item, out.Index(i)).ViaIndex(i))
		}
		v.Set(out)
		return errs
	case reflect.Map:
		obj, ok := value.(map[string]any)
		if !ok {
			return errMustBe("an object", value)
		}
		out := reflect.MakeMapWithSize(v.Type(), len(obj))
		var errs *FieldError
		for _, k := range sortedKeys(obj) {
			elem := reflect.New(v.Type().Elem()).Elem()
			if err := decodeValue(obj[k], elem); err != nil {
				errs = errs.Also(err.ViaKey(k))
				continue
			}
			out.SetMapIndex(reflect.ValueOf(k).Convert(v.Type().Key()), elem)
		}
		v.Set(out)
		return errs
	case reflect.String:
		switch x := value.(type) {
		case string:
			v.SetString(x)
		case json.Number:
			v.SetString(x.String())
		case bool:
			v.SetString(strconv.FormatBool(x))
		default:
			return errMustBe("a string", value)
		}
		return nil
	case reflect.Bool:
		b, ok := value.(bool)
		if s, isString := value.(string); isString {
			var err error
			b, err = strconv.ParseBool(s)
			ok = err == nil
		}
		if !ok {
			return errMustBe("true or false", value)
		}
		v.SetBool(b)
		return nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		f, ok := number(value)
		if !ok || f != math.Trunc(f) || math.Abs(f) > 1<<53 || v.OverflowInt(int64(f)) {
			return errMustBe("a whole number", value)
		}
		v.SetInt(int64(f))
		return nil
	case reflect.Float32, reflect.Float64:
		f, ok := number(value)
		if !ok {
			return errMustBe("a number", value)
		}
		v.SetFloat(f)
		return nil
	default:
		// A type this decoder does not know: let encoding/json have it.
		data, err := json.Marshal(value)
		if err == nil {
			err = json.Unmarshal(data, v.Addr().Interface())
		}
		if err != nil {
			return ErrGeneric(err.Error(), CurrentField)
		}
		return nil
	}
}

func isContainer(k reflect.Kind) bool {
	return k == reflect.Struct || k == reflect.Slice || k == reflect.Map
}

// number reads a JSON number or a string holding one, including YAML's
// spellings of infinity and not-a-number, which validation then refuses
// with the allowed range.
func number(value any) (float64, bool) {
	var text string
	switch x := value.(type) {
	case json.Number:
		text = x.String()
	case string:
		text = strings.TrimSpace(x)
	default:
		return 0, false
	}
	switch strings.ToLower(text) {
	case ".nan":
		return math.NaN(), true
	case ".inf", "+.inf":
		return math.Inf(1), true
	case "-.inf":
		return math.Inf(-1), true
	}
	f, err := strconv.ParseFloat(text, 64)
	return f, err == nil
}

func errMustBe(want string, value any) *FieldError {
	return ErrGeneric(fmt.Sprintf("must be %s, got %s", want, describe(value)), CurrentField)
}

// structFields maps JSON names to fields, with embedded structs' fields
// flattened as encoding/json does.
func structFields(t reflect.Type) map[string]reflect.StructField {
	fields := map[string]reflect.StructField{}
	for _, f := range reflect.VisibleFields(t) {
		if f.Anonymous || !f.IsExported() || jsonName(f) == "-" {
			continue
		}
		fields[jsonName(f)] = f
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
