// Package jsonscan walks JSON objects and arrays without decoding them
// into Go values: the shadow report reads a million payload events and
// compares their outputs, and encoding/json's reflection was most of its
// time. It checks the structure it walks; values it only skips are
// checked for balance, not grammar, so callers json.Valid what they keep.
package jsonscan

import (
	"encoding/json"
	"errors"
	"strconv"
)

var (
	errSyntax = errors.New("jsonscan: malformed JSON")
	errType   = errors.New("jsonscan: unexpected JSON type")
)

func space(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipSpace(b []byte, i int) int {
	for i < len(b) && space(b[i]) {
		i++
	}
	return i
}

// skipString returns the index after the string starting at b[i] == '"'.
func skipString(b []byte, i int) (int, error) {
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '\\':
			j++
		case c == '"':
			return j + 1, nil
		case c < 0x20:
			return 0, errSyntax
		}
	}
	return 0, errSyntax
}

// skipValue returns the index after the value starting at b[i].
func skipValue(b []byte, i int) (int, error) {
	if i >= len(b) {
		return 0, errSyntax
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end, err := skipString(b, j)
				if err != nil {
					return 0, err
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, nil
				}
			}
		}
		return 0, errSyntax
	default: // number, true, false, null
		j := i
		for j < len(b) && !space(b[j]) && b[j] != ',' && b[j] != '}' && b[j] != ']' {
			j++
		}
		if j == i {
			return 0, errSyntax
		}
		return j, nil
	}
}

// Members calls fn with each member of the object b (the key still
// quoted, the value raw) until fn returns false. Only whitespace may
// follow the object.
func Members(b []byte, fn func(key, value []byte) bool) error {
	return walk(b, '{', '}', func(b []byte, i int) (int, bool, error) {
		if i >= len(b) || b[i] != '"' {
			return 0, false, errSyntax
		}
		kend, err := skipString(b, i)
		if err != nil {
			return 0, false, err
		}
		j := skipSpace(b, kend)
		if j >= len(b) || b[j] != ':' {
			return 0, false, errSyntax
		}
		j = skipSpace(b, j+1)
		vend, err := skipValue(b, j)
		if err != nil {
			return 0, false, err
		}
		return vend, fn(b[i:kend], b[j:vend]), nil
	})
}

// Elements calls fn with each element of the array b until fn returns false.
func Elements(b []byte, fn func(value []byte) bool) error {
	return walk(b, '[', ']', func(b []byte, i int) (int, bool, error) {
		end, err := skipValue(b, i)
		if err != nil {
			return 0, false, err
		}
		return end, fn(b[i:end]), nil
	})
}

func walk(b []byte, open, close byte, item func(b []byte, i int) (int, bool, error)) error {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != open {
		return errType
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == close {
		return trailing(b, i+1)
	}
	for {
		end, more, err := item(b, i)
		if err != nil {
			return err
		}
		i = skipSpace(b, end)
		if i >= len(b) {
			return errSyntax
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
			if !more {
				return nil
			}
		case close:
			if !more {
				return nil
			}
			return trailing(b, i+1)
		default:
			return errSyntax
		}
	}
}

func trailing(b []byte, i int) error {
	if skipSpace(b, i) != len(b) {
		return errSyntax
	}
	return nil
}

// Key reports whether the quoted key k is name (keys here are plain ASCII).
func Key(k []byte, name string) bool {
	return len(k) == len(name)+2 && string(k[1:len(k)-1]) == name
}

// String decodes a JSON string value.
func String(v []byte) (string, error) {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return "", errType
	}
	inner := v[1 : len(v)-1]
	for _, c := range inner {
		if c == '\\' || c < 0x20 {
			var s string
			err := json.Unmarshal(v, &s)
			return s, err
		}
	}
	return string(inner), nil
}

// Bool decodes true or false.
func Bool(v []byte) (bool, error) {
	switch string(v) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, errType
}

// Int decodes an integer.
func Int(v []byte) (int64, error) { return strconv.ParseInt(string(v), 10, 64) }

// Floats appends the numbers of v, a number or (nested) arrays of
// numbers, flattened in row-major order; booleans count as 0 and 1.
func Floats(v []byte, into []float64) ([]float64, error) {
	if len(v) == 0 {
		return nil, errSyntax
	}
	switch v[0] {
	case '[':
		var err error
		walkErr := Elements(v, func(e []byte) bool {
			into, err = Floats(e, into)
			return err == nil
		})
		if err != nil {
			return nil, err
		}
		return into, walkErr
	case 't', 'f':
		b, err := Bool(v)
		if err != nil {
			return nil, err
		}
		if b {
			return append(into, 1), nil
		}
		return append(into, 0), nil
	}
	f, err := strconv.ParseFloat(string(v), 64)
	if err != nil {
		return nil, errType
	}
	return append(into, f), nil
}
