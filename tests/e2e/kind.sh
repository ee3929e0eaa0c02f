#!/usr/bin/env bash
# make e2e-kind: the end-to-end suite on a throwaway kind cluster.
#
# Creates a kind cluster, installs Crossplane (Helm chart, CROSSPLANE_VERSION,
# default a 2.x release; 1.20.x works the same) and cert-manager (the Barman
# Cloud plugin needs it) and the CSI VolumeSnapshotClass CRD (so CNPGOperator's
# snapshot class can be created; nothing takes snapshots on kind), and
# csi-driver-nfs with an NFS server in the cluster and the StorageClass
# nfs-client (manifests/nfs*.yaml: logical dumps need a ReadWriteMany volume).
# Builds the function's image for this machine's architecture (skip with
# TAU_FUNCTION_IMAGE=<an image already built>) and the dump jobs' image (the
# Dockerfile's pgdump target; skip with TAU_E2E_DUMP_IMAGE=<an image already
# built>), loads them into the nodes, builds
# the Function package with the Crossplane CLI and serves it from a registry
# inside the cluster. Then runs `make e2e` and, whatever happens, deletes the
# cluster (KEEP_CLUSTER=1 keeps it).
#
# Needs: docker, kind, helm, kubectl, and the Crossplane CLI (make crossplane-cli).
set -euo pipefail
cd "$(dirname "$0")/../.."

cluster=${KIND_CLUSTER:-function-tau-e2e}
crossplane_version=${CROSSPLANE_VERSION:-2.3.4}
cert_manager_version=${CERT_MANAGER_VERSION:-v1.18.2}
snapshotter_version=${SNAPSHOTTER_VERSION:-v8.7.0}
csi_driver_nfs_version=${CSI_DRIVER_NFS_VERSION:-v4.11.0}
crossplane_cli=${CROSSPLANE_CLI:-.tools/crossplane}
image=${TAU_FUNCTION_IMAGE:-}
dump_image=${TAU_E2E_DUMP_IMAGE:-}
registry_namespace=tau-e2e-registry
package_ref=function-tau:v0.0.0-e2e  # xpkg push wants a semver tag

for tool in docker kind helm kubectl; do
  command -v "$tool" >/dev/null || { echo "make e2e-kind needs $tool" >&2; exit 2; }
done
[ -x "$crossplane_cli" ] || { echo "make e2e-kind needs the Crossplane CLI at $crossplane_cli (make crossplane-cli)" >&2; exit 2; }

work=$(mktemp -d)
export KUBECONFIG="$work/kubeconfig"
port_forward=""
cleanup() {
  [ -n "$port_forward" ] && kill "$port_forward" 2>/dev/null || true
  if [ -z "${KEEP_CLUSTER:-}" ]; then
    kind delete cluster --name "$cluster" || true
  else
    echo "kept kind cluster $cluster (KUBECONFIG=$KUBECONFIG)"
  fi
}
trap cleanup EXIT

echo "== kind cluster $cluster"
kind create cluster --name "$cluster" --wait 180s

if [ -z "$image" ]; then
  image=function-tau:e2e
  echo "== building $image"
  docker build --tag "$image" .
fi
kind load docker-image "$image" --name "$cluster"
if [ -z "$dump_image" ]; then
  dump_image=function-tau-pgdump:e2e
  echo "== building $dump_image"
  docker build --target pgdump --tag "$dump_image" .
fi
kind load docker-image "$dump_image" --name "$cluster"

echo "== Crossplane $crossplane_version"
helm repo add crossplane-stable https://charts.crossplane.io/stable --force-update >/dev/null
helm upgrade --install crossplane crossplane-stable/crossplane --version "$crossplane_version" \
  --namespace crossplane-system --create-namespace --wait --timeout 10m

echo "== cert-manager $cert_manager_version"
helm repo add jetstack https://charts.jetstack.io --force-update >/dev/null
helm upgrade --install cert-manager jetstack/cert-manager --version "$cert_manager_version" \
  --namespace cert-manager --create-namespace --set crds.enabled=true --wait --timeout 10m

echo "== VolumeSnapshotClass CRD (external-snapshotter client/$snapshotter_version)"
kubectl apply -f "https://raw.githubusercontent.com/kubernetes-csi/external-snapshotter/refs/tags/client/$snapshotter_version/client/config/crd/snapshot.storage.k8s.io_volumesnapshotclasses.yaml"

echo "== csi-driver-nfs $csi_driver_nfs_version, an NFS server and the StorageClass nfs-client"
helm repo add csi-driver-nfs https://raw.githubusercontent.com/kubernetes-csi/csi-driver-nfs/master/charts --force-update >/dev/null
helm upgrade --install csi-driver-nfs csi-driver-nfs/csi-driver-nfs --version "$csi_driver_nfs_version" \
  --namespace kube-system --wait --timeout 10m
kubectl apply -f tests/e2e/manifests/nfs.yaml -f tests/e2e/manifests/nfs-storage-class.yaml
kubectl rollout status deployment/nfs-server -n tau-e2e-nfs --timeout 5m

echo "== the Function package, served from a registry in the cluster"
kubectl apply -f tests/e2e/manifests/registry.yaml
kubectl rollout status deployment/registry -n "$registry_namespace" --timeout 5m
"$crossplane_cli" xpkg build --package-root=package --examples-root=examples/install \
  --embed-runtime-image="$image" -o "$work/function-tau.xpkg"
kubectl port-forward -n "$registry_namespace" service/registry 5000:5000 >/dev/null &
port_forward=$!
for _ in $(seq 30); do curl -fsS http://localhost:5000/v2/ >/dev/null 2>&1 && break; sleep 1; done
"$crossplane_cli" xpkg push -f "$work/function-tau.xpkg" "localhost:5000/$package_ref"
kill "$port_forward"; port_forward=""

echo "== the end-to-end suite"
export TAU_FUNCTION_PACKAGE="registry.$registry_namespace.svc.cluster.local:5000/$package_ref"
export TAU_FUNCTION_IMAGE="$image"
export TAU_E2E_DUMP_IMAGE="$dump_image"
make e2e
