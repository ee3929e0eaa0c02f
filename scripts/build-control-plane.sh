#!/usr/bin/env bash
# Build the local control plane the tests in tests/controlplane start (issue #11):
# real etcd, kube-apiserver, kube-controller-manager, kubectl, Crossplane core
# (2.x and 1.20), provider-kubernetes and the CloudNativePG operator, all from
# their Go modules at pinned versions, into DEST/controlplane (DEST: .tools).
#
#   scripts/build-control-plane.sh [DEST]
#
# Cached: a component whose binary and version stamp are present is not rebuilt;
# a second run with everything present does nothing and says so. The versions
# (and the wall time each build took) are recorded in DEST/controlplane/VERSIONS.
#
# Nothing third-party is kept in the repository: each component is built from a
# throwaway wrapper module generated here in a temporary directory, which
# requires the exact upstream version (the Go module proxy here refuses
# `@latest` and version lists, so `go install pkg@version` cannot be used).
# Upstream files the fixture needs besides binaries (Crossplane's CRDs, the CSI
# snapshot CRDs, CNPG's webhook manifests, the Crossplane Helm chart's RBAC
# templates) are copied out of the checksummed module cache into
# DEST/controlplane/crds, DEST/controlplane/cnpg and DEST/controlplane/charts.
#
# Without Go this prints why and exits 0: the control-plane tests then skip
# (and fail when CI is set).
set -euo pipefail

dest=${1:-.tools}
mkdir -p "$dest/controlplane"
out=$(cd "$dest/controlplane" && pwd)

ETCD_VERSION=${ETCD_VERSION:-v3.6.16}
KUBE_VERSION=${KUBE_VERSION:-v1.34.2}
CROSSPLANE_VERSION=${CROSSPLANE_VERSION:-v2.2.1}
CROSSPLANE_120_VERSION=${CROSSPLANE_120_VERSION:-v1.20.11}
PROVIDER_KUBERNETES_VERSION=${PROVIDER_KUBERNETES_VERSION:-v1.2.1}
CNPG_VERSION=${CNPG_VERSION:-v1.30.0}
SNAPSHOTTER_VERSION=${SNAPSHOTTER_VERSION:-v8.7.0}

if ! command -v go >/dev/null 2>&1; then
  echo "go not found: the local control plane cannot be built; its tests will skip (and fail when CI is set)" >&2
  exit 0
fi

export GOFLAGS=-mod=mod
export CGO_ENABLED=0
built=0
log="$out/build.log"
touch "$out/VERSIONS"
trap 'echo "build failed; the end of $log:" >&2; tail -n 30 "$log" >&2' ERR

# have NAME VERSION FILE...: the component is present at that version (its stamp and files exist).
have() {
  local name=$1 version=$2 f
  shift 2
  [ -e "$out/.stamp-$name" ] && [ "$(cat "$out/.stamp-$name")" = "$version" ] || return 1
  for f in "$@"; do [ -e "$out/$f" ] || return 1; done
}

# record NAME VERSION SECONDS
record() {
  local tmp
  tmp=$(mktemp)
  grep -v "^$1 " "$out/VERSIONS" > "$tmp" || true
  echo "$1 $2 built-in ${3}s on $(date -u +%Y-%m-%dT%H:%M:%SZ) with $(go env GOVERSION)" >> "$tmp"
  sort "$tmp" > "$out/VERSIONS"
  rm -f "$tmp"
  echo "$2" > "$out/.stamp-$1"
  built=1
}

# moddir MODULE@VERSION: the module's directory in the (checksummed) module cache.
moddir() {
  go mod download -json "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])'
}

# wrapper DIR MODULE VERSION PACKAGE...: a throwaway module requiring MODULE@VERSION
# that imports PACKAGEs (so `go mod tidy` resolves exactly what they need).
wrapper() {
  local dir=$1 module=$2 version=$3
  shift 3
  printf 'module controlplanebuild\n\ngo 1.25\n\nrequire %s %s\n' "$module" "$version" > "$dir/go.mod"
  {
    printf '//go:build tools\n\npackage tools\n\nimport (\n'
    for p in "$@"; do printf '\t_ "%s"\n' "$p"; done
    printf ')\n'
  } > "$dir/tools.go"
}

# step NAME VERSION FILE...: announce a build; returns 1 (skip) when already present.
step() {
  if have "$@"; then
    echo "  $1 $2: present"
    return 1
  fi
  echo "  $1 $2: building (log: $log)..."
  start=$(date +%s)
}

