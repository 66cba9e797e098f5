# shellcheck shell=bash
# The pre-check of make up / preview / refresh / down / stack: everything the
# action needs that is not on this machine, and whether the place it comes
# from answers, all checked BEFORE anything is installed or created, and
# reported in one message that says what is missing and how to get it.
# Source it (after versions.sh, pulumi-env.sh and pulumi-cli.sh); don't run it.
#
#   preflight ACTION STACK_FILE    returns 1 after printing the message
#
# Network probes use curl (any HTTP answer counts as reachable), so they
# follow the usual proxy variables (https_proxy, ALL_PROXY).

PREFLIGHT_PROBLEMS=()

# problem TEXT : one line of the final message.
problem() { PREFLIGHT_PROBLEMS+=("$1"); }

# reachable URL : true when URL's host answers HTTP at all (even 404).
reachable() {
  curl -sS -o /dev/null -I --max-time "${PREFLIGHT_TIMEOUT:-10}" "$1" 2>/dev/null
}

# need_host WHAT URL HOW : WHAT comes from URL; when URL does not answer,
# record that WHAT is missing, where it comes from and the offline way.
need_host() {
  local what="$1" url="$2" how="$3" host
  host="${url#*://}"; host="${host%%/*}"
  reachable "$url" || problem "$what: needs $host (no answer from $url); $how"
}

# stack_says PATTERN : true when the stack file has a line matching PATTERN
# (an extended regex). The stack file is YAML; these checks only decide
# which downloads to probe, the program validates the config itself.
stack_says() { grep -Eq "$1" "$PREFLIGHT_STACK_FILE"; }

# plugin_cached NAME VERSION : the Pulumi resource plugin is installed.
plugin_cached() {
  local home="${PULUMI_HOME:-$HOME/.pulumi}"
  compgen -G "$home/plugins/resource-$1-v$2*" >/dev/null
}

# gomod_version MODULE : the version go.mod requires.
gomod_version() { awk -v m="$1" '$1==m{print $2; exit}' "$REPO_DIR/go.mod"; }

# pulumi_cli : path of the Pulumi CLI make would use, or nothing.
pulumi_cli() { command -v pulumi 2>/dev/null || true; }

# need_pinned_cli : the pinned CLI is missing (none on PATH, or another
# version); record where it comes from unless that answers.
need_pinned_cli() {
  local found="not installed" cli dir; cli="$(pulumi_cli)"; dir="$(pulumi_cli_dir)"
  [[ -n "$cli" ]] && found="$cli is $(pulumi version 2>/dev/null || echo 'of no known version')"
  need_host "the Pulumi CLI $PULUMI_CLI_VERSION ($found)" "$PULUMI_RELEASES_URL/" \
    "run hack/ci/install-pulumi.sh elsewhere (it checks the release's sha256) and copy ${dir/#"$HOME"/\~} to the same path here"
}

