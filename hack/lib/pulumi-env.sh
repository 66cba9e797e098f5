# shellcheck shell=bash
# Source it (make's lab targets do; so can you, before running the Pulumi
# CLI yourself): a local file backend in the project, no Pulumi account, and
# the lab's passphrase for stack secrets (the kind kubeconfig). Override
# PULUMI_BACKEND_URL / PULUMI_CONFIG_PASSPHRASE to use your own backend or
# secrets. The lab's passphrase is public: a stack on an existing cluster
# must not use it (refuse_lab_passphrase below; the program checks too).
#
#   source hack/lib/pulumi-env.sh
REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# The same value as infra.LabPassphrase (a test keeps them equal).
MODELROLLOUTS_LAB_PASSPHRASE=modelrollouts-lab
export PULUMI_BACKEND_URL="${PULUMI_BACKEND_URL:-file://$REPO_DIR/.pulumi-state}"
export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE-$MODELROLLOUTS_LAB_PASSPHRASE}"
export PULUMI_SKIP_UPDATE_CHECK=true
GOBIN_DIR="$(go env GOPATH 2>/dev/null || echo "$HOME/go")/bin"
# The pinned CLI (hack/lib/pulumi-cli.sh installs it there) comes before
# any other Pulumi CLI the machine has.
PINNED_PULUMI_DIR="${MODELROLLOUTS_PULUMI_DIR:-$HOME/.cache/modelrollouts/pulumi}/$(sed -n 's/^PULUMI_CLI_VERSION=//p' "$REPO_DIR/hack/lib/versions.sh")/bin"
export PATH="$PINNED_PULUMI_DIR:$HOME/.pulumi/bin:$GOBIN_DIR:$PATH"
mkdir -p "$REPO_DIR/.pulumi-state"

# refuse_lab_passphrase STACK_FILE : fails, saying what to do, when the
# stack runs on an existing cluster and its secrets would be keyed with the
# lab's passphrase: the passphrase provider (no other secretsprovider in
# the file) with PULUMI_CONFIG_PASSPHRASE (or the _FILE) set to it. A stack
# without a salt on the Pulumi Cloud backend uses the service's keys.
refuse_lab_passphrase() {
  local file="$1" provider phrase
  grep -Eq '^[[:space:]]*type:[[:space:]]*existing' "$file" || return 0
  provider="$(sed -n 's/^secretsprovider:[[:space:]]*//p' "$file")"
  [[ -z "$provider" || "$provider" == passphrase ]] || return 0
  if [[ -n "${PULUMI_CONFIG_PASSPHRASE+set}" ]]; then
    phrase="$PULUMI_CONFIG_PASSPHRASE"
  elif [[ -n "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]]; then
    phrase="$(tr -d '[:space:]' <"$PULUMI_CONFIG_PASSPHRASE_FILE")"
  fi
  [[ "${phrase:-}" == "$MODELROLLOUTS_LAB_PASSPHRASE" ]] || return 0
  if ! grep -q '^encryptionsalt:' "$file" && [[ "$PULUMI_BACKEND_URL" == https://* ]]; then
    return 0
  fi
  {
    echo "ERROR: ${file##*/} runs on an existing cluster (cluster.type: existing), but its secrets would be encrypted"
    echo "       with the lab's public passphrase ($MODELROLLOUTS_LAB_PASSPHRASE, this file's default). Either:"
    echo "  - export PULUMI_CONFIG_PASSPHRASE=<a passphrase of your own> (for a stack already keyed with the lab's,"
    echo "    then: pulumi stack change-secrets-provider --stack STACK passphrase), or"
    echo "  - move the stack to a secrets provider: pulumi stack change-secrets-provider --stack STACK awskms://...|gcpkms://...|azurekeyvault://...|hashivault://..."
    echo "  (docs/github.md, \"Secrets of a stack on an existing cluster\")"
  } >&2
  return 1
}
