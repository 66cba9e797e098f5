package stacks

import (
	"errors"
	"os"
	"path/filepath"
)

// FindProjectDir walks up from start to the folder holding Pulumi.yaml,
// where the stack files live.
func FindProjectDir(start string) (string, error) {
	dir, err := filepath.Abs(start)
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "Pulumi.yaml")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no Pulumi.yaml in " + start + " or above it")
		}
		dir = parent
	}
}
