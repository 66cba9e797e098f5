package jsonscan

import (
	"encoding/json"
	"testing"
)

// Members agrees with encoding/json on what is a well-formed object.
func TestMembersAcceptsWhatEncodingJSONAccepts(t *testing.T) {
	for _, s := range []string{
		`{}`, ` { "a" : 1 , "b":"x\"}" ,"c":{"d":[1,{"e":"]"}]}} `, `{"a":null,"b":true,"c":-1.5e3}`,
		`{"a":1`, `{"a":1}}`, `{"a":1}{"b":2}`, `{"a" 1}`, `{a:1}`, `{"a":1,}`, `{"a":"x`, `[1]`, ``, `{"a":"\u0001"}`,
	} {
		n := 0
		err := Members([]byte(s), func(k, v []byte) bool { n++; return true })
		var m map[string]any
		want := json.Unmarshal([]byte(s), &m) == nil
		if (err == nil) != want {
			t.Errorf("%q: Members error %v, encoding/json accepts it: %v", s, err, want)
		}
	}
}

func TestScalarsAndFloats(t *testing.T) {
	if s, err := String([]byte(`"a\u00e9\n"`)); err != nil || s != "aé\n" {
		t.Errorf("String: %q %v", s, err)
	}
	if f, err := Floats([]byte(`[[1,2],[3,true]]`), nil); err != nil || len(f) != 4 || f[3] != 1 {
		t.Errorf("Floats: %v %v", f, err)
	}
	if _, err := Floats([]byte(`[1,"x"]`), nil); err == nil {
		t.Error("Floats accepted a string")
	}
	if _, err := Bool([]byte(`1`)); err == nil {
		t.Error("Bool accepted 1")
	}
}
