package server

import (
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestConfigFromEnvDefaults(t *testing.T) {
	t.Parallel()
	cfg, err := ConfigFromEnv(env(map[string]string{"TARGET": "hello world"}))
	if err != nil {
		t.Fatal(err)
	}
	want := Config{Target: "hello world", ModelName: "model-echo", Version: "v1", Port: 8080}
	if cfg != want {
		t.Fatalf("got %+v, want %+v", cfg, want)
	}
	if cfg.Addr() != ":8080" {
		t.Fatalf("Addr() = %q, want :8080 (all interfaces in the container)", cfg.Addr())
	}
}

func TestConfigFromEnvAllSet(t *testing.T) {
	t.Parallel()
	cfg, err := ConfigFromEnv(env(map[string]string{
		"TARGET": "t", "MODEL_NAME": "iris", "MODEL_VERSION": "v2.1-rc1", "MODEL_BIAS": "-0.5",
		"LATENCY_MS": "2.5", "ERROR_RATE": "0.25", "HOST": "127.0.0.1", "PORT": "9000",
		"DEBUG_RING_SIZE": "16", "SHUTDOWN_DELAY_MS": "1500",
	}))
	if err != nil {
		t.Fatal(err)
	}
	want := Config{Target: "t", ModelName: "iris", Version: "v2.1-rc1", Bias: -0.5,
		Latency: 2500 * time.Microsecond, ErrorRate: 0.25, Host: "127.0.0.1", Port: 9000,
		RingSize: 16, ShutdownDelay: 1500 * time.Millisecond}
	if cfg != want {
		t.Fatalf("got %+v, want %+v", cfg, want)
	}
	if cfg.Addr() != "127.0.0.1:9000" {
		t.Fatalf("Addr() = %q", cfg.Addr())
	}
}

func TestConfigFromEnvReportsEveryBadVariable(t *testing.T) {
	t.Parallel()
	_, err := ConfigFromEnv(env(map[string]string{
		"MODEL_NAME": "bad name", "MODEL_VERSION": "-v", "MODEL_BIAS": "NaN", "LATENCY_MS": "-1",
		"ERROR_RATE": "1.5", "PORT": "http", "DEBUG_RING_SIZE": "0", "SHUTDOWN_DELAY_MS": "x",
	}))
	if err == nil {
		t.Fatal("want an error")
	}
	for _, name := range []string{"TARGET", "MODEL_NAME", "MODEL_VERSION", "MODEL_BIAS", "LATENCY_MS",
		"ERROR_RATE", "PORT", "DEBUG_RING_SIZE", "SHUTDOWN_DELAY_MS"} {
		if !strings.Contains(err.Error(), name+":") {
			t.Errorf("error does not name %s: %v", name, err)
		}
	}
}

func TestConfigFromEnvSingleErrors(t *testing.T) {
	t.Parallel()
	cases := []struct{ name, value, want string }{
		{"TARGET", "", "TARGET: is required"},
		{"MODEL_VERSION", "v 1", "MODEL_VERSION:"},
		{"MODEL_VERSION", strings.Repeat("v", 64), "MODEL_VERSION:"},
		{"MODEL_BIAS", "1e400", "MODEL_BIAS:"},
		{"MODEL_BIAS", "abc", "MODEL_BIAS:"},
		{"ERROR_RATE", "-0.1", "ERROR_RATE:"},
		{"PORT", "70000", "PORT:"},
		{"PORT", "0", "PORT:"},
		{"LATENCY_MS", "fast", "LATENCY_MS:"},
	}
	for _, c := range cases {
		m := map[string]string{"TARGET": "t"}
		m[c.name] = c.value
		_, err := ConfigFromEnv(env(m))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s=%q: got %v, want error containing %q", c.name, c.value, err, c.want)
			continue
		}
		// Only the bad variable is reported.
		if n := strings.Count(err.Error(), ":") - 1; n != 1 {
			t.Errorf("%s=%q: expected exactly one problem, got %v", c.name, c.value, err)
		}
	}
}

func TestConfigBlankOptionalVariablesUseDefaults(t *testing.T) {
	t.Parallel()
	cfg, err := ConfigFromEnv(env(map[string]string{"TARGET": "t", "MODEL_VERSION": "  ", "PORT": ""}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Version != "v1" || cfg.Port != 8080 {
		t.Fatalf("got version %q port %d", cfg.Version, cfg.Port)
	}
}

func TestNewPanicsOnInvalidConfig(t *testing.T) {
	t.Parallel()
	defer func() {
		p := recover()
		if p == nil || !strings.Contains(p.(string), "ERROR_RATE") {
			t.Fatalf("panic = %v, want one naming ERROR_RATE", p)
		}
	}()
	New(Config{Target: "t", ErrorRate: 2}, nil)
}

func TestNewAppliesDefaults(t *testing.T) {
	t.Parallel()
	c := New(Config{Target: "t", Latency: 2 * time.Minute}, nil).Config()
	if c.ModelName != DefaultModelName || c.Version != DefaultVersion || c.RingSize != DefaultRingSize ||
		c.MaxBodyBytes != DefaultMaxBodyBytes || c.ReadHeaderTimeout != DefaultReadHeaderTimeout {
		t.Fatalf("defaults not applied: %+v", c)
	}
	if c.WriteTimeout <= c.Latency {
		t.Fatalf("WriteTimeout %v must exceed injected latency %v", c.WriteTimeout, c.Latency)
	}
}
