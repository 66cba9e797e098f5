#!/usr/bin/env bash
# Builds the test binary of every package of PKG... that has tests, with
# the build tags TAGS, into BINDIR, and writes BINDIR/manifest for
# netns-test-binaries.sh. Runs outside the netns (it may need the module
# proxy).
#
#   hack/integration/build-test-binaries.sh BINDIR TAGS PKG...
set -euo pipefail
bindir="$1" tags="$2"; shift 2
rm -rf "$bindir" && mkdir -p "$bindir"
: >"$bindir/manifest"
while IFS=$'\t' read -r dir path; do
  bin="$bindir/$(echo "$path" | tr '/.' '__').test"
  go test -tags "$tags" -c -o "$bin" "$path"
  printf '%s\t%s\n' "$dir" "$bin" >>"$bindir/manifest"
done < <(go list -tags "$tags" -f '{{if or .TestGoFiles .XTestGoFiles}}{{.Dir}}{{"\t"}}{{.ImportPath}}{{end}}' "$@")
