package review

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// Marker is the first line of the PR comment: the workflow finds its own
// comment by it and edits it in place instead of adding one per push.
const Marker = "<!-- modelrollouts-review -->"

// maxDiffLines bounds each stack's diff in the PR comment (GitHub caps a
// comment at 65536 characters); `make review` prints it whole.
const maxDiffLines = 300

// Markdown writes the PR comment.
func (r *Review) Markdown(w io.Writer) error {
	var b strings.Builder
	b.WriteString(Marker + "\n")
	fmt.Fprintf(&b, "## Stack review against `%s`\n\n", r.BaseLabel)
	b.WriteString(r.headline("`", "`") + "\n")
	for _, s := range r.Stacks {
		if s.Status == Unchanged {
			continue
		}
		b.WriteString("\n")
		s.markdown(&b)
	}
	b.WriteString("\n<sub>`make review FORMAT=markdown` prints this comment locally.</sub>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// headline says which stacks change and whether the check fails.
func (r *Review) headline(open, close string) string {
	by := map[Status][]string{}
	for _, s := range r.Stacks {
		by[s.Status] = append(by[s.Status], open+s.Name+close)
	}
	var parts []string
	for _, st := range []Status{Invalid, Changed, Added, Removed, Unchanged} {
		if names := by[st]; len(names) > 0 {
			parts = append(parts, fmt.Sprintf("%s: %s", st, strings.Join(names, ", ")))
		}
	}
	line := strings.Join(parts, " · ")
	if len(by[Unchanged]) == len(r.Stacks) {
		line = "No stack changes: every stack renders the same objects as at the base (" + line + ")."
	}
	if r.Failed() {
		line = "**This check fails: a stack is invalid.** " + line
	}
	return line
}

func (s Stack) markdown(b *strings.Builder) {
	icon := map[Status]string{Invalid: "❌", Changed: "✏️", Added: "➕", Removed: "➖"}[s.Status]
	fmt.Fprintf(b, "### %s `%s`: %s\n\n", icon, s.Name, s.Status)
	if s.Summary != "" {
		fmt.Fprintf(b, "%s.\n\n", capitalize(s.Summary))
	}
	if s.Status == Invalid {
		b.WriteString("The stack config is invalid; nothing would be deployed:\n\n")
		writeFenced(b, "", s.Errors)
	}
	if s.BaseNote != "" {
		fmt.Fprintf(b, "%s\n\n", s.BaseNote)
	}
	if len(s.Versions) > 0 {
		b.WriteString("| version | percent | tag URL | minScale / maxScale | mirror % | image |\n")
		b.WriteString("| --- | --- | --- | --- | --- | --- |\n")
		for _, v := range s.Versions {
			name := "`" + v.Name + "`"
			switch {
			case v.After == nil:
				name += " (removed)"
			case v.Before == nil && s.Status != Added:
				name += " (new)"
			}
			cells := []string{name}
			for _, f := range fields {
				cells = append(cells, mdCell(cell(v.Before, f), cell(v.After, f), v.Before != nil, v.After != nil))
			}
			b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
		}
		b.WriteString("\n")
	}
	if s.SmokePlan != "" && s.Status != Invalid {
		fmt.Fprintf(b, "**Smoke plan** (`make smoke STACK=%s`): %s\n\n", s.Name, s.SmokePlan)
	}
	if s.Status != Invalid && s.Status != Removed {
		b.WriteString("**pulumi preview**: " + s.Preview.markdown() + "\n\n")
	}
	if strings.TrimSpace(s.Diff) != "" {
		lines := strings.Split(strings.TrimRight(s.Diff, "\n"), "\n")
		add, del := diffCounts(lines)
		fmt.Fprintf(b, "<details><summary>Object diff (`make review`): +%d −%d lines</summary>\n\n", add, del)
		shown := lines
		if len(shown) > maxDiffLines {
			shown = shown[:maxDiffLines]
		}
		writeFenced(b, "diff", strings.Join(shown, "\n"))
		if len(lines) > maxDiffLines {
			fmt.Fprintf(b, "%d more lines: run `make review` for the whole diff.\n\n", len(lines)-maxDiffLines)
		}
		b.WriteString("</details>\n")
	}
}

// fields are the table's columns after the version name.
var fields = []func(VersionFacts) string{
	func(f VersionFacts) string { return f.Percent },
	func(f VersionFacts) string { return f.TagURL },
	func(f VersionFacts) string { return f.Scale },
	func(f VersionFacts) string { return f.Mirror },
	func(f VersionFacts) string { return f.Image },
}

// cell is one column of a version's facts; empty when the version is absent.
func cell(f *VersionFacts, column func(VersionFacts) string) string {
	if f == nil {
		return ""
	}
	return column(*f)
}

// mdCell is "after", or "before → **after**" when the value changes.
func mdCell(before, after string, hadBefore, hasAfter bool) string {
	switch {
	case !hasAfter:
		return "~~" + escapeCell(before) + "~~"
	case !hadBefore || before == after:
		return escapeCell(after)
	default:
		return escapeCell(before) + " → **" + escapeCell(after) + "**"
	}
}

func escapeCell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

func (p Preview) markdown() string {
	if !p.Ran || p.Counts == nil {
		return p.Note
	}
	s := countsLine(p.Counts)
	if len(p.Changes) > 0 {
		s += ": " + "`" + strings.Join(p.Changes, "`, `") + "`"
	}
	return s + "."
}

func countsLine(counts map[string]int) string {
	// Changes first, in the order Pulumi prints them; "same" last.
	rank := map[string]int{"create": 0, "update": 1, "replace": 2, "create-replacement": 3, "delete-replaced": 4, "delete": 5, "same": 9}
	ops := make([]string, 0, len(counts))
	for op := range counts {
		ops = append(ops, op)
	}
	sort.Slice(ops, func(i, j int) bool {
		ri, okI := rank[ops[i]]
		rj, okJ := rank[ops[j]]
		if !okI {
			ri = 8
		}
		if !okJ {
			rj = 8
		}
		if ri != rj {
			return ri < rj
		}
		return ops[i] < ops[j]
	})
	var parts []string
	for _, op := range ops {
		parts = append(parts, fmt.Sprintf("%d to %s", counts[op], op))
	}
	return strings.Join(parts, ", ")
}

func diffCounts(lines []string) (add, del int) {
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, "+++"), strings.HasPrefix(l, "---"):
		case strings.HasPrefix(l, "+"):
			add++
		case strings.HasPrefix(l, "-"):
			del++
		}
	}
	return add, del
}

