package modelapi

import (
	"fmt"
	"net/url"
	"regexp"
)

// token is what MODEL_NAME and MODEL_VERSION must look like: safe in a
// header, a Prometheus label value, a URL path segment and a DNS label.
var token = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)

// CheckToken checks a MODEL_NAME or MODEL_VERSION value; the error names
// env, the variable it came from.
func CheckToken(env, value string) error {
	if !token.MatchString(value) {
		return fmt.Errorf("%s: %q must be 1-63 characters of [A-Za-z0-9._-] starting with a letter or digit", env, value)
	}
	return nil
}

// CheckLoggerURL checks LOGGER_URL: empty, or an absolute http(s) URL and
// only with PAYLOAD_LOG on (events never go to a sink without the log).
func CheckLoggerURL(loggerURL string, payloadLog bool) error {
	if loggerURL == "" {
		return nil
	}
	u, err := url.Parse(loggerURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%s: %q is not an http or https URL with a host", EnvLoggerURL, loggerURL)
	}
	if !payloadLog {
		return fmt.Errorf("%s: set, but %s is not true; events are sent there only with payload logging on", EnvLoggerURL, EnvPayloadLog)
	}
	return nil
}
