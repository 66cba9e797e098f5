#!/usr/bin/env bash
# Installs the Pulumi CLI at hack/lib/versions.sh's pin, verified by its
# sha256 (hack/lib/pulumi-cli.sh), even when the runner already has
# another version, and puts it first on the job's PATH.
#
#   hack/ci/install-pulumi.sh      prints the CLI's folder; appends it to $GITHUB_PATH
set -euo pipefail
HACK_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=hack/lib/versions.sh
source "$HACK_DIR/lib/versions.sh"
# shellcheck source=hack/lib/pulumi-cli.sh
source "$HACK_DIR/lib/pulumi-cli.sh"

install_pulumi_cli
dir="$(pulumi_cli_dir)"
if [[ -n "${GITHUB_PATH:-}" ]]; then
  echo "$dir" >>"$GITHUB_PATH"
fi
echo "$dir"
