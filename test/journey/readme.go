package journey

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// A Block is one command block of the README that a journey runs: the
// ```sh fence right after a `<!-- journey: NAME -->` line.
type Block struct {
	Name  string
	Line  int      // the fence's line number in the file
	Lines []string // the commands, joined across trailing backslashes
}

// Documents are the files whose tagged blocks the journeys run, relative
// to the repository: the README, and the example's for the byo journey.
var Documents = []string{"README.md", "examples/sklearn-iris/README.md"}

// ReadDocuments returns the tagged blocks of every file of Documents
// under root by name; a name may be used once across them.
func ReadDocuments(root string) (map[string]Block, error) {
	all := map[string]Block{}
	for _, doc := range Documents {
		blocks, err := ReadBlocks(filepath.Join(root, doc))
		if err != nil {
			return nil, err
		}
		for name, b := range blocks {
			if _, dup := all[name]; dup {
				return nil, fmt.Errorf("%s: block %q is also tagged in another of %v", doc, name, Documents)
			}
			all[name] = b
		}
	}
	return all, nil
}

var marker = regexp.MustCompile(`^<!-- journey: ([a-z0-9-]+) -->$`)

// ReadBlocks returns the tagged blocks of a Markdown file by name.
func ReadBlocks(path string) (map[string]Block, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	blocks := map[string]Block{}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	n := 0
	var cur *Block
	pending := ""
	cont := ""
	for sc.Scan() {
		n++
		line := sc.Text()
		switch {
		case cur != nil && strings.TrimSpace(line) == "```":
			if cont != "" {
				return nil, fmt.Errorf("%s:%d: block %s ends inside a continued line", path, n, cur.Name)
			}
			blocks[cur.Name] = *cur
			cur = nil
		case cur != nil:
			text := strings.TrimRight(line, " \t")
			if strings.HasSuffix(text, `\`) {
				cont += strings.TrimSuffix(text, `\`)
				continue
			}
			cur.Lines = append(cur.Lines, cont+text)
			cont = ""
		case pending != "":
			if line != "```sh" {
				return nil, fmt.Errorf("%s:%d: the line after <!-- journey: %s --> must open a ```sh block", path, n, pending)
			}
			if _, dup := blocks[pending]; dup {
				return nil, fmt.Errorf("%s:%d: a second block named %s", path, n, pending)
			}
			cur = &Block{Name: pending, Line: n}
			pending = ""
		default:
			if m := marker.FindStringSubmatch(strings.TrimSpace(line)); m != nil {
				pending = m[1]
			}
		}
	}
	if cur != nil || pending != "" {
		return nil, fmt.Errorf("%s: a journey block is not closed", path)
	}
	return blocks, sc.Err()
}

// Command is a block's line that starts with prefix (after spaces), as
// typed: the comment after the command is kept (the shell ignores it).
func (b Block) Command(prefix string) (string, error) {
	var found []string
	for _, l := range b.Lines {
		if strings.HasPrefix(strings.TrimSpace(l), prefix) {
			found = append(found, strings.TrimSpace(l))
		}
	}
	if len(found) != 1 {
		return "", fmt.Errorf("README block %s (line %d): %d lines start with %q, want 1: %q", b.Name, b.Line, len(found), prefix, b.Lines)
	}
	return found[0], nil
}

// Commands are the block's lines that are not only comments.
func (b Block) Commands() []string {
	var out []string
	for _, l := range b.Lines {
		if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "#") {
			out = append(out, t)
		}
	}
	return out
}
