package agent

import (
	"strings"
	"testing"

	"github.com/modelrollouts/modelrollouts/model-echo/modelapi"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestConfigFromEnvReadsTheContractsVariables(t *testing.T) {
	cfg, err := ConfigFromEnv(env(map[string]string{
		modelapi.EnvModelUpstream: "127.0.0.1:8081", modelapi.EnvModelReadinessPath: "/healthz",
		modelapi.EnvModelVersion: "v2", modelapi.EnvModelName: "iris", modelapi.EnvPort: "9000",
		modelapi.EnvPayloadLog: "true", modelapi.EnvLoggerURL: "http://sink:8080",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Upstream != "127.0.0.1:8081" || cfg.ReadinessPath != "/healthz" || cfg.Version != "v2" || cfg.ModelName != "iris" ||
		cfg.Port != 9000 || !cfg.PayloadLog || cfg.LoggerURL != "http://sink:8080" {
		t.Errorf("config %+v", cfg)
	}
	if _, err := ConfigFromEnv(env(map[string]string{modelapi.EnvModelUpstream: "http://127.0.0.1:8081"})); err != nil {
		t.Errorf("an http URL upstream: %v", err)
	}
}

func TestConfigFromEnvNamesEveryBadVariable(t *testing.T) {
	_, err := ConfigFromEnv(env(map[string]string{
		modelapi.EnvModelReadinessPath: "healthz", modelapi.EnvPort: "80800",
		modelapi.EnvPayloadLog: "yes please", modelapi.EnvLoggerURL: "sink", modelapi.EnvModelVersion: "v 2",
	}))
	if err == nil {
		t.Fatal("no error")
	}
	for _, name := range []string{modelapi.EnvModelUpstream, modelapi.EnvModelReadinessPath, modelapi.EnvPort,
		modelapi.EnvPayloadLog, modelapi.EnvLoggerURL, modelapi.EnvModelVersion} {
		if !strings.Contains(err.Error(), name+":") {
			t.Errorf("error does not name %s:\n%v", name, err)
		}
	}
	for _, bad := range []string{"https://127.0.0.1:8081", "127.0.0.1:8081/v2", "127.0.0.1:0", "ftp://x:1"} {
		if _, err := ConfigFromEnv(env(map[string]string{modelapi.EnvModelUpstream: bad})); err == nil || !strings.Contains(err.Error(), modelapi.EnvModelUpstream) {
			t.Errorf("upstream %q: %v, want an error naming %s", bad, err, modelapi.EnvModelUpstream)
		}
	}
}
