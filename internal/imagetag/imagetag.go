// Package imagetag derives an image tag from the files a Docker build
// sends, so the tag changes exactly when the image's inputs do. Knative
// makes a new revision only when the template changes, and locally loaded
// images are never resolved to digests, so a fixed tag such as "latest"
// would never roll out a rebuilt model.
package imagetag

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// FromContext hashes every file of a build context that its .dockerignore
// (read with Docker's own rules) lets through, by path and content, in a
// stable order, into a 12-hex-digit tag.
func FromContext(contextDir string) (string, error) {
	return FromBuild(contextDir, "")
}

// FromBuild is FromContext for a build with its own Dockerfile: as
// BuildKit (and pulumi-docker) do, a <Dockerfile>.dockerignore beside it
// replaces the context's .dockerignore, so two images can share one
// context and each change only with its own inputs.
func FromBuild(contextDir, dockerfile string) (string, error) {
	ignoreFile := filepath.Join(contextDir, ".dockerignore")
	if dockerfile != "" {
		if _, err := os.Stat(dockerfile + ".dockerignore"); err == nil {
			ignoreFile = dockerfile + ".dockerignore"
		}
	}
	patterns, err := readDockerignore(ignoreFile)
	if err != nil {
		return "", err
	}
	matcher, err := patternmatcher.New(patterns)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", ignoreFile, err)
	}
	h := sha256.New()
	// WalkDir visits files in lexical order: the hash is stable.
	err = filepath.WalkDir(contextDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(contextDir, path)
		if err != nil || rel == "." {
			return err
		}
		rel = filepath.ToSlash(rel)
		excluded, err := matcher.MatchesOrParentMatches(rel)
		if err != nil {
			return err
		}
		if excluded {
			// A directory may still hold re-included files ("!dir/file").
			if d.IsDir() && !matcher.Exclusions() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		return hashFile(h, rel, path)
	})
	if err != nil {
		return "", fmt.Errorf("hash the build context: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil))[:12], nil
}

func readDockerignore(path string) ([]string, error) {
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ignorefile.ReadAll(f)
}

func hashFile(h io.Writer, rel, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fmt.Fprintf(h, "%s\x00", rel)
	if _, err := io.Copy(h, f); err != nil {
		return err
	}
	_, err = h.Write([]byte{0})
	return err
}