echo "local control plane into $out"

# etcd: a wrapper main around etcdmain (the etcd binary's own main is in a
# module that is not meant to be required).
if step etcd "$ETCD_VERSION" etcd; then
  work=$(mktemp -d)
  printf 'module controlplanebuild\n\ngo 1.25\n\nrequire go.etcd.io/etcd/server/v3 %s\n' "$ETCD_VERSION" > "$work/go.mod"
  printf 'package main\n\nimport (\n\t"os"\n\n\t"go.etcd.io/etcd/server/v3/etcdmain"\n)\n\nfunc main() { etcdmain.Main(os.Args) }\n' > "$work/main.go"
  (cd "$work" && go mod tidy >>"$log" 2>&1 \
    && go build -trimpath -ldflags='-s -w' -o "$out/etcd" . >>"$log" 2>&1)
  rm -rf "$work"
  record etcd "$ETCD_VERSION" $(($(date +%s) - start))
fi

# kube-apiserver, kube-controller-manager, kubectl: k8s.io/kubernetes replaces its
# staging modules with ./staging/...; the wrapper replaces each with its published
# v0.<minor>.<patch>, read from the replace block of kubernetes' own go.mod.
if step kubernetes "$KUBE_VERSION" kube-apiserver kube-controller-manager kubectl; then
  work=$(mktemp -d)
  kgomod=$(go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | python3 -c 'import json,sys; print(json.load(sys.stdin)["GoMod"])')
  staging="v0.${KUBE_VERSION#v1.}"
  wrapper "$work" k8s.io/kubernetes "$KUBE_VERSION" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kubectl
  awk -v v="$staging" '$2 == "=>" && $3 ~ /^\.\/staging\// { print "replace " $1 " => " $1 " " v }' "$kgomod" >> "$work/go.mod"
  if ! grep -q '^replace k8s.io/api ' "$work/go.mod"; then
    echo "no staging replace lines found in $kgomod" >&2
    exit 1
  fi
  major=${KUBE_VERSION#v}; major=${major%%.*}
  minor=${KUBE_VERSION#v*.}; minor=${minor%%.*}
  ldflags="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags="$ldflags -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
    ldflags="$ldflags -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  # One go build for the three: they share most of their compilation.
  (cd "$work" && go mod tidy >>"$log" 2>&1 \
    && go build -trimpath -ldflags="$ldflags" -o "$out/" \
      k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kubectl >>"$log" 2>&1)
  rm -rf "$work"
  record kubernetes "$KUBE_VERSION" $(($(date +%s) - start))
fi

# Crossplane core 2.x (the same module as the CLI scripts/install-crossplane-cli.sh
# builds, so they share the module cache), with its CRDs for `core init`.
if step crossplane "$CROSSPLANE_VERSION" crossplane crds/crossplane; then
  work=$(mktemp -d)
  wrapper "$work" github.com/crossplane/crossplane/v2 "$CROSSPLANE_VERSION" github.com/crossplane/crossplane/v2/cmd/crossplane
  (cd "$work" && go mod tidy >>"$log" 2>&1 \
    && go build -trimpath \
      -ldflags="-s -w -X github.com/crossplane/crossplane/v2/internal/version.version=$CROSSPLANE_VERSION" \
      -o "$out/crossplane" github.com/crossplane/crossplane/v2/cmd/crossplane >>"$log" 2>&1)
  rm -rf "$work"
  src=$(moddir "github.com/crossplane/crossplane/v2@$CROSSPLANE_VERSION")
  rm -rf "$out/crds/crossplane"
  mkdir -p "$out/crds/crossplane"
  cp "$src"/cluster/crds/*.yaml "$out/crds/crossplane/"
  chmod -R u+w "$out/crds/crossplane"
  record crossplane "$CROSSPLANE_VERSION" $(($(date +%s) - start))
fi

# provider-kubernetes.
if step provider-kubernetes "$PROVIDER_KUBERNETES_VERSION" provider-kubernetes; then
  work=$(mktemp -d)
  wrapper "$work" github.com/crossplane-contrib/provider-kubernetes "$PROVIDER_KUBERNETES_VERSION" \
    github.com/crossplane-contrib/provider-kubernetes/cmd/provider
  (cd "$work" && go mod tidy >>"$log" 2>&1 \
    && go build -trimpath -ldflags='-s -w' -o "$out/provider-kubernetes" \
      github.com/crossplane-contrib/provider-kubernetes/cmd/provider >>"$log" 2>&1)
  rm -rf "$work"
  record provider-kubernetes "$PROVIDER_KUBERNETES_VERSION" $(($(date +%s) - start))
fi

# The CloudNativePG operator (`manager controller`), and its webhook manifests.
if step cnpg "$CNPG_VERSION" cnpg-manager cnpg/webhook-manifests.yaml; then
  work=$(mktemp -d)
  wrapper "$work" github.com/cloudnative-pg/cloudnative-pg "$CNPG_VERSION" github.com/cloudnative-pg/cloudnative-pg/cmd/manager
  (cd "$work" && go mod tidy >>"$log" 2>&1 \
    && go build -trimpath \
      -ldflags="-s -w -X github.com/cloudnative-pg/cloudnative-pg/pkg/versions.buildVersion=${CNPG_VERSION#v}" \
      -o "$out/cnpg-manager" github.com/cloudnative-pg/cloudnative-pg/cmd/manager >>"$log" 2>&1)
  rm -rf "$work"
  src=$(moddir "github.com/cloudnative-pg/cloudnative-pg@$CNPG_VERSION")
  mkdir -p "$out/cnpg"
  cp "$src/config/webhook/manifests.yaml" "$out/cnpg/webhook-manifests.yaml"
  chmod u+w "$out/cnpg/webhook-manifests.yaml"
  record cnpg "$CNPG_VERSION" $(($(date +%s) - start))
fi

# The CSI snapshot CRDs (CNPG refuses volumeSnapshot backups without them).
if step snapshot-crds "$SNAPSHOTTER_VERSION" crds/snapshot; then
  src=$(moddir "github.com/kubernetes-csi/external-snapshotter/client/v8@$SNAPSHOTTER_VERSION")
  rm -rf "$out/crds/snapshot"
  mkdir -p "$out/crds/snapshot"
  cp "$src"/config/crd/snapshot.storage.k8s.io_*.yaml "$out/crds/snapshot/"
  chmod -R u+w "$out/crds/snapshot"
  record snapshot-crds "$SNAPSHOTTER_VERSION" $(($(date +%s) - start))
fi

# Crossplane core 1.20 (for the claim APIs' 1.20 promise), with its CRDs.
if step crossplane-1.20 "$CROSSPLANE_120_VERSION" crossplane-1.20 crds/crossplane-1.20; then
  work=$(mktemp -d)
  wrapper "$work" github.com/crossplane/crossplane "$CROSSPLANE_120_VERSION" github.com/crossplane/crossplane/cmd/crossplane
  (cd "$work" && go mod tidy >>"$log" 2>&1 \
    && go build -trimpath \
      -ldflags="-s -w -X github.com/crossplane/crossplane/internal/version.version=$CROSSPLANE_120_VERSION" \
      -o "$out/crossplane-1.20" github.com/crossplane/crossplane/cmd/crossplane >>"$log" 2>&1)
  rm -rf "$work"
  src=$(moddir "github.com/crossplane/crossplane@$CROSSPLANE_120_VERSION")
  rm -rf "$out/crds/crossplane-1.20"
  mkdir -p "$out/crds/crossplane-1.20"
  cp "$src"/cluster/crds/*.yaml "$out/crds/crossplane-1.20/"
  chmod -R u+w "$out/crds/crossplane-1.20"
  record crossplane-1.20 "$CROSSPLANE_120_VERSION" $(($(date +%s) - start))
fi

# The Crossplane Helm chart's RBAC templates (the ClusterRoles a real install grants core), for each
# core version: the fixture renders them and runs core with that identity, not as admin.
for pair in "crossplane github.com/crossplane/crossplane/v2 $CROSSPLANE_VERSION" \
            "crossplane-1.20 github.com/crossplane/crossplane $CROSSPLANE_120_VERSION"; do
  read -r name module version <<<"$pair"
  if step "chart-$name" "$version" "charts/$name/clusterrole.yaml"; then
    src=$(moddir "$module@$version")
    rm -rf "$out/charts/$name"
    mkdir -p "$out/charts/$name"
    cp "$src"/cluster/charts/crossplane/templates/{clusterrole,clusterrolebinding,serviceaccount}.yaml "$out/charts/$name/"
    chmod -R u+w "$out/charts/$name"
    record "chart-$name" "$version" $(($(date +%s) - start))
  fi
done

if [ "$built" = 0 ]; then
  echo "local control plane: everything present in $out, nothing to build"
else
  echo "local control plane built into $out:"
  cat "$out/VERSIONS"
fi
