// Package stackedit changes canary percents in a Pulumi.<stack>.yaml the
// way a person would: it rewrites only the number of each changed
// percent, in place, so comments, key order, quoting and every other byte
// stay as they were and the review diff is the change itself. The file is
// re-read through the stacks package before anything is written, so an
// edit can never leave an invalid stack config behind.
package stackedit

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/modelrollouts/modelrollouts/stacks"
)

// SetPercents returns data with each named canary version's percent set
// as given; other versions are untouched. The result is checked to load as
// a valid stack config with exactly those percents.
func SetPercents(data []byte, percents map[string]int) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("parse stack file: %w", err)
	}
	versions, err := canaryVersions(&doc)
	if err != nil {
		return nil, err
	}
	offsets := lineOffsets(data)
	type edit struct {
		start, end int
		text       string
	}
	var edits []edit
	found := map[string]bool{}
	for _, item := range versions.Content {
		name := mapValue(item, "name")
		if name == nil {
			continue
		}
		want, ok := percents[name.Value]
		if !ok {
			continue
		}
		found[name.Value] = true
		pct := mapValue(item, "percent")
		if pct == nil || pct.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("canary version %s has no percent to change", name.Value)
		}
		start, end, err := scalarSpan(data, offsets, pct)
		if err != nil {
			return nil, fmt.Errorf("percent of %s: %w", name.Value, err)
		}
		text := strconv.Itoa(want)
		if pct.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
			q := data[start : start+1]
			text = string(q) + text + string(q)
		}
		edits = append(edits, edit{start, end, text})
	}
	for name := range percents {
		if !found[name] {
			return nil, fmt.Errorf("the stack file has no canary version named %q", name)
		}
	}
	// Apply from the end, so earlier offsets stay right.
	out := bytes.Clone(data)
	slices.SortFunc(edits, func(a, b edit) int { return a.start - b.start })
	for i := len(edits) - 1; i >= 0; i-- {
		e := edits[i]
		out = append(out[:e.start:e.start], append([]byte(e.text), out[e.end:]...)...)
	}
	if err := checkResult(out, percents); err != nil {
		return nil, err
	}
	return out, nil
}

// checkResult loads the edited file as the program would and confirms the
// percents landed: no edit may produce a config the program rejects.
func checkResult(data []byte, percents map[string]int) error {
	cfg, err := LoadBytes(data)
	if err != nil {
		return fmt.Errorf("the change would make the stack config invalid, so nothing was written: %w", err)
	}
	for name, want := range percents {
		v := cfg.Canary.Version(name)
		if v == nil || v.Percent == nil || *v.Percent != want {
			return fmt.Errorf("internal error: after the edit %s's percent is not %d", name, want)
		}
	}
	return nil
}

// LoadBytes loads a stack file's content as stacks.LoadFile does.
func LoadBytes(data []byte) (*stacks.Config, error) {
	values, err := stacks.ParseStackFile(data)
	if err != nil {
		return nil, err
	}
	cfg, err := stacks.Load(func(name string) (string, bool) {
		s, ok := values[name]
		return s, ok
	})
	if err != nil {
		return nil, err
	}
	if cfg.Canary == nil {
		return nil, errors.New("the stack has no canary config")
	}
	return cfg, nil
}

// WriteFile replaces path's content atomically, keeping its mode.
func WriteFile(path string, data []byte) error {
	mode := os.FileMode(0o644)
	if st, err := os.Stat(path); err == nil {
		mode = st.Mode().Perm()
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// canaryVersions finds config → modelrollouts:canary → versions.
func canaryVersions(doc *yaml.Node) (*yaml.Node, error) {
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, errors.New("the stack file is empty")
	}
	config := mapValue(doc.Content[0], "config")
	if config == nil {
		return nil, errors.New("the stack file has no config")
	}
	key := stacks.Namespace + ":canary"
	canary := mapValue(config, key)
	switch {
	case canary == nil:
		return nil, fmt.Errorf("the stack file has no %s", key)
	case canary.Kind != yaml.MappingNode:
		return nil, fmt.Errorf("%s is not a YAML mapping (a JSON string?): set its percents with `pulumi config set --path` instead", key)
	}
	versions := mapValue(canary, "versions")
	if versions == nil || versions.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("%s.versions is not a list", key)
	}
	return versions, nil
}

// mapValue is the value node of key in a mapping node (aliases resolved).
func mapValue(m *yaml.Node, key string) *yaml.Node {
	for m != nil && m.Kind == yaml.AliasNode {
		m = m.Alias
	}
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			v := m.Content[i+1]
			for v.Kind == yaml.AliasNode {
				v = v.Alias
			}
			return v
		}
	}
	return nil
}

func lineOffsets(data []byte) []int {
	offs := []int{0}
	for i, b := range data {
		if b == '\n' {
			offs = append(offs, i+1)
		}
	}
	return offs
}

// scalarSpan is the byte range of a scalar's token in data, from the
// node's line and column (1-based, columns in runes; our numbers are ASCII
// but earlier text on the line may not be).
func scalarSpan(data []byte, offsets []int, n *yaml.Node) (int, int, error) {
	if n.Line < 1 || n.Line > len(offsets) {
		return 0, 0, fmt.Errorf("position %d:%d is outside the file", n.Line, n.Column)
	}
	start := offsets[n.Line-1]
	for col := 1; col < n.Column; col++ {
		_, size := decodeRune(data[start:])
		start += size
	}
	if n.Style&yaml.TaggedStyle != 0 && start < len(data) && data[start] == '!' {
		// An explicit tag (percent: !!int 10) stays; the number follows it.
		for start < len(data) && !bytes.ContainsRune([]byte(" \t\r\n"), rune(data[start])) {
			start++
		}
		for start < len(data) && (data[start] == ' ' || data[start] == '\t') {
			start++
		}
	}
	end := start
	switch {
	case n.Style&yaml.DoubleQuotedStyle != 0 || n.Style&yaml.SingleQuotedStyle != 0:
		q := data[start]
		end = bytes.IndexByte(data[start+1:], q)
		if end < 0 {
			return 0, 0, errors.New("unterminated quoted scalar")
		}
		end += start + 2
	default:
		for end < len(data) && !bytes.ContainsRune([]byte(" \t\r\n,]}#"), rune(data[end])) {
			end++
		}
	}
	token := string(data[start:end])
	if unquote(token) != n.Value {
		return 0, 0, fmt.Errorf("found %q at %d:%d, want %q (aliases and multi-line scalars are not edited)", token, n.Line, n.Column, n.Value)
	}
	return start, end, nil
}

func unquote(s string) string {
	if len(s) >= 2 && (s[0] == '"' || s[0] == '\'') && s[len(s)-1] == s[0] {
		return s[1 : len(s)-1]
	}
	return s
}

func decodeRune(b []byte) (rune, int) {
	if len(b) == 0 {
		return 0, 0
	}
	r, size := utf8.DecodeRune(b)
	return r, size
}
