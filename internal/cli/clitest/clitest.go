// Package clitest checks a tool's -h output against the convention of
// package cli, for the tests of every tool.
package clitest

import (
	"regexp"
	"strings"
)

// leaked are flags that dependencies register on the global FlagSet
// (glog through the Pulumi SDK, klog, the testing package): none may
// reach a tool's help.
var leaked = []string{
	"alsologtostderr", "log_dir", "logtostderr", "stderrthreshold", "v", "vmodule",
	"log_backtrace_at", "log_link", "logbuflevel", "log_file", "log_file_max_size",
	"add_dir_header", "skip_headers", "skip_log_headers", "one_output", "test.v", "test.run",
}

var flagLine = regexp.MustCompile(`(?m)^  -([A-Za-z0-9_.-]+)`)

// Flags are the flag names a help text lists.
func Flags(help string) []string {
	var names []string
	for _, m := range flagLine.FindAllStringSubmatch(help, -1) {
		names = append(names, m[1])
	}
	return names
}

// Problems lists how help (what `TOOL -h` printed on stdout) breaks the
// convention; none means it follows it.
func Problems(name, help string) []string {
	var p []string
	first, _, _ := strings.Cut(help, "\n")
	if !strings.HasPrefix(first, name+": ") || len(strings.TrimPrefix(first, name+": ")) < 10 {
		p = append(p, "the first line is not \""+name+": <one-line summary>\": "+first)
	}
	for _, section := range []string{"\nusage: " + name, "\nflags:\n", "\nexamples:\n  ", "\nexit status:\n  0  "} {
		if !strings.Contains(help, section) {
			p = append(p, "no "+strings.TrimSpace(strings.SplitN(section, ":", 2)[0])+" section ("+strings.TrimSpace(section)+")")
		}
	}
	for _, f := range Flags(help) {
		for _, l := range leaked {
			if f == l {
				p = append(p, "lists -"+f+", a flag leaked from a dependency")
			}
		}
	}
	if strings.Contains(help, "deprecated") {
		p = append(p, "lists a deprecated alias")
	}
	return p
}
