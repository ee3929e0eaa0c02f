#!/usr/bin/env bash
# Build the real Crossplane CLI (crank, the last go-installable one) into .tools/.
#
#   scripts/install-crossplane-cli.sh [DEST]     (default DEST: .tools)
#
# Two CLIs: DEST/crossplane (v2.2.x), which the tests use for render and
# validate, and DEST/crossplane-1.20 (v1.20.11), whose render feeds functions
# the Crossplane 1.20 way (extra resources), to prove both generations work.
#
# Crossplane moved its CLI out of crossplane/crossplane at v2.3; v2.2.x is the
# last line `go install` can build, and its `render` runs functions in-process
# (Development runtime) with no Docker. v2.2.4 is tried first. Where the Go
# module proxy refuses it (this project's build machines are served v2.2.1 but
# not v2.2.2-v2.2.4), v2.2.1 is built instead; the version built is recorded in
# DEST/crossplane.version and printed by the tests.
#
# `go install pkg@version` also asks the proxy for the module's version list (a
# deprecation check), which the proxy here refuses, so the fallback builds the
# command inside a throwaway module that requires the exact version.
set -euo pipefail

dest=${1:-.tools}
mkdir -p "$dest"
dest=$(cd "$dest" && pwd)
versions=${CROSSPLANE_CLI_VERSIONS:-"v2.2.4 v2.2.1"}

if ! command -v go >/dev/null 2>&1; then
  echo "go not found: the Crossplane CLI cannot be built; its tests will skip (and fail when CI is set)" >&2
  exit 0
fi

# build MODULE PACKAGE VERSION OUTPUT: build a command inside a throwaway module
# that requires the exact version (see the comment above on `go install`).
build() {
  local module=$1 package=$2 version=$3 output=$4 work
  work=$(mktemp -d)
  printf 'module crankbuild\n\ngo 1.25\n\nrequire %s %s\n' "$module" "$version" > "$work/go.mod"
  printf '//go:build tools\n\npackage tools\n\nimport _ "%s"\n' "$package" > "$work/tools.go"
  if (cd "$work" && go mod tidy >/dev/null 2>&1 && go build -o "$output" "$package"); then
    rm -rf "$work"
    return 0
  fi
  rm -rf "$work"
  return 1
}

if [ -x "$dest/crossplane-1.20" ] && [ -s "$dest/crossplane-1.20.version" ]; then
  echo "Crossplane CLI $(cat "$dest/crossplane-1.20.version") already in $dest/crossplane-1.20"
else
  echo "building Crossplane CLI v1.20.11 (the Crossplane 1.20 render)..."
  if build github.com/crossplane/crossplane github.com/crossplane/crossplane/cmd/crank v1.20.11 "$dest/crossplane-1.20"; then
    echo "v1.20.11" > "$dest/crossplane-1.20.version"
  else
    echo "Crossplane CLI v1.20.11 could not be built here; its tests will skip (and fail when CI is set)" >&2
  fi
fi

if [ -x "$dest/crossplane" ] && [ -s "$dest/crossplane.version" ]; then
  echo "Crossplane CLI $(cat "$dest/crossplane.version") already in $dest"
  exit 0
fi

for version in $versions; do
  echo "building Crossplane CLI $version (takes a few minutes the first time)..."
  if GOBIN="$dest" GOFLAGS=-mod=mod go install "github.com/crossplane/crossplane/v2/cmd/crank@$version" 2>/dev/null; then
    mv "$dest/crank" "$dest/crossplane"
    echo "$version" > "$dest/crossplane.version"
    exit 0
  fi
  if build github.com/crossplane/crossplane/v2 github.com/crossplane/crossplane/v2/cmd/crank "$version" "$dest/crossplane"; then
    echo "$version" > "$dest/crossplane.version"
    echo "built Crossplane CLI $version into $dest/crossplane"
    exit 0
  fi
  echo "Crossplane CLI $version could not be built here; trying the next version" >&2
done
echo "no Crossplane CLI version could be built (tried: $versions)" >&2
exit 1
