#!/usr/bin/env bash
# Builds the test binary of every package of PKG... that has tests, with
# the build tags TAGS, into BINDIR, and writes BINDIR/manifest for
# netns-test-binaries.sh. Runs outside the netns (it may need the module
# proxy).
#
#   hack/integration/build-test-binaries.sh BINDIR TAGS PKG...
#
# One `go test -c` for all of them, so Go links them in parallel (-p);
# it names each binary after its package, so those names must differ.
set -euo pipefail
bindir="$1" tags="$2"; shift 2
rm -rf "$bindir" && mkdir -p "$bindir"
: >"$bindir/manifest"
pkgs=()
while IFS=$'\t' read -r dir path name; do
  if grep -q "/$name.test\$" "$bindir/manifest"; then
    echo "build-test-binaries: two packages named $name: go test -c would write both to $name.test" >&2
    exit 1
  fi
  pkgs+=("$path")
  printf '%s\t%s\n' "$dir" "$bindir/$name.test" >>"$bindir/manifest"
done < <(go list -tags "$tags" -f '{{if or .TestGoFiles .XTestGoFiles}}{{.Dir}}{{"\t"}}{{.ImportPath}}{{"\t"}}{{.Name}}{{end}}' "$@")
if [[ ${#pkgs[@]} -gt 0 ]]; then
  go test -tags "$tags" -c -o "$bindir/" "${pkgs[@]}"
fi