// writeFenced writes a code block whose fence is longer than any run of
// backticks in the text, so no content can close it early.
func writeFenced(b *strings.Builder, lang, text string) {
	fence := "```"
	for strings.Contains(text, fence) {
		fence += "`"
	}
	fmt.Fprintf(b, "%s%s\n%s\n%s\n\n", fence, lang, strings.TrimRight(text, "\n"), fence)
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// Text writes the review for a terminal (`make review`).
func (r *Review) Text(w io.Writer) error {
	var b strings.Builder
	for _, s := range r.Stacks {
		switch s.Status {
		case Unchanged:
			fmt.Fprintf(&b, "### stack %s: no change\n", s.Name)
			continue
		case Invalid:
			fmt.Fprintf(&b, "### stack %s: INVALID\n%s\n", s.Name, s.Errors)
		case Removed:
			fmt.Fprintf(&b, "### stack %s: removed against %s\n", s.Name, r.BaseLabel)
		case Added:
			fmt.Fprintf(&b, "### stack %s: new against %s\n", s.Name, r.BaseLabel)
		default:
			fmt.Fprintf(&b, "### stack %s: changes against %s\n", s.Name, r.BaseLabel)
		}
		if s.Summary != "" {
			fmt.Fprintf(&b, "%s\n", capitalize(s.Summary))
		}
		if s.BaseNote != "" {
			fmt.Fprintf(&b, "%s\n", s.BaseNote)
		}
		if len(s.Versions) > 0 {
			rows := [][]string{{"version", "percent", "tag URL", "min/maxScale", "mirror", "image"}}
			for _, v := range s.Versions {
				row := []string{v.Name}
				for _, f := range fields {
					row = append(row, textCell(cell(v.Before, f), cell(v.After, f), v.Before != nil, v.After != nil))
				}
				rows = append(rows, row)
			}
			writeAligned(&b, rows)
		}
		if s.SmokePlan != "" && s.Status != Invalid {
			fmt.Fprintf(&b, "smoke plan: %s\n", s.SmokePlan)
		}
		if s.Status != Invalid && s.Status != Removed {
			fmt.Fprintf(&b, "pulumi preview: %s\n", strings.ReplaceAll(s.Preview.markdown(), "`", ""))
		}
		if strings.TrimSpace(s.Diff) != "" {
			b.WriteString(strings.TrimRight(s.Diff, "\n") + "\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func textCell(before, after string, hadBefore, hasAfter bool) string {
	switch {
	case !hasAfter:
		return before + " -> (removed)"
	case !hadBefore || before == after:
		return after
	default:
		return before + " -> " + after
	}
}

func writeAligned(b *strings.Builder, rows [][]string) {
	widths := make([]int, len(rows[0]))
	for _, r := range rows {
		for i, c := range r {
			widths[i] = max(widths[i], len([]rune(c)))
		}
	}
	for _, r := range rows {
		var line strings.Builder
		for i, c := range r {
			line.WriteString(c)
			if i < len(r)-1 {
				line.WriteString(strings.Repeat(" ", widths[i]-len([]rune(c))+2))
			}
		}
		b.WriteString("  " + strings.TrimRight(line.String(), " ") + "\n")
	}
}
