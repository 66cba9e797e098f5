package server

import (
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/modelrollouts/modelrollouts/model-echo/modelapi"
)

// Defaults applied by ConfigFromEnv and, for zero values, by New.
const (
	DefaultModelName         = "model-echo"
	DefaultVersion           = "v1"
	DefaultPort              = modelapi.Port
	DefaultMaxBodyBytes      = 1 << 20 // 1 MiB; larger bodies get 413
	DefaultRingSize          = 2048
	DefaultReadHeaderTimeout = 5 * time.Second
	DefaultReadTimeout       = 30 * time.Second
	DefaultWriteTimeout      = 60 * time.Second // > max injected latency worth testing
	DefaultIdleTimeout       = 120 * time.Second
	DefaultShutdownTimeout   = 25 * time.Second // inside Kubernetes' 30 s grace period
)

// Config is everything a Server needs. Zero values of the optional fields
// are replaced by the defaults above in New.
type Config struct {
	Target    string        // answer of GET / (TARGET, required)
	ModelName string        // OIP model name (MODEL_NAME)
	Version   string        // model version, a token (MODEL_VERSION)
	Bias      float64       // added to every output element (MODEL_BIAS)
	Latency   time.Duration // injected before answering model routes (LATENCY_MS)
	ErrorRate float64       // 0..1, share of model requests answered 500 (ERROR_RATE)
	// RequestIDSeed seeds the ids made for requests that carry none, so
	// the requests ERROR_RATE fails repeat from run to run
	// (REQUEST_ID_SEED); 0 means random ids.
	RequestIDSeed uint64

	Host string // listen host (HOST); "" means all interfaces
	Port int    // listen port (PORT)

	MaxBodyBytes int64 // request body limit
	RingSize     int   // records kept for /debug/requests (DEBUG_RING_SIZE)

	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration

	// ShutdownDelay keeps serving (with readiness false) after shutdown
	// starts, so load balancers stop routing here before the listener
	// closes (SHUTDOWN_DELAY_MS). Knative's queue-proxy already drains,
	// so the default is 0.
	ShutdownDelay time.Duration
	// ShutdownTimeout bounds how long in-flight requests may take to finish.
	ShutdownTimeout time.Duration

	// PayloadLog writes a request and a response event per inference
	// request (KServe's logger's CloudEvents) to the log (PAYLOAD_LOG).
	PayloadLog bool
	// LoggerURL also POSTs every payload event there (LOGGER_URL).
	LoggerURL string
	// Hostname names this process in the info metric, so pods of one
	// version can be told apart through a load balancer; default
	// os.Hostname() (the pod name on Kubernetes).
	Hostname string
}

// Addr is the listen address built from Host and Port.
func (c Config) Addr() string {
	return net.JoinHostPort(c.Host, strconv.Itoa(c.Port))
}

