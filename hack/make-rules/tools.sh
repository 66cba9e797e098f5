#!/usr/bin/env bash
# Builds (or reuses) every binary the integration tier and the linters need,
# from the Go module proxy only (shellcheck: the Debian package), and writes
# $TOOLS_DIR/env.sh with absolute paths.
#
#   hack/make-rules/tools.sh               build what is missing, write env.sh
#   hack/make-rules/tools.sh --print       only print the env file path (no builds)
#   hack/make-rules/tools.sh --background  start that build at idle CPU priority
#                                          and return at once (make test does,
#                                          first; its log: $TOOLS_DIR/background.log)
#
# One build at a time: a run waits for the one holding $TOOLS_DIR/.build.lock
# (the background build make test started), then builds only what is still
# missing, so a failed background build is built again, in the open.
#
# Binaries are cached OUTSIDE the repo, keyed by version:
#   ${MODELROLLOUTS_TOOLS_DIR:-$HOME/.cache/modelrollouts/tools}/<tool>/<version>/
# A cold run takes ~30 min on 2 cores; a warm run only checks files.
# Must run OUTSIDE the private network namespace (it needs the module proxy).
set -euo pipefail

HACK_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REPO_DIR="$(cd "$HACK_DIR/.." && pwd)"
# shellcheck source=hack/lib/versions.sh
source "$HACK_DIR/lib/versions.sh"
TOOLS_DIR="${MODELROLLOUTS_TOOLS_DIR:-$HOME/.cache/modelrollouts/tools}"
SRC_DIR="$TOOLS_DIR/.src"   # throwaway wrapper modules, one per tool+version

# Every version is pinned in hack/lib/versions.sh.

# The provider binary is stamped with the version the Go SDK in go.mod asks
# for, so the engine resolves the SDK's plugin request to this binary instead
# of trying to download one. Override with PULUMI_K8S_PROVIDER_VERSION.
sdk_ver="$(awk '$1=="github.com/pulumi/pulumi-kubernetes/sdk/v4"{print $2; exit}' "$REPO_DIR/go.mod" 2>/dev/null || true)"
PROVIDER_VERSION="${PULUMI_K8S_PROVIDER_VERSION:-${sdk_ver#v}}"
PROVIDER_VERSION="${PROVIDER_VERSION:-4.32.0}"

# Keep the build inside 2 cores / 24 GiB; static binaries, no VCS stamping.
export CGO_ENABLED=0 GOFLAGS="-mod=mod -buildvcs=false" GOTOOLCHAIN="${GOTOOLCHAIN:-local}"
GO_BUILD_FLAGS=(-p "${TOOLS_BUILD_P:-2}" -trimpath)

log() { printf '[tools] %s\n' "$*" >&2; }
die() { printf '[tools] ERROR: %s\n' "$*" >&2; exit 1; }

# stage NAME CMD... : runs CMD and prints its wall time.
STAGE_TIMES=()
stage() {
  local name="$1"; shift
  local t0 t1
  t0=$(date +%s.%N)
  "$@"
  t1=$(date +%s.%N)
  local dt; dt=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}')
  STAGE_TIMES+=("$(printf '%-22s %8ss' "$name" "$dt")")
  log "stage $name: ${dt}s"
}

# have_all DIR BIN... : true when every BIN exists and is executable in DIR.
have_all() {
  local d="$1"; shift
  local b
  for b in "$@"; do [[ -x "$d/$b" ]] || return 1; done
}

# new_wrapper NAME : fresh wrapper module dir; prints its path.
new_wrapper() {
  local w="$SRC_DIR/$1"
  rm -rf "$w"; mkdir -p "$w"
  printf 'module modelrollouts.local/tools/%s\n\ngo 1.26\n' "$1" >"$w/go.mod"
  echo "$w"
}

# moddir MOD@VER : download (or reuse) a module and print its directory.
moddir() {
  local out
  out=$(go mod download -json "$1" 2>&1) || { printf '%s\n' "$out" >&2; return 1; }
  printf '%s\n' "$out" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p'
}

