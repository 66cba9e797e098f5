package main

import (
	"encoding/json"
	"io"
	"strings"

	"github.com/modelrollouts/modelrollouts/internal/stackedit"
)

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func writeFileKeepMode(path string, data []byte) error { return stackedit.WriteFile(path, data) }

// shellJoin quotes args for a command line a reader can paste.
func shellJoin(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		if a != "" && !strings.ContainsAny(a, " \t\n'\"\\$`&|;<>()*?[]{}!#~") {
			out[i] = a
			continue
		}
		out[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(out, " ")
}