preflight() {
  local action="$1"
  PREFLIGHT_STACK_FILE="$2"
  PREFLIGHT_PROBLEMS=()
  local on_kind=true uses_knative=true builds_image=false
  stack_says '^[[:space:]]*type:[[:space:]]*existing' && on_kind=false
  stack_says 'strategy:[[:space:]]*shadow' && uses_knative=false
  if $on_kind; then
    stack_says '^[[:space:]]*ref:' || builds_image=true
    stack_says '^[[:space:]]*build:[[:space:]]*false' && builds_image=false
  else
    stack_says '^[[:space:]]*build:[[:space:]]*true' && builds_image=true
  fi

  # Local tools first: no download can replace them.
  command -v go >/dev/null || problem "Go 1.26: not on PATH; install it from https://go.dev/dl/"
  command -v curl >/dev/null || problem "curl: not on PATH; install it (apt-get install curl)"
  local needs_docker=false
  case "$action" in
    up) { $on_kind || $builds_image; } && needs_docker=true ;;
    down | refresh) $on_kind && needs_docker=true ;;
  esac
  if $needs_docker; then
    if ! command -v docker >/dev/null; then
      problem "Docker: the docker CLI is not on PATH; install Docker: https://docs.docker.com/get-docker/"
    elif ! docker info >/dev/null 2>&1; then
      problem "Docker: the CLI is installed but no engine answers (docker info failed); start Docker"
    fi
  fi
  if [[ ${#PREFLIGHT_PROBLEMS[@]} -gt 0 ]] && ! command -v go >/dev/null; then
    report_preflight "$action"; return 1
  fi

  # The program's Go modules (pulumi compiles it on every run).
  local err
  if ! err=$(cd "$REPO_DIR" && go list -deps ./cmd/modelrollouts 2>&1 >/dev/null); then
    problem "Go modules of the program: $(printf '%s' "$err" | grep -v '^go: downloading' | tail -n 1 | cut -c1-200); run \`go mod download\` where $(go env GOPROXY | cut -d, -f1) answers"
  fi

  # kind, from the Go module proxy.
  if $on_kind && [[ "$action" != preview ]]; then
    if [[ "$(kind version 2>/dev/null | awk '{print $2}')" != "$KIND_VERSION" ]]; then
      if ! err=$(cd "$(mktemp -d)" && GOFLAGS=-mod=mod go install -n "sigs.k8s.io/kind@$KIND_VERSION" 2>&1 >/dev/null); then
        problem "kind $KIND_VERSION: not on PATH, and \`go install sigs.k8s.io/kind@$KIND_VERSION\` cannot fetch it ($(printf '%s' "$err" | tail -n 1 | cut -c1-160)); install it where the Go module proxy answers and put it on PATH"
      fi
    fi
  fi

  # The Pulumi CLI at its pin and its Go language host.
  local cli; cli="$(pulumi_cli)"
  if [[ -z "$cli" ]] || ! pulumi_cli_is_pinned; then
    need_pinned_cli
  elif [[ ! -x "$(dirname "$cli")/pulumi-language-go" ]] && ! command -v pulumi-language-go >/dev/null; then
    problem "the Pulumi CLI at $cli has no pulumi-language-go beside it or on PATH (the CLI make tools builds has none: the module proxy does not serve it), so it cannot run this Go program; install the official CLI at its pin: hack/ci/install-pulumi.sh"
  fi

  # Resource plugins the program asks for, at go.mod's versions.
  local missing_plugins=() mod name ver
  for mod in github.com/pulumi/pulumi-kubernetes/sdk/v4:kubernetes github.com/pulumi/pulumi-command/sdk:command github.com/pulumi/pulumi-docker/sdk/v4:docker; do
    name=${mod#*:}; ver=$(gomod_version "${mod%%:*}"); ver=${ver#v}
    plugin_cached "$name" "$ver" || missing_plugins+=("$name v$ver")
  done
  if [[ ${#missing_plugins[@]} -gt 0 ]]; then
    need_host "Pulumi plugins ${missing_plugins[*]} (not in ${PULUMI_HOME:-~/.pulumi}/plugins)" https://get.pulumi.com/releases/plugins/ \
      "install them elsewhere with \`pulumi plugin install resource NAME VERSION\` and copy ~/.pulumi/plugins here"
  fi

  # Platform sources the stack downloads at preview and up.
  if ! stack_says 'chartsDir:'; then
    need_host "Istio charts" https://istio-release.storage.googleapis.com/charts/index.yaml \
      "or set platform.istio.chartsDir to a local copy of istio/manifests/charts"
  fi
  if $uses_knative && ! stack_says 'coreManifests:'; then
    need_host "Knative Serving release manifests" https://github.com/knative/serving/releases \
      "or set platform.knative.crdManifests, coreManifests and netIstioManifests to local files"
  fi

  # Images Docker pulls for up: the node image, the model's base images;
  # the cluster then pulls Istio's (docker.io) and Knative's (gcr.io).
  if [[ "$action" == up ]]; then
    if $on_kind || $builds_image; then
      need_host "container images (kind node image, golang base image, Istio images)" https://registry-1.docker.io/v2/ \
        "there is no offline way: the cluster pulls its images when it starts"
    fi
    if $uses_knative || $builds_image; then
      need_host "container images (Knative, the distroless base image)" https://gcr.io/v2/ \
        "there is no offline way: the cluster pulls its images when it starts"
    fi
  fi

  if [[ ${#PREFLIGHT_PROBLEMS[@]} -gt 0 ]]; then
    report_preflight "$action"; return 1
  fi
}

report_preflight() {
  {
    echo "ERROR: make $1 cannot run here; nothing was installed or changed. Missing (${#PREFLIGHT_PROBLEMS[@]}):"
    local p
    for p in "${PREFLIGHT_PROBLEMS[@]}"; do echo "  - $p"; done
    echo "Without these, \`make render\` and \`make review\` still work (they need only Go and its modules)."
  } >&2
}