ensure_debs() {
  local missing=() cmd pkg
  for pair in unshare:util-linux ip:iproute2 nsenter:util-linux shellcheck:shellcheck; do
    cmd=${pair%%:*}; pkg=${pair#*:}
    command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg")
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  [[ $(id -u) -eq 0 ]] || die "missing Debian packages ${missing[*]} (run as root to install)"
  log "installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

build_pulumi() {
  local out="$TOOLS_DIR/pulumi/$PULUMI_VERSION"
  # bin/pulumi so Automation API's NewPulumiCommand(Root: $out) finds it.
  have_all "$out/bin" pulumi && { log "pulumi $PULUMI_VERSION: cached"; return; }
  log "pulumi $PULUMI_VERSION: building"
  local w; w=$(new_wrapper "pulumi-$PULUMI_VERSION")
  # pkg's go.mod has one non-local replace that must be repeated here.
  (cd "$w" &&
    go mod edit -replace=github.com/atotto/clipboard=github.com/tgummerer/clipboard@v0.0.0-20241001131231-d02d263e614e &&
    go get "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi@$PULUMI_VERSION" "github.com/pulumi/pulumi/sdk/v3@$PULUMI_VERSION" &&
    go build "${GO_BUILD_FLAGS[@]}" -o "$w/bin/pulumi" \
      -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION" \
      github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)
  mkdir -p "$out/bin"; mv "$w/bin/pulumi" "$out/bin/pulumi"
}

build_provider() {
  local out="$TOOLS_DIR/pulumi-kubernetes/$PROVIDER_VERSION@$PROVIDER_MODVER"
  have_all "$out" pulumi-resource-kubernetes && { log "pulumi-resource-kubernetes $PROVIDER_VERSION: cached"; return; }
  log "pulumi-resource-kubernetes $PROVIDER_VERSION (from provider/v4@$PROVIDER_MODVER): building"
  local mod=github.com/pulumi/pulumi-kubernetes/provider/v4
  local src; src=$(moddir "$mod@$PROVIDER_MODVER")
  local w; w=$(new_wrapper "provider-$PROVIDER_VERSION-$PROVIDER_MODVER")
  # The module zip lacks the go:embed files that `go generate` writes, so
  # copy it somewhere writable and run its own generator there.
  cp -r "$src" "$w/provider"; chmod -R u+w "$w/provider"
  mkdir -p "$w/gen"
  sed '/^\/\/go:build ignore/d;/^\/\/ +build ignore/d' \
    "$w/provider/cmd/pulumi-resource-kubernetes/generate.go" >"$w/gen/main.go"
  (cd "$w" &&
    go mod edit -require="$mod@$PROVIDER_MODVER" -replace="$mod=./provider" &&
    go get "$mod/cmd/pulumi-resource-kubernetes" &&
    go build "${GO_BUILD_FLAGS[@]}" -o "$w/bin/gen" ./gen &&
    (cd provider/cmd/pulumi-resource-kubernetes && VERSION="$PROVIDER_VERSION" "$w/bin/gen") &&
    go build "${GO_BUILD_FLAGS[@]}" -o "$w/bin/pulumi-resource-kubernetes" \
      -ldflags "-s -w -X $mod/pkg/version.Version=$PROVIDER_VERSION" \
      "$mod/cmd/pulumi-resource-kubernetes")
  mkdir -p "$out"; mv "$w/bin/pulumi-resource-kubernetes" "$out/"
  echo "$mod@$PROVIDER_MODVER" >"$out/SOURCE"
}

# build_cluster_tools: kube-apiserver, kube-controller-manager,
# kube-scheduler, kubectl, etcd and kwok from one wrapper module and one
# `go build`, so the Kubernetes libraries, etcd's client and gRPC they share
# compile once (kwok's k8s.io/* and etcd's client are raised to the ones
# Kubernetes uses: one version of each in one build). Separately they
# compiled those three times.
build_cluster_tools() {
  local kdir="$TOOLS_DIR/kubernetes/$KUBERNETES_VERSION" edir="$TOOLS_DIR/etcd/$ETCD_VERSION" wdir="$TOOLS_DIR/kwok/$KWOK_VERSION"
  local bins=(kube-apiserver kube-controller-manager kube-scheduler kubectl)
  if have_all "$kdir" "${bins[@]}" && have_all "$edir" etcd && have_all "$wdir" kwok kwokctl; then
    log "kubernetes $KUBERNETES_VERSION, etcd $ETCD_VERSION, kwok $KWOK_VERSION: cached"; return
  fi
  log "kubernetes $KUBERNETES_VERSION (${bins[*]}), etcd $ETCD_VERSION, kwok $KWOK_VERSION: building"
  local w; w=$(new_wrapper "cluster-$KUBERNETES_VERSION-$ETCD_VERSION-$KWOK_VERSION")
  local gomod; gomod=$(go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')
  # k8s.io/kubernetes requires its staging repos as v0.0.0 (replaced to
  # ./staging upstream); point each at the matching published v0.X.Y.
  local staging="v0${KUBERNETES_VERSION#v1}" r args=()
  while IFS= read -r r; do
    args+=("-replace=$r=$r@$staging")
  done < <(awk '$1 ~ /^k8s\.io\// && $2=="v0.0.0"{print $1}' "$gomod" | sort -u)
  local minor; minor=$(echo "$KUBERNETES_VERSION" | cut -d. -f2)
  local v=k8s.io/component-base/version
  local ld="-s -w -X $v.gitVersion=$KUBERNETES_VERSION -X $v.gitMajor=1 -X $v.gitMinor=$minor"
  ld+=" -X $v.gitTreeState=clean -X $v.buildDate=1970-01-01T00:00:00Z"
  ld+=" -X k8s.io/client-go/pkg/version.gitVersion=$KUBERNETES_VERSION -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=$minor"
  local pkgs=() b
  for b in "${bins[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$b"); done
  (cd "$w" &&
    go mod edit "${args[@]}" &&
    go get "${pkgs[@]/%/@$KUBERNETES_VERSION}" "go.etcd.io/etcd/server/v3@$ETCD_VERSION" \
      "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION" "sigs.k8s.io/kwok/cmd/kwokctl@$KWOK_VERSION" &&
    go build "${GO_BUILD_FLAGS[@]}" -o "$w/bin/" -ldflags "$ld" "${pkgs[@]}" \
      go.etcd.io/etcd/server/v3 sigs.k8s.io/kwok/cmd/kwok sigs.k8s.io/kwok/cmd/kwokctl)
  mkdir -p "$kdir" "$edir" "$wdir"
  for b in "${bins[@]}"; do mv "$w/bin/$b" "$kdir/"; done
  mv "$w/bin/server" "$edir/etcd" # go build names go.etcd.io/etcd/server/v3 "server"
  mv "$w/bin/kwok" "$w/bin/kwokctl" "$wdir/"
}

build_actionlint() {
  local out="$TOOLS_DIR/actionlint/$ACTIONLINT_VERSION"
  have_all "$out" actionlint && { log "actionlint $ACTIONLINT_VERSION: cached"; return; }
  log "actionlint $ACTIONLINT_VERSION: building"
  local w; w=$(new_wrapper "actionlint-$ACTIONLINT_VERSION")
  (cd "$w" &&
    go get "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION" &&
    go build "${GO_BUILD_FLAGS[@]}" -o "$w/bin/actionlint" \
      -ldflags "-s -w -X github.com/rhysd/actionlint.version=$ACTIONLINT_VERSION" \
      github.com/rhysd/actionlint/cmd/actionlint)
  mkdir -p "$out"; mv "$w/bin/actionlint" "$out/"
}

fetch_platform() {
  # shellcheck disable=SC1090
  eval "$("$HACK_DIR/integration/platform-sources.sh" --env)"
}

write_env() {
  local f="$TOOLS_DIR/env.sh" tmp="$TOOLS_DIR/env.sh.tmp"
  cat >"$tmp" <<EOF
# Generated by hack/make-rules/tools.sh; source it. Paths are absolute.
export MODELROLLOUTS_TOOLS_DIR='$TOOLS_DIR'
export PULUMI='$TOOLS_DIR/pulumi/$PULUMI_VERSION/bin/pulumi'
export PULUMI_ROOT='$TOOLS_DIR/pulumi/$PULUMI_VERSION'
export PULUMI_VERSION='${PULUMI_VERSION#v}'
export PULUMI_PROVIDER_KUBERNETES='$TOOLS_DIR/pulumi-kubernetes/$PROVIDER_VERSION@$PROVIDER_MODVER'
export PULUMI_PROVIDER_KUBERNETES_VERSION='$PROVIDER_VERSION'
export PULUMI_PROVIDER_KUBERNETES_SOURCE='github.com/pulumi/pulumi-kubernetes/provider/v4@$PROVIDER_MODVER'
export KUBERNETES_VERSION='$KUBERNETES_VERSION'
export KUBE_APISERVER='$TOOLS_DIR/kubernetes/$KUBERNETES_VERSION/kube-apiserver'
export KUBE_CONTROLLER_MANAGER='$TOOLS_DIR/kubernetes/$KUBERNETES_VERSION/kube-controller-manager'
export KUBE_SCHEDULER='$TOOLS_DIR/kubernetes/$KUBERNETES_VERSION/kube-scheduler'
export KUBECTL='$TOOLS_DIR/kubernetes/$KUBERNETES_VERSION/kubectl'
export ETCD='$TOOLS_DIR/etcd/$ETCD_VERSION/etcd'
export KWOK='$TOOLS_DIR/kwok/$KWOK_VERSION/kwok'
export KWOKCTL='$TOOLS_DIR/kwok/$KWOK_VERSION/kwokctl'
export ISTIO_CHARTS_DIR='$ISTIO_CHARTS_DIR'
export KNATIVE_SERVING_DIR='$KNATIVE_SERVING_DIR'
export KNATIVE_NET_ISTIO_DIR='$KNATIVE_NET_ISTIO_DIR'
export ACTIONLINT='$TOOLS_DIR/actionlint/$ACTIONLINT_VERSION/actionlint'
EOF
  mv "$tmp" "$f"
  log "wrote $f"
}

# start_background: run this script again, detached, at idle CPU priority
# (SCHED_IDLE where chrt allows it, and nice 19): make test's first tiers
# leave cores idle while their tests wait on processes and sockets, and the
# ~30 min build uses them without slowing those tests' timings. The later
# tiers' own tools.sh run waits for it (see take_lock).
start_background() {
  mkdir -p "$TOOLS_DIR"
  local idle=(nice -n 19)
  chrt --idle 0 true 2>/dev/null && idle+=(chrt --idle 0)
  MODELROLLOUTS_TOOLS_BACKGROUND=1 setsid "${idle[@]}" "$0" \
    </dev/null >"$TOOLS_DIR/background.log" 2>&1 &
  log "building in the background at idle priority (pid $!; log: $TOOLS_DIR/background.log)"
}

# take_lock: one build at a time over $TOOLS_DIR; wait for the holder.
take_lock() {
  exec 9>"$TOOLS_DIR/.build.lock"
  flock -n 9 && return
  log "waiting for the tools build that holds $TOOLS_DIR/.build.lock; make test's background build says:"
  # Its log so far and as it grows, so a wait is never silent and a
  # failure in the background shows here.
  tail -n +1 -F --pid=$$ "$TOOLS_DIR/background.log" 2>/dev/null | sed -u 's/^/[tools:background] /' >&2 &
  local follower=$! t0; t0=$(date +%s)
  flock 9
  sleep 0.2; kill "$follower" 2>/dev/null || true
  log "waited $(( $(date +%s) - t0 ))s; building what is still missing"
}

main() {
  if [[ "${1:-}" == "--print" ]]; then echo "$TOOLS_DIR/env.sh"; return; fi
  command -v go >/dev/null || die "go is not on PATH"
  if [[ "${1:-}" == "--background" ]]; then start_background; return; fi
  mkdir -p "$TOOLS_DIR" "$SRC_DIR"
  take_lock
  cd "$SRC_DIR" # no go.mod here: module look-ups never touch the repo's go.mod/go.sum
  local t0; t0=$(date +%s)
  # Debian packages only in the foreground: apt holds one lock machine-wide,
  # and make test-models may be installing its own at the same time.
  [[ -n "${MODELROLLOUTS_TOOLS_BACKGROUND:-}" ]] || stage debs ensure_debs
  # Two streams side by side: every build has stretches that leave a core
  # idle (module downloads, the provider's generator, single-threaded links).
  # (Its stage times are logged as each ends, not in the summary below.)
  (stage pulumi build_pulumi && stage provider build_provider) &
  local pulumi_stream=$!
  stage cluster-tools build_cluster_tools
  stage actionlint build_actionlint
  wait "$pulumi_stream" || die "building the Pulumi CLI or the Kubernetes provider failed (above)"
  stage platform-sources fetch_platform
  stage env write_env
  log "stage times:"; printf '[tools]   %s\n' "${STAGE_TIMES[@]}" >&2
  log "total $(( $(date +%s) - t0 ))s; source $TOOLS_DIR/env.sh"
}

main "$@"
