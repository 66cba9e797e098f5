package agent

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/modelrollouts/modelrollouts/model-echo/modelapi"
)

// Defaults applied by ConfigFromEnv and, for zero values, by New.
const (
	DefaultModelName         = "model"
	DefaultVersion           = "v1"
	DefaultPort              = modelapi.Port
	DefaultReadinessPath     = modelapi.PathReady
	DefaultRingSize          = 2048
	DefaultReadHeaderTimeout = 5 * time.Second
	DefaultIdleTimeout       = 120 * time.Second
	DefaultShutdownTimeout   = 25 * time.Second // inside Kubernetes' 30 s grace period
	// DefaultReadinessTimeout bounds one readiness question to the model:
	// a model that cannot say it is ready within it is not.
	DefaultReadinessTimeout = time.Second
	// DefaultDialTimeout bounds connecting to the model, which shares the
	// pod: a refused or unreachable model is a 502 quickly.
	DefaultDialTimeout = 5 * time.Second
)

// Config is everything an Agent needs. Zero optional fields get the
// defaults above in New.
type Config struct {
	// Upstream is the model's address: host:port or http://host:port
	// (MODEL_UPSTREAM, required).
	Upstream string
	// ReadinessPath is the model's own readiness path
	// (MODEL_READINESS_PATH).
	ReadinessPath string
	ModelName     string // MODEL_NAME: the info metric and payload events
	Version       string // MODEL_VERSION: X-Model-Version and every label

	Host string // listen host (HOST); "" means all interfaces
	Port int    // listen port (PORT)

	// PayloadLog writes model-echo's request and response events
	// (PAYLOAD_LOG); LoggerURL also POSTs them there (LOGGER_URL).
	PayloadLog bool
	LoggerURL  string

	// Hostname names this process in the info metric; default
	// os.Hostname() (the pod name on Kubernetes).
	Hostname string
	RingSize int // records kept for /debug/requests

	ReadHeaderTimeout time.Duration
	IdleTimeout       time.Duration
	ReadinessTimeout  time.Duration
	DialTimeout       time.Duration
	// ShutdownDelay keeps serving, not ready, after shutdown starts
	// (SHUTDOWN_DELAY_MS); ShutdownTimeout bounds in-flight requests then.
	ShutdownDelay   time.Duration
	ShutdownTimeout time.Duration
}

// Addr is the listen address built from Host and Port.
func (c Config) Addr() string { return net.JoinHostPort(c.Host, strconv.Itoa(c.Port)) }

// ConfigFromEnv reads the configuration through getenv (os.Getenv in main,
// a map lookup in tests), reporting every invalid variable at once.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	cfg := Config{Port: DefaultPort}
	var errs []error
	get := func(name string) (string, bool) {
		v := strings.TrimSpace(getenv(name))
		return v, v != ""
	}
	cfg.Upstream, _ = get(modelapi.EnvModelUpstream)
	cfg.ReadinessPath, _ = get(modelapi.EnvModelReadinessPath)
	cfg.ModelName, _ = get(modelapi.EnvModelName)
	cfg.Version, _ = get(modelapi.EnvModelVersion)
	cfg.Host, _ = get(modelapi.EnvHost)
	cfg.LoggerURL, _ = get(modelapi.EnvLoggerURL)
	if v, ok := get(modelapi.EnvPort); ok {
		p, err := strconv.Atoi(v)
		if err != nil || p < 1 || p > 65535 {
			errs = append(errs, fmt.Errorf("%s: %q is not a TCP port (1-65535)", modelapi.EnvPort, v))
		}
		cfg.Port = p
	}
	if v, ok := get(modelapi.EnvPayloadLog); ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %q is not true or false", modelapi.EnvPayloadLog, v))
		}
		cfg.PayloadLog = b
	}
	if v, ok := get(modelapi.EnvShutdownDelayMS); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 60_000 {
			errs = append(errs, fmt.Errorf("%s: %q is not a number of milliseconds between 0 and 60000", modelapi.EnvShutdownDelayMS, v))
		}
		cfg.ShutdownDelay = time.Duration(n) * time.Millisecond
	}
	if err := cfg.withDefaults().Validate(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return Config{}, fmt.Errorf("invalid configuration: %w", errors.Join(errs...))
	}
	return cfg, nil
}

// Validate checks a Config after defaults; every error names its
// variable.
func (c Config) Validate() error {
	var errs []error
	if _, err := upstreamURL(c.Upstream); err != nil {
		errs = append(errs, err)
	}
	if !strings.HasPrefix(c.ReadinessPath, "/") {
		errs = append(errs, fmt.Errorf("%s: %q is not an absolute path such as %s", modelapi.EnvModelReadinessPath, c.ReadinessPath, modelapi.PathReady))
	}
	errs = append(errs, modelapi.CheckToken(modelapi.EnvModelName, c.ModelName), modelapi.CheckToken(modelapi.EnvModelVersion, c.Version))
	if c.Port < 0 || c.Port > 65535 {
		errs = append(errs, fmt.Errorf("%s: %d is not a TCP port", modelapi.EnvPort, c.Port))
	}
	errs = append(errs, modelapi.CheckLoggerURL(c.LoggerURL, c.PayloadLog))
	return errors.Join(errs...)
}

// upstreamURL reads MODEL_UPSTREAM: host:port, or an http URL with a host
// and nothing after it (the agent forwards paths as they came).
func upstreamURL(s string) (*url.URL, error) {
	if s == "" {
		return nil, fmt.Errorf("%s: is required: where the model listens, e.g. 127.0.0.1:%d", modelapi.EnvModelUpstream, modelapi.DefaultModelPortBehindAgent)
	}
	raw := s
	if !strings.Contains(s, "://") {
		raw = "http://" + s
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" || u.Hostname() == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return nil, fmt.Errorf("%s: %q is not host:port or http://host:port", modelapi.EnvModelUpstream, s)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("%s: %q has no valid TCP port", modelapi.EnvModelUpstream, s)
		}
	}
	u.Path = ""
	return u, nil
}

// withDefaults fills zero optional fields.
func (c Config) withDefaults() Config {
	if c.ReadinessPath == "" {
		c.ReadinessPath = DefaultReadinessPath
	}
	if c.ModelName == "" {
		c.ModelName = DefaultModelName
	}
	if c.Version == "" {
		c.Version = DefaultVersion
	}
	if c.RingSize <= 0 {
		c.RingSize = DefaultRingSize
	}
	if c.ReadHeaderTimeout <= 0 {
		c.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.ReadinessTimeout <= 0 {
		c.ReadinessTimeout = DefaultReadinessTimeout
	}
	if c.DialTimeout <= 0 {
		c.DialTimeout = DefaultDialTimeout
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = DefaultShutdownTimeout
	}
	if c.Hostname == "" {
		c.Hostname, _ = os.Hostname()
	}
	return c
}
