// Package imagetag derives an image tag from the files an image is built
// from, so the tag changes exactly when the sources do. Knative makes a new
// revision only when the template changes, and locally loaded images are
// never resolved to digests, so a fixed tag such as "latest" would never
// roll out a rebuilt model.
package imagetag

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
)

// FromSources hashes the named files and folders under root (their paths
// and contents, in a stable order) into a 12-hex-digit tag.
func FromSources(root string, paths ...string) (string, error) {
	var files []string
	for _, p := range paths {
		err := filepath.WalkDir(filepath.Join(root, p), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.Type().IsRegular() {
				files = append(files, path)
			}
			return nil
		})
		if err != nil {
			return "", fmt.Errorf("hash image sources: %w", err)
		}
	}
	sort.Strings(files)
	h := sha256.New()
	for _, path := range files {
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s\x00", filepath.ToSlash(rel))
		f, err := os.Open(path)
		if err != nil {
			return "", fmt.Errorf("hash image sources: %w", err)
		}
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return "", fmt.Errorf("hash image sources: %w", err)
		}
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:12], nil
}