// ConfigFromEnv reads the configuration through getenv (os.Getenv in main,
// a map lookup in tests). It reports every invalid variable at once, each
// error naming its variable.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	cfg := Config{
		ModelName: DefaultModelName,
		Version:   DefaultVersion,
		Port:      DefaultPort,
	}
	var errs []error
	bad := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{name}, args...)...))
	}
	get := func(name string) (string, bool) {
		v := strings.TrimSpace(getenv(name))
		return v, v != ""
	}

	// TARGET is kept verbatim: it is the answer, whitespace included.
	cfg.Target = getenv(modelapi.EnvTarget)
	if cfg.Target == "" {
		bad(modelapi.EnvTarget, "is required (the text GET / answers)")
	}
	if v, ok := get(modelapi.EnvModelName); ok {
		cfg.ModelName = v
	}
	if v, ok := get(modelapi.EnvModelVersion); ok {
		cfg.Version = v
	}
	if v, ok := get(modelapi.EnvModelBias); ok {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			bad(modelapi.EnvModelBias, "%q is not a finite number", v)
		}
		cfg.Bias = f
	}
	if v, ok := get(modelapi.EnvLatencyMS); ok {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 || f > modelapi.MaxLatencyMS || math.IsNaN(f) {
			bad(modelapi.EnvLatencyMS, "%q is not a number of milliseconds between 0 and %d", v, modelapi.MaxLatencyMS)
		}
		cfg.Latency = time.Duration(f * float64(time.Millisecond))
	}
	if v, ok := get(modelapi.EnvErrorRate); ok {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || !(f >= 0 && f <= 1) {
			bad(modelapi.EnvErrorRate, "%q is not a number between 0 and 1", v)
		}
		cfg.ErrorRate = f
	}
	if v, ok := get(modelapi.EnvRequestIDSeed); ok {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			bad(modelapi.EnvRequestIDSeed, "%q is not an unsigned 64-bit integer", v)
		}
		cfg.RequestIDSeed = n
	}
	if v, ok := get(modelapi.EnvHost); ok {
		cfg.Host = v
	}
	if v, ok := get(modelapi.EnvPort); ok {
		p, err := strconv.Atoi(v)
		if err != nil || p < 1 || p > 65535 {
			bad(modelapi.EnvPort, "%q is not a TCP port (1-65535)", v)
		}
		cfg.Port = p
	}
	if v, ok := get(modelapi.EnvDebugRingSize); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1<<20 {
			bad(modelapi.EnvDebugRingSize, "%q is not a count between 1 and 1048576", v)
		}
		cfg.RingSize = n
	}
	if v, ok := get(modelapi.EnvShutdownDelayMS); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 60_000 {
			bad(modelapi.EnvShutdownDelayMS, "%q is not a number of milliseconds between 0 and 60000", v)
		}
		cfg.ShutdownDelay = time.Duration(n) * time.Millisecond
	}
	if v, ok := get(modelapi.EnvPayloadLog); ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			bad(modelapi.EnvPayloadLog, "%q is not true or false", v)
		}
		cfg.PayloadLog = b
	}
	if v, ok := get(modelapi.EnvLoggerURL); ok {
		cfg.LoggerURL = v
	}
	if err := cfg.validatePayload(); err != nil {
		errs = append(errs, err)
	}
	// Name and version checks live in Validate so New applies them too;
	// only add the ones not already reported above.
	if err := cfg.validateTokens(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return Config{}, fmt.Errorf("invalid configuration: %w", errors.Join(errs...))
	}
	return cfg, nil
}

func (c Config) validateTokens() error {
	return errors.Join(modelapi.CheckToken(modelapi.EnvModelName, c.ModelName), modelapi.CheckToken(modelapi.EnvModelVersion, c.Version))
}

// Validate checks a Config after defaults are applied; New panics on the
// errors it returns, since they are programming errors in the caller.
func (c Config) Validate() error {
	var errs []error
	if c.Target == "" {
		errs = append(errs, errors.New("TARGET: is required (the text GET / answers)"))
	}
	if err := c.validateTokens(); err != nil {
		errs = append(errs, err)
	}
	if math.IsNaN(c.Bias) || math.IsInf(c.Bias, 0) {
		errs = append(errs, fmt.Errorf("MODEL_BIAS: %v is not finite", c.Bias))
	}
	if c.Latency < 0 {
		errs = append(errs, fmt.Errorf("LATENCY_MS: %v is negative", c.Latency))
	}
	if !(c.ErrorRate >= 0 && c.ErrorRate <= 1) {
		errs = append(errs, fmt.Errorf("ERROR_RATE: %v is not between 0 and 1", c.ErrorRate))
	}
	if c.Port < 0 || c.Port > 65535 {
		errs = append(errs, fmt.Errorf("PORT: %d is not a TCP port", c.Port))
	}
	if err := c.validatePayload(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// withDefaults fills zero optional fields.
func (c Config) withDefaults() Config {
	if c.ModelName == "" {
		c.ModelName = DefaultModelName
	}
	if c.Version == "" {
		c.Version = DefaultVersion
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.RingSize <= 0 {
		c.RingSize = DefaultRingSize
	}
	if c.ReadHeaderTimeout <= 0 {
		c.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if c.ReadTimeout <= 0 {
		c.ReadTimeout = DefaultReadTimeout
	}
	if c.WriteTimeout <= 0 {
		// The write deadline covers the injected latency too.
		c.WriteTimeout = max(DefaultWriteTimeout, c.Latency+30*time.Second)
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = DefaultShutdownTimeout
	}
	if c.Hostname == "" {
		c.Hostname, _ = os.Hostname()
	}
	return c
}

// validatePayload checks LOGGER_URL (the contract's rule).
func (c Config) validatePayload() error { return modelapi.CheckLoggerURL(c.LoggerURL, c.PayloadLog) }
