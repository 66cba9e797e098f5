package modelapi

import (
	"strings"
	"testing"
)

func TestAMirroredCopyIsToldByItsHostWithOrWithoutAPort(t *testing.T) {
	t.Parallel()
	for host, want := range map[string]bool{
		"svc-shadow": true, "svc-shadow:8080": true, "svc.ns.svc.cluster.local-shadow": true,
		"svc": false, "svc:8080": false, "shadow-svc": false, "[::1]:80": false, "": false,
	} {
		if got := IsMirroredHost(host); got != want {
			t.Errorf("IsMirroredHost(%q) = %v", host, got)
		}
	}
}

func TestNameVersionAndLoggerURLChecksNameTheVariable(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"v1", "model-echo", "a.b_c-1", strings.Repeat("v", 63)} {
		if err := CheckToken(EnvModelVersion, ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "-v1", "v 1", "v/1", strings.Repeat("v", 64)} {
		if err := CheckToken(EnvModelVersion, bad); err == nil || !strings.HasPrefix(err.Error(), EnvModelVersion+": ") {
			t.Errorf("%q: %v", bad, err)
		}
	}
	for _, c := range []struct {
		url  string
		on   bool
		want string // "" for no error
	}{
		{"", false, ""},
		{"http://sink:8080/events", true, ""},
		{"https://sink", true, ""},
		{"sink:8080", true, "is not an http or https URL"},
		{"ftp://sink/x", true, "is not an http or https URL"},
		{"http://sink", false, "set, but PAYLOAD_LOG is not true"},
	} {
		err := CheckLoggerURL(c.url, c.on)
		if (c.want == "") != (err == nil) || (err != nil && (!strings.HasPrefix(err.Error(), EnvLoggerURL+": ") || !strings.Contains(err.Error(), c.want))) {
			t.Errorf("%q, payload log %v: %v, want %q", c.url, c.on, err, c.want)
		}
	}
}
