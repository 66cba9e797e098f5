package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRunRefusesAnInvalidStackBeforeRendering(t *testing.T) {
	dir := t.TempDir()
	pulumiYAML, err := os.ReadFile("../../Pulumi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "Pulumi.yaml"), pulumiYAML, 0o644)
	bad := "config:\n  modelrollouts:strategy: canary\n  modelrollouts:canary:\n    versions:\n      - {name: v1, target: a, percent: 60}\n"
	os.WriteFile(filepath.Join(dir, "Pulumi.bad.yaml"), []byte(bad), 0o644)
	err = run("bad", dir)
	if err == nil || !strings.Contains(err.Error(), "percents sum to 60, want 100") {
		t.Fatalf("run = %v, want the validation error", err)
	}
}

func TestRunNamesAMissingStackFile(t *testing.T) {
	err := run("nope", t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "Pulumi.nope.yaml") {
		t.Fatalf("run = %v, want an error naming Pulumi.nope.yaml", err)
	}
}
