"""A local control plane: real etcd, kube-apiserver, Crossplane, provider-kubernetes and CNPG, on loopback.

Everything runs inside its own network namespace that has only a loopback
interface (`ip netns`), so nothing listens on any other address even where a
component has no flag for it (provider-kubernetes' metrics and webhook servers,
the CNPG operator's webhook server), and fixed ports never collide with another
session. Every command that talks to the API server (kubectl) runs in there too.

What runs (binaries from `scripts/build-control-plane.sh`, in .tools/controlplane):

- etcd and kube-apiserver (RBAC on, certificates from `certs`), and
  kube-controller-manager with only its garbage collector (deletion of composed
  resources needs it);
- Crossplane core (`core init`, then `core start` with the External package
  runtime and webhooks off), never as admin: as the ServiceAccount `crossplane`
  of the Crossplane Helm chart, bound to the chart's ClusterRole `crossplane`,
  which aggregates (kube-controller-manager's clusterrole-aggregation controller)
  what a real install labels rbac.crossplane.io/aggregate-to-crossplane: the
  chart's `crossplane:system:aggregate-to-crossplane`, the per-XRD roles of
  Crossplane's real RBAC manager (`crossplane rbac start`, as admin, in a second
  namespace: `netns_bridge`), the providers' edit roles (`provider_edit_roles`)
  and examples/install/05-crossplane-rbac.yaml (see `crossplane_rbac`);
- provider-kubernetes v1.2.1, never as admin: it runs as the ServiceAccount of
  examples/install/01-provider-kubernetes-rbac.yaml (a token of it in its
  kubeconfig, and the same in the ProviderConfig, which is what InjectedIdentity
  amounts to in a cluster), bound to that file's ClusterRole and to what
  Crossplane's RBAC manager grants every provider (`provider_system_role`):
  the least privilege the install grants, for real;
- the CNPG operator v1.30.0 with its mutating and validating webhooks wired to
  the API server (url + caBundle). It watches only the namespace
  `OPERATED_NAMESPACE`: in every other namespace its webhooks admit what we
  apply, and the status a kubelet and CNPG's instance manager would write is
  written by `kubelet_standin.CNPGStatusStandIn` without the operator's
  controllers fighting it;
- the function, `function-tau serve` with mTLS (server certificate signed by
  Crossplane's root CA), installed as Crossplane installs a package: a Function
  object, the package in Crossplane's package cache, and the FunctionRevision's
  status pointed at the served endpoint (what a package runtime does).
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import gzip
import hashlib
import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator

import yaml

from tests.controlplane import certs
from tests.support import gomod
from tests.support.paths import APIS, CRDS, REPO

BIN = pathlib.Path(os.environ.get("TAU_CONTROLPLANE_BIN", REPO / ".tools" / "controlplane"))
FUNCTION_TAU = REPO / ".venv" / "bin" / "function-tau"
INSTALL = REPO / "examples" / "install"
PACKAGE = REPO / "package"

# Ports inside the network namespace (nothing else listens there).
ETCD_PORT, ETCD_PEER_PORT = 2379, 2380
APISERVER_PORT = 6443
KCM_PORT = 10257
CROSSPLANE_METRICS_PORT, CROSSPLANE_HEALTH_PORT = 8090, 8091
PROVIDER_HEALTH_PORT = 8081  # provider-kubernetes' metrics (:8080) and webhook (:9443) have no flag
CNPG_WEBHOOK_PORT, CNPG_METRICS_PORT = 9444, 8082
FUNCTION_PORT = 9445

CROSSPLANE_NAMESPACE = "crossplane-system"
CROSSPLANE_SA = "crossplane"  # the chart's ServiceAccount (serviceAccount.create: true, the chart's name)
CNPG_NAMESPACE = "cnpg-system"
# The only namespace the CNPG operator's controllers reconcile.
OPERATED_NAMESPACE = "cnpg-operated"
# Where a home cluster runs Longhorn (its Settings live there).
LONGHORN_NAMESPACE = "longhorn-system"
PROVIDER_SA = "provider-kubernetes"
PROVIDER_KUBECONFIG_SECRET = "provider-kubernetes-kubeconfig"

BINARIES = ("etcd", "kube-apiserver", "kube-controller-manager", "kubectl", "crossplane", "provider-kubernetes",
            "cnpg-manager")  # fmt: skip


class ControlPlaneError(RuntimeError):
    """Something in the control plane did not come up or did not answer."""


def missing_binaries(crossplane: str = "crossplane") -> list[str]:
    """The binaries (and chart RBAC templates) of BIN that are absent (`scripts/build-control-plane.sh` builds them)."""
    names = [n for n in BINARIES if n != "crossplane"] + [crossplane, f"charts/{crossplane}/clusterrole.yaml"]
    return [n for n in names if not (BIN / n).is_file()]


def versions() -> str:
    """What scripts/build-control-plane.sh recorded."""
    path = BIN / "VERSIONS"
    return path.read_text() if path.exists() else ""


@dataclasses.dataclass
class Process:
    """A component running in the namespace, with its log."""

    name: str
    popen: subprocess.Popen
    log: pathlib.Path

    def alive(self) -> bool:
        """Still running."""
        return self.popen.poll() is None

    def stop(self, timeout: float = 10) -> None:
        """SIGTERM, then SIGKILL; only this process (by its pid)."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=timeout)

    def tail(self, lines: int = 30) -> str:
        """The end of its log."""
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


class ControlPlane:
    """The control plane of one test session (or of `python -m tests.controlplane.run up`)."""

    def __init__(self, workdir: pathlib.Path | None = None, *, crossplane: str = "crossplane",
                 netns: str | None = None) -> None:  # fmt: skip
        self.workdir = pathlib.Path(workdir or tempfile.mkdtemp(prefix="tau-controlplane-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.crossplane_binary = crossplane
        self.v120 = crossplane == "crossplane-1.20"
        # The function's FunctionRevision conditions once installed (1.20 may leave it unhealthy: issue #12).
        self.function_conditions: dict[str, dict] = {}
        self.netns = netns or f"tau-cp-{os.getpid()}"
        # Where Crossplane's RBAC manager runs (its metrics port would collide with provider-kubernetes').
        self.rbac_netns = f"{self.netns}-rbac"
        self.kubeconfig = self.workdir / "admin.kubeconfig"
        self.kubectl_binary = str(BIN / "kubectl")
        self.processes: dict[str, Process] = {}
        self.function_log = self.workdir / "logs" / "function-tau.log"
        (self.workdir / "logs").mkdir(exist_ok=True)
        self.timings: dict[str, float] = {}

    # ---- running things in the namespace -------------------------------------------------

    def ns(self, *argv: str, netns: str | None = None) -> list[str]:
        """`argv` run inside the network namespace (or `netns`)."""
        return ["ip", "netns", "exec", netns or self.netns, *argv]

    def kubectl(self, *args: str, stdin: str | None = None, check: bool = True,
                timeout: float = 60) -> subprocess.CompletedProcess:  # fmt: skip
        """kubectl as cluster admin."""
        proc = subprocess.run(
            self.ns(self.kubectl_binary, "--kubeconfig", str(self.kubeconfig), *args),
            input=stdin, capture_output=True, text=True, timeout=timeout, check=False,
        )  # fmt: skip
        if check and proc.returncode != 0:
            raise ControlPlaneError(f"kubectl {' '.join(args)}: {proc.stderr.strip() or proc.stdout.strip()}")
        return proc

    def apply(self, docs: Iterable[dict] | str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """`kubectl apply --server-side` of documents (or YAML text), as a user would."""
        text = docs if isinstance(docs, str) else yaml.safe_dump_all(list(docs))
        return self.kubectl("apply", "--server-side", "--force-conflicts", "-f", "-", *args, stdin=text, check=check)

    def get(self, kind: str, name: str | None = None, namespace: str | None = None) -> dict | None:
        """One object (None when absent), or a list (`name` None) as a dict with `items`."""
        args = ["get", kind, "-o", "json"]
        if name:
            args.insert(2, name)
        if namespace:
            args += ["-n", namespace]
        proc = self.kubectl(*args, check=False)
        if proc.returncode != 0:
            if "NotFound" in proc.stderr or "not found" in proc.stderr:
                return None
            raise ControlPlaneError(f"kubectl {' '.join(args)}: {proc.stderr.strip()}")
        return json.loads(proc.stdout)

    def items(self, kind: str, namespace: str | None = None, selector: str | None = None) -> list[dict]:
        """Every object of a kind (all namespaces unless `namespace`)."""
        args = ["get", kind, "-o", "json"]
        args += ["-n", namespace] if namespace else ["-A"]
        if selector:
            args += ["-l", selector]
        return json.loads(self.kubectl(*args).stdout)["items"]

    def patch_status(self, kind: str, name: str, namespace: str | None, status: dict) -> None:
        """Merge-patch an object's status subresource."""
        args = ["patch", kind, name, "--subresource=status", "--type=merge", "-p", json.dumps({"status": status})]
        if namespace:
            args += ["-n", namespace]
        self.kubectl(*args)

    def port_open(self, port: int) -> bool:
        """Whether something listens on 127.0.0.1:port in the namespace."""
        probe = f"exec 3<>/dev/tcp/127.0.0.1/{port}"
        return subprocess.run(self.ns("bash", "-c", probe), capture_output=True, check=False).returncode == 0

    def start_process(self, name: str, argv: list[str], env: dict | None = None,
                      cwd: pathlib.Path | None = None, netns: str | None = None) -> Process:  # fmt: skip
        """Start a component in the namespace (or `netns`), its output in logs/NAME.log."""
        log = self.workdir / "logs" / f"{name}.log"
        out = open(log, "ab")  # noqa: SIM115 - the process owns it
        popen = subprocess.Popen(
            self.ns(*argv, netns=netns), stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})},
            cwd=cwd or self.workdir, start_new_session=True,
        )  # fmt: skip
        out.close()
        proc = Process(name, popen, log)
        self.processes[name] = proc
        return proc

    def wait(self, what: str, check, timeout: float = 60, interval: float = 0.3, proc: Process | None = None):
        """Poll `check()` until it returns something truthy; its value."""
        deadline = time.monotonic() + timeout
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            if proc is not None and not proc.alive():
                raise ControlPlaneError(f"{proc.name} exited while waiting for {what}:\n{proc.tail()}")
            try:
                value = check()
            except (ControlPlaneError, subprocess.TimeoutExpired, json.JSONDecodeError) as error:
                last_error, value = error, None
            if value:
                return value
            time.sleep(interval)
        detail = f" (last error: {last_error})" if last_error else ""
        tail = f"\n{proc.name}'s log:\n{proc.tail()}" if proc else ""
        raise ControlPlaneError(f"timed out after {timeout:.0f}s waiting for {what}{detail}{tail}")

    # ---- start and stop ------------------------------------------------------------------

    def start(self) -> ControlPlane:
        """Start everything; stops what started when something fails."""
        try:
            self._timed("netns", self._start_netns)
            self._timed("certificates", self._make_certs)
            self._timed("etcd", self._start_etcd)
            self._timed("kube-apiserver", self._start_apiserver)
            self._timed("kube-controller-manager", self._start_kcm)
            self._timed("upstream CRDs", self._apply_upstream_crds)
            self._timed("crossplane", self._start_crossplane)
            self._timed("function", self._install_function)
            self._timed("provider-kubernetes", self._start_provider)
            self._timed("cnpg", self._start_cnpg)
            self._timed("apis", self._apply_apis)
        except BaseException:
            self.stop()
            raise
        return self

    def _timed(self, name: str, step) -> None:
        start = time.monotonic()
        step()
        self.timings[name] = time.monotonic() - start

    def stop(self, *, keep: bool = False) -> None:
        """Kill every process it started (by pid), delete the namespace, remove the work directory."""
        for proc in reversed(list(self.processes.values())):
            with contextlib.suppress(Exception):
                proc.stop()
        self.processes.clear()
        for netns in (self.rbac_netns, self.netns):
            subprocess.run(["ip", "netns", "delete", netns], capture_output=True, check=False)
        if not keep:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def _start_netns(self) -> None:
        for netns in (self.netns, self.rbac_netns):
            subprocess.run(["ip", "netns", "delete", netns], capture_output=True, check=False)
            proc = subprocess.run(["ip", "netns", "add", netns], capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                raise ControlPlaneError(f"ip netns add {netns}: {proc.stderr.strip()} (needs root)")
            subprocess.run(self.ns("ip", "link", "set", "lo", "up", netns=netns), check=True)

    def _make_certs(self) -> None:
        pki = self.workdir / "pki"
        pki.mkdir(exist_ok=True)
        self.ca = certs.new_ca("tau-controlplane-ca")
        self.ca.write(pki, "ca.crt", "ca.key")
        certs.issue(
            self.ca, "kube-apiserver", ips=(certs.LOOPBACK,),
            dns=("localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"),
        ).write(pki, "apiserver.crt", "apiserver.key")  # fmt: skip
        admin = certs.issue(self.ca, "admin", organizations=("system:masters",), usages=("client",))
        admin.write(pki, "admin.crt", "admin.key")
        (pki / "sa.key").write_bytes(certs.service_account_key())
        self.kubeconfig.write_text(self._kubeconfig(user={
            "client-certificate-data": base64.b64encode(admin.cert).decode(),
            "client-key-data": base64.b64encode(admin.key).decode(),
        }))  # fmt: skip
        self.kubeconfig.chmod(0o600)
        # Webhook servers of provider-kubernetes and the CNPG operator (IP 127.0.0.1).
        webhook = certs.issue(self.ca, "webhooks", ips=(certs.LOOPBACK,), dns=("localhost",))
        webhook.write(self.workdir / "provider-kubernetes-tls")
        webhook.write(self.workdir / "cnpg-webhook", "apiserver.crt", "apiserver.key")

    def _kubeconfig(self, user: dict) -> str:
        return yaml.safe_dump({
            "apiVersion": "v1", "kind": "Config", "current-context": "tau",
            "clusters": [{"name": "tau", "cluster": {
                "server": f"https://127.0.0.1:{APISERVER_PORT}",
                "certificate-authority-data": base64.b64encode(self.ca.cert).decode(),
            }}],
            "users": [{"name": "tau", "user": user}],
            "contexts": [{"name": "tau", "context": {"cluster": "tau", "user": "tau"}}],
        })  # fmt: skip

    def _start_etcd(self) -> None:
        url = f"http://127.0.0.1:{ETCD_PORT}"
        peer = f"http://127.0.0.1:{ETCD_PEER_PORT}"
        proc = self.start_process("etcd", [
            str(BIN / "etcd"), "--name=tau", f"--data-dir={self.workdir / 'etcd'}",
            f"--listen-client-urls={url}", f"--advertise-client-urls={url}",
            f"--listen-peer-urls={peer}", f"--initial-advertise-peer-urls={peer}", f"--initial-cluster=tau={peer}",
            "--unsafe-no-fsync=true", "--log-level=warn",
        ])  # fmt: skip
        self.wait("etcd", lambda: self.port_open(ETCD_PORT), proc=proc)

    def _start_apiserver(self) -> None:
        pki = self.workdir / "pki"
        proc = self.start_process("kube-apiserver", [
            str(BIN / "kube-apiserver"),
            f"--etcd-servers=http://127.0.0.1:{ETCD_PORT}",
            "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", f"--secure-port={APISERVER_PORT}",
            f"--cert-dir={self.workdir / 'apiserver'}",
            f"--tls-cert-file={pki / 'apiserver.crt'}", f"--tls-private-key-file={pki / 'apiserver.key'}",
            f"--client-ca-file={pki / 'ca.crt'}",
            "--service-account-issuer=https://kubernetes.default.svc",
            f"--service-account-key-file={pki / 'sa.key'}",
            f"--service-account-signing-key-file={pki / 'sa.key'}",
            "--authorization-mode=RBAC",
            "--service-cluster-ip-range=10.96.0.0/16",
            "--disable-admission-plugins=ServiceAccount",
            "--endpoint-reconciler-type=none",
            "--allow-privileged=true",
        ])  # fmt: skip
        self.wait(
            "kube-apiserver /readyz",
            lambda: self.kubectl("get", "--raw", "/readyz", check=False).stdout.strip() == "ok",
            timeout=120, interval=0.5, proc=proc,
        )  # fmt: skip
        # Namespaces that exist in every Crossplane + CNPG install.
        for name in (CROSSPLANE_NAMESPACE, CNPG_NAMESPACE, OPERATED_NAMESPACE, LONGHORN_NAMESPACE):
            self.kubectl("create", "namespace", name)

    def _start_kcm(self) -> None:
        proc = self.start_process("kube-controller-manager", [
            str(BIN / "kube-controller-manager"), f"--kubeconfig={self.kubeconfig}",
            # The garbage collector (deletion of composed resources) and the aggregation of the
            # ClusterRole `crossplane` (aggregationRule) that Crossplane core runs with.
            "--controllers=garbagecollector,clusterrole-aggregation", "--leader-elect=false",
            "--bind-address=127.0.0.1", f"--secure-port={KCM_PORT}", f"--cert-dir={self.workdir / 'kcm'}",
            "--use-service-account-credentials=false",
        ])  # fmt: skip
        self.wait("kube-controller-manager", lambda: self.port_open(KCM_PORT), proc=proc)

    # ---- CRDs ----------------------------------------------------------------------------

    def _crd_docs(self, directory: pathlib.Path) -> list[dict]:
        docs = []
        for path in sorted(directory.glob("*.yaml")):
            docs.extend(
                d for d in yaml.safe_load_all(path.read_text()) if d and d.get("kind") == "CustomResourceDefinition"
            )
        return docs

    def _apply_upstream_crds(self) -> None:
        docs = self._crd_docs(CRDS / "cnpg") + self._crd_docs(BIN / "crds" / "snapshot")
        # Longhorn's Setting CRD (v1.9.0), as on a home cluster with Longhorn: the CNPGOperator sets two of
        # them. No longhorn-manager runs, so provider-kubernetes creates them (there it updates its own).
        docs.append(gomod.longhorn_setting_crd())
        for directory in ("provider-kubernetes", "provider-helm"):
            for crd in self._crd_docs(CRDS / directory):
                # The conversion webhook has no service until Crossplane's package manager fills it
                # in; provider-kubernetes' storage version is v1alpha2, and None converts nothing.
                if crd["spec"].get("conversion", {}).get("strategy") == "Webhook":
                    crd["spec"]["conversion"] = {"strategy": "None"}
                docs.append(crd)
        self.apply(docs)
        names = [d["metadata"]["name"] for d in docs]
        self.kubectl("wait", "--for=condition=Established", "--timeout=60s", *[f"crd/{n}" for n in names])

    # ---- Crossplane ----------------------------------------------------------------------

    def _crossplane_env(self) -> dict:
        return {
            "KUBECONFIG": str(self.kubeconfig),
            "POD_NAMESPACE": CROSSPLANE_NAMESPACE,
            "POD_SERVICE_ACCOUNT": "crossplane",
            "TLS_CA_SECRET_NAME": "crossplane-root-ca",
            "TLS_SERVER_SECRET_NAME": "crossplane-tls-server",
            "TLS_CLIENT_SECRET_NAME": "crossplane-tls-client",
            "TLS_SERVER_CERTS_DIR": str(self.workdir / "crossplane-tls-server"),
            "TLS_CLIENT_CERTS_DIR": str(self.workdir / "crossplane-tls-client"),
        }

    def crossplane_rbac(self) -> list[dict]:
        """The identity Crossplane core runs with: what the Crossplane Helm chart installs, rendered.

        The chart's templates/serviceaccount.yaml, clusterrolebinding.yaml and clusterrole.yaml (in the
        crossplane Go module at the version built, cluster/charts/crossplane/templates/, copied to
        BIN/charts/<binary>/ by scripts/build-control-plane.sh), with the chart's defaults:
        `crossplane.name` is "crossplane" (_helpers.tpl: the chart's name, no nameOverride),
        serviceAccount.create and rbacManager.deploy are true, so clusterrole.yaml renders two roles:
        `crossplane` with the aggregationRule (label rbac.crossplane.io/aggregate-to-crossplane) and
        `crossplane:system:aggregate-to-crossplane` with the rules, carrying that label. The helm
        labels (`crossplane.labels`) are left out; nothing selects them.
        """
        text = (BIN / "charts" / self.crossplane_binary / "clusterrole.yaml").read_text()
        text = text.replace('{{ template "crossplane.name" . }}', "crossplane")
        lines = [
            line for line in text.splitlines()
            if line.strip() not in ('{{- include "crossplane.labels" . | indent 4 }}',
                                    "{{- if .Values.rbacManager.deploy }}", "{{- end }}")
        ]  # fmt: skip
        text = "\n".join(lines)
        if "{{" in text:
            raise ControlPlaneError(f"unrendered template expression in the chart's clusterrole.yaml:\n{text}")
        roles = [d for d in yaml.safe_load_all(text) if d]
        names = [r["metadata"]["name"] for r in roles]
        if names != ["crossplane", "crossplane:system:aggregate-to-crossplane"] or "rules" in roles[0]:
            raise ControlPlaneError(f"the chart's clusterrole.yaml no longer renders as expected: {names}")
        return [
            {"apiVersion": "v1", "kind": "ServiceAccount",
             "metadata": {"name": CROSSPLANE_SA, "namespace": CROSSPLANE_NAMESPACE, "labels": {"app": "crossplane"}}},
            *roles,
            {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
             "metadata": {"name": "crossplane", "labels": {"app": "crossplane"}},
             "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "crossplane"},
             "subjects": [{"kind": "ServiceAccount", "name": CROSSPLANE_SA, "namespace": CROSSPLANE_NAMESPACE}]},
            *self.provider_edit_roles(),
        ]  # fmt: skip

    def provider_edit_roles(self) -> list[dict]:
        """What Crossplane's RBAC manager aggregates to Crossplane for each installed provider.

        Crossplane internal/controller/rbac/provider/roles/roles.go (RenderClusterRoles, the `edit`
        role, the same in v2.2.1 and v1.20.11): `*` on each of the provider's CRDs and their status,
        update on `*/finalizers` of its groups, labelled rbac.crossplane.io/aggregate-to-crossplane.
        The RBAC manager renders it from a ProviderRevision; the providers here are not packages
        (provider-kubernetes runs as a process; provider-helm's CRDs only), so it is written here,
        for both providers of examples/install (02, 04), named after the provider for its revision.
        """
        roles = []
        for provider in ("provider-kubernetes", "provider-helm"):
            resources: dict[str, list[str]] = {}
            for crd in sorted(self._crd_docs(CRDS / provider), key=lambda c: c["spec"]["names"]["plural"]):
                plural = crd["spec"]["names"]["plural"]
                resources.setdefault(crd["spec"]["group"], []).extend([plural, plural + "/status"])
            rules = [{"apiGroups": [g], "resources": r, "verbs": ["*"]} for g, r in resources.items()]
            rules.append({"apiGroups": list(resources), "resources": ["*/finalizers"], "verbs": ["update"]})
            roles.append({
                "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                "metadata": {"name": f"crossplane:provider:{provider}:aggregate-to-edit", "labels": {
                    "rbac.crossplane.io/aggregate-to-crossplane": "true",
                    "rbac.crossplane.io/aggregate-to-admin": "true",
                    "rbac.crossplane.io/aggregate-to-edit": "true",
                }},
                "rules": rules,
            })  # fmt: skip
        return roles

    def _crossplane_identity(self) -> None:
        """Install the chart's RBAC and examples/install/05, and write a kubeconfig with the SA's token."""
        self.apply(self.crossplane_rbac())
        self.apply((INSTALL / "05-crossplane-rbac.yaml").read_text())
        token = self.kubectl("create", "token", CROSSPLANE_SA, "-n", CROSSPLANE_NAMESPACE, "--duration=48h").stdout
        self.crossplane_kubeconfig = self.workdir / "crossplane.kubeconfig"
        self.crossplane_kubeconfig.write_text(self._kubeconfig(user={"token": token.strip()}))
        self.crossplane_kubeconfig.chmod(0o600)

        def aggregated() -> bool:
            role = self.get("clusterroles.rbac.authorization.k8s.io", "crossplane") or {}
            resources = {r for rule in role.get("rules") or [] for r in rule.get("resources", [])}
            return {"customresourcedefinitions", "volumesnapshots", "objects"} <= resources

        self.wait("the ClusterRole crossplane aggregated", aggregated, timeout=60,
                  proc=self.processes["kube-controller-manager"])  # fmt: skip

    def _start_rbac_manager(self) -> None:
        """Crossplane's RBAC manager, as admin (as its own ServiceAccount would be: it grants roles)."""
        bridge = self.start_process("apiserver-bridge", [
            sys.executable, "-m", "tests.controlplane.netns_bridge", self.netns, str(APISERVER_PORT),
        ], netns=self.rbac_netns, cwd=REPO)  # fmt: skip
        self.wait("the API server bridge", lambda: "forwarding" in bridge.tail(), timeout=30, proc=bridge)
        self.start_process("crossplane-rbac", [
            str(BIN / self.crossplane_binary), "rbac", "start", "--debug",
        ], env={"KUBECONFIG": str(self.kubeconfig)}, netns=self.rbac_netns)  # fmt: skip
        # Ready when it has rendered the roles of the XRDs (`_apply_apis` waits for them).

    def _start_crossplane(self) -> None:
        self._crossplane_identity()
        env = {**self._crossplane_env(), "KUBECONFIG": str(self.crossplane_kubeconfig)}
        binary = str(BIN / self.crossplane_binary)
        if self.v120:
            # 1.20's `core init` reads its CRDs from /crds and has no flag for it (nor follows a
            # symlink there): run it (a static binary) in a chroot whose /crds holds them.
            root = self.workdir / "crossplane-1.20-root"
            shutil.copytree(BIN / "crds" / "crossplane-1.20", root / "crds", dirs_exist_ok=True)
            shutil.copy2(binary, root / "crossplane")
            shutil.copy2(self.crossplane_kubeconfig, root / "crossplane.kubeconfig")
            init = ["chroot", str(root), "/crossplane", "core", "init", "--webhook-enabled=false"]
            init_env = {**env, "KUBECONFIG": "/crossplane.kubeconfig"}
        else:
            init = [binary, "core", "init", "--enable-webhooks=false", f"--cr-ds-path={BIN / 'crds' / 'crossplane'}"]
            init_env = env
        for attempt in range(5):
            proc = subprocess.run(self.ns(*init), env={**os.environ, **init_env}, capture_output=True, text=True,
                                  timeout=120, check=False)  # fmt: skip
            (self.workdir / "logs" / "crossplane-init.log").write_text(proc.stdout + proc.stderr)
            if proc.returncode == 0:
                break
            if attempt == 4:
                raise ControlPlaneError(f"crossplane core init failed:\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}")
            time.sleep(2)  # it sometimes races the CRDs it has just created
        self._start_rbac_manager()  # it waits for the CRDs `core init` has just created
        self._write_secret_files("crossplane-tls-client", self.workdir / "crossplane-tls-client")
        (self.workdir / "crossplane-tls-server").mkdir(exist_ok=True)
        (self.workdir / "xpkg-cache").mkdir(exist_ok=True)
        self.start_crossplane_process()

    def start_crossplane_process(self) -> Process:
        """`crossplane core start` as its ServiceAccount (also used to restart it: its log is appended to)."""
        env = {**self._crossplane_env(), "KUBECONFIG": str(self.crossplane_kubeconfig)}
        proc = self.start_process("crossplane", [
            str(BIN / self.crossplane_binary), "core", "start", "--enable-webhooks=false",
            "--package-runtime=External", f"--xpkg-cache-dir={self.workdir / 'xpkg-cache'}",
            f"--tls-client-certs-dir={self.workdir / 'crossplane-tls-client'}",
            f"--metrics-port={CROSSPLANE_METRICS_PORT}", f"--health-probe-port={CROSSPLANE_HEALTH_PORT}",
            "--debug",
        ], env=env)  # fmt: skip
        self.wait("crossplane", lambda: self.port_open(CROSSPLANE_HEALTH_PORT), timeout=60, proc=proc)
        return proc

    def secret_data(self, name: str, namespace: str) -> dict[str, bytes]:
        """A Secret's data, decoded."""
        secret = self.get("secret", name, namespace) or {}
        return {k: base64.b64decode(v) for k, v in (secret.get("data") or {}).items()}

    def _write_secret_files(self, name: str, directory: pathlib.Path) -> None:
        data = self.wait(f"Secret {name}", lambda: self.secret_data(name, CROSSPLANE_NAMESPACE), timeout=30)
        directory.mkdir(parents=True, exist_ok=True)
        for key, value in data.items():
            (directory / key).write_bytes(value)

    # ---- the function --------------------------------------------------------------------

    def package_stream(self) -> bytes:
        """The Function package as Crossplane caches it: crossplane.yaml and the input CRD, one YAML stream."""
        docs = [(PACKAGE / "crossplane.yaml").read_text()]
        docs += [p.read_text() for p in sorted((PACKAGE / "input").glob("*.yaml"))]
        return "\n---\n".join(d.strip().removeprefix("---").strip() for d in docs).encode() + b"\n"

    def _install_function(self) -> None:
        root = self.secret_data("crossplane-root-ca", CROSSPLANE_NAMESPACE)
        crossplane_ca = certs.KeyPair(root["tls.crt"], root["tls.key"])
        server = certs.issue(
            crossplane_ca, "function-tau", ips=(certs.LOOPBACK,),
            dns=("localhost", "function-tau", f"function-tau.{CROSSPLANE_NAMESPACE}",
                 f"function-tau.{CROSSPLANE_NAMESPACE}.svc"),
        )  # fmt: skip
        tls = self.workdir / "function-tls"
        server.write(tls)
        (tls / "ca.crt").write_bytes(root["tls.crt"])
        self.kubectl("create", "secret", "tls", "function-tau-tls-server", "-n", CROSSPLANE_NAMESPACE,
                     f"--cert={tls / 'tls.crt'}", f"--key={tls / 'tls.key'}")  # fmt: skip
        self.start_function()
        # The package, in the cache under the name Crossplane gives a digest reference.
        stream = self.package_stream()
        digest = hashlib.sha256(stream).hexdigest()
        package = f"xpkg.local/function-tau@sha256:{digest}"
        cache = self.workdir / "xpkg-cache"
        (cache / f"xpkg-local-function-tau-sha256-{digest[:5]}.gz").write_bytes(gzip.compress(stream))
        nested = cache / "xpkg.local"
        nested.mkdir(exist_ok=True)
        (nested / f"function-tau@sha256:{digest}.gz").write_bytes(gzip.compress(stream))
        # 1.20 asks the registry for a digest even with IfNotPresent; Never reads the cache by package name.
        policy = "Never" if self.v120 else "IfNotPresent"
        self.apply([{
            "apiVersion": "pkg.crossplane.io/v1", "kind": "Function", "metadata": {"name": "function-tau"},
            "spec": {"package": package, "packagePullPolicy": policy},
        }])  # fmt: skip
        revision = self.wait("a FunctionRevision", lambda: self.items("functionrevisions.pkg.crossplane.io"),
                             timeout=60, proc=self.processes["crossplane"])  # fmt: skip
        name = revision[0]["metadata"]["name"]
        # What the package runtime would do: point the revision at the running function, and (2.x)
        # mark the runtime healthy as Crossplane's runtime reconciler does once its Deployment is up
        # (internal/controller/pkg/runtime/reconciler.go: RuntimeHealthy, reason HealthyPackageRevision).
        status: dict = {"endpoint": f"localhost:{FUNCTION_PORT}", "tlsServerSecretName": "function-tau-tls-server"}
        if not self.v120:
            rev = self.get("functionrevisions.pkg.crossplane.io", name) or {}
            conditions = [c for c in rev.get("status", {}).get("conditions", []) if c["type"] != "RuntimeHealthy"]
            conditions.append({
                "type": "RuntimeHealthy", "status": "True", "reason": "HealthyPackageRevision",
                "lastTransitionTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            })  # fmt: skip
            status["conditions"] = conditions
        self.patch_status("functionrevisions.pkg.crossplane.io", name, None, status)

        def healthy() -> bool:
            rev = self.get("functionrevisions.pkg.crossplane.io", name) or {}
            self.function_conditions = {c["type"]: c for c in rev.get("status", {}).get("conditions", [])}
            fn = self.get("functions.pkg.crossplane.io", "function-tau") or {}
            conds = {c["type"]: c["status"] for c in fn.get("status", {}).get("conditions", [])}
            return conds.get("Healthy") == "True" and conds.get("Installed") == "True"

        try:
            self.wait("Function function-tau Healthy", healthy, timeout=90, proc=self.processes["crossplane"])
        except ControlPlaneError:
            if not self.v120:
                raise
            # Known on 1.20 (issue #12): the tests on 1.20 report the revision's conditions.

    def start_function(self) -> Process:
        """`function-tau serve` with mTLS (and --debug: one log line per RunFunction call)."""
        proc = self.start_process("function-tau", [
            str(FUNCTION_TAU), "serve", "--debug", f"--address=127.0.0.1:{FUNCTION_PORT}",
            f"--tls-server-certs-dir={self.workdir / 'function-tls'}",
        ])  # fmt: skip
        self.wait("function-tau serve", lambda: self.port_open(FUNCTION_PORT), timeout=60, proc=proc)
        return proc

    def run_function_calls(self) -> int:
        """RunFunction calls the function has answered so far (its --debug log: one `composed` line per call)."""
        log = self.workdir / "logs" / "function-tau.log"
        try:
            return sum(1 for line in log.read_text(errors="replace").splitlines() if "composed" in line)
        except OSError:
            return 0

    # ---- provider-kubernetes -------------------------------------------------------------

    def provider_system_role(self) -> list[dict]:
        """What Crossplane's RBAC manager grants a provider's ServiceAccount besides the install's role.

        Crossplane v2.2.1 internal/controller/rbac/provider/roles/roles.go (RenderClusterRoles, the
        `system` role): get/list/watch/update/patch/create on each of the provider's own CRDs and their
        status, update on their finalizers, everything on secrets, configmaps, events and leases, and
        (SafeStart) get/list/watch on CRDs. Bound here to the ServiceAccount of 01, as the RBAC manager does.
        """
        resources: dict[str, list[str]] = {}
        for crd in self._crd_docs(CRDS / "provider-kubernetes"):
            resources.setdefault(crd["spec"]["group"], []).extend(
                [crd["spec"]["names"]["plural"], crd["spec"]["names"]["plural"] + "/status"]
            )
        system = ["get", "list", "watch", "update", "patch", "create"]
        rules = [{"apiGroups": [g], "resources": sorted(r), "verbs": system} for g, r in sorted(resources.items())]
        rules += [
            {"apiGroups": sorted(resources), "resources": ["*/finalizers"], "verbs": ["update"]},
            {"apiGroups": ["", "coordination.k8s.io"], "resources": ["secrets", "configmaps", "events", "leases"],
             "verbs": ["*"]},
            {"apiGroups": ["apiextensions.k8s.io"], "resources": ["customresourcedefinitions"],
             "verbs": ["get", "list", "watch"]},
        ]  # fmt: skip
        name = "crossplane:provider:provider-kubernetes:system"
        return [
            {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": name},
             "rules": rules},
            {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": name},
             "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
             "subjects": [{"kind": "ServiceAccount", "name": PROVIDER_SA, "namespace": CROSSPLANE_NAMESPACE}]},
        ]  # fmt: skip

    def _start_provider(self) -> None:
        self.apply((INSTALL / "01-provider-kubernetes-rbac.yaml").read_text())
        self.apply(self.provider_system_role())
        token = self.kubectl("create", "token", PROVIDER_SA, "-n", CROSSPLANE_NAMESPACE, "--duration=48h").stdout
        kubeconfig = self._kubeconfig(user={"token": token.strip()})
        self.provider_kubeconfig = self.workdir / "provider-kubernetes.kubeconfig"
        self.provider_kubeconfig.write_text(kubeconfig)
        self.provider_kubeconfig.chmod(0o600)
        self.apply([{
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": PROVIDER_KUBECONFIG_SECRET, "namespace": CROSSPLANE_NAMESPACE},
            "stringData": {"kubeconfig": kubeconfig},
        }, {
            # 07-provider-configs.yaml uses InjectedIdentity (in-cluster config, which cannot work out of
            # cluster); the same identity, the ServiceAccount of 01, comes here as a kubeconfig instead.
            "apiVersion": "kubernetes.crossplane.io/v1alpha1", "kind": "ProviderConfig",
            "metadata": {"name": "default"},
            "spec": {"credentials": {"source": "Secret", "secretRef": {
                "namespace": CROSSPLANE_NAMESPACE, "name": PROVIDER_KUBECONFIG_SECRET, "key": "kubeconfig"}}},
        }])  # fmt: skip
        args = _provider_args()
        proc = self.start_process("provider-kubernetes", [
            str(BIN / "provider-kubernetes"), *args, f"--health-probe-bind-addr=127.0.0.1:{PROVIDER_HEALTH_PORT}",
        ], env={"KUBECONFIG": str(self.provider_kubeconfig),
                "TLS_SERVER_CERTS_DIR": str(self.workdir / "provider-kubernetes-tls")})  # fmt: skip
        self.wait("provider-kubernetes", lambda: self.port_open(PROVIDER_HEALTH_PORT), timeout=60, proc=proc)

    # ---- CNPG ----------------------------------------------------------------------------

    def _start_cnpg(self) -> None:
        cwd = self.workdir / "cnpg"
        (cwd / "operator").mkdir(parents=True, exist_ok=True)
        # The operator fills status.availableArchitectures from operator/manager_<arch> next to it.
        arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(os.uname().machine, os.uname().machine)
        (cwd / "operator" / f"manager_{arch}").symlink_to(BIN / "cnpg-manager")
        self.start_cnpg_process()
        self._wire_cnpg_webhooks()

    def start_cnpg_process(self) -> Process:
        """The operator's `manager controller` (also used to restart it)."""
        proc = self.start_process("cnpg", [
            str(BIN / "cnpg-manager"), "controller", "--leader-elect=false", f"--webhook-port={CNPG_WEBHOOK_PORT}",
            f"--metrics-bind-address=127.0.0.1:{CNPG_METRICS_PORT}",
        ], env={
            "KUBECONFIG": str(self.kubeconfig), "OPERATOR_NAMESPACE": CNPG_NAMESPACE,
            "WATCH_NAMESPACE": OPERATED_NAMESPACE, "WEBHOOK_CERT_DIR": str(self.workdir / "cnpg-webhook"),
        }, cwd=self.workdir / "cnpg")  # fmt: skip
        self.wait("cnpg operator webhooks", lambda: self.port_open(CNPG_WEBHOOK_PORT), timeout=90, proc=proc)
        return proc

    def _wire_cnpg_webhooks(self) -> None:
        docs = [d for d in yaml.safe_load_all((BIN / "cnpg" / "webhook-manifests.yaml").read_text()) if d]
        ca = base64.b64encode(self.ca.cert).decode()
        for doc in docs:
            doc["metadata"]["name"] = f"cnpg-{doc['metadata']['name']}"
            for hook in doc["webhooks"]:
                path = hook["clientConfig"]["service"]["path"]
                hook["clientConfig"] = {"url": f"https://127.0.0.1:{CNPG_WEBHOOK_PORT}{path}", "caBundle": ca}
        self.apply(docs)

    # ---- the APIs --------------------------------------------------------------------------

    def _apply_apis(self) -> None:
        definitions = [APIS / d / "definition.yaml" for d in sorted(p.name for p in APIS.iterdir() if p.is_dir())]
        self.apply("\n---\n".join(p.read_text() for p in definitions))

        def offered() -> bool:
            xrds = self.items("compositeresourcedefinitions.apiextensions.crossplane.io")
            for xrd in xrds:
                conds = {c["type"]: c["status"] for c in xrd.get("status", {}).get("conditions", [])}
                wanted = ["Established"] + (["Offered"] if xrd["spec"].get("claimNames") else [])
                if any(conds.get(c) != "True" for c in wanted):
                    return False
            return len(xrds) == len(definitions)

        self.wait("XRDs Established and Offered", offered, timeout=120, proc=self.processes["crossplane"])

        def aggregated() -> bool:
            names = {r["metadata"]["name"] for r in self.items(
                "clusterroles", selector="rbac.crossplane.io/aggregate-to-crossplane=true")}  # fmt: skip
            xrds = self.items("compositeresourcedefinitions.apiextensions.crossplane.io")
            return all(f"crossplane:composite:{x['metadata']['name']}:aggregate-to-crossplane" in names for x in xrds)

        self.wait("the RBAC manager's roles of the XRDs", aggregated, timeout=60,
                  proc=self.processes["crossplane-rbac"])  # fmt: skip
        self.apply_compositions()

    def apply_compositions(self, inputs: dict[str, dict] | None = None) -> None:
        """Apply the Compositions of apis/ (with the pipeline input of a composition replaced, by name)."""
        docs = []
        for path in sorted(APIS.glob("*/composition.yaml")):
            for doc in yaml.safe_load_all(path.read_text()):
                if not doc:
                    continue
                if inputs and doc["metadata"]["name"] in inputs:
                    doc["spec"]["pipeline"][0]["input"] = inputs[doc["metadata"]["name"]]
                docs.append(doc)
        self.apply(docs)

    # ---- logs ------------------------------------------------------------------------------

    def logs(self, name: str, lines: int = 40) -> str:
        """The end of a component's log."""
        proc = self.processes.get(name)
        return proc.tail(lines) if proc else ""

    def describe_failure(self) -> str:
        """Which components died, with the end of their logs."""
        return "\n".join(f"{p.name} exited:\n{p.tail()}" for p in self.processes.values() if not p.alive())


def _provider_args() -> list[str]:
    """The provider's arguments from examples/install/02 (its DeploymentRuntimeConfig's container args)."""
    for doc in yaml.safe_load_all((INSTALL / "02-provider-kubernetes.yaml").read_text()):
        if doc and doc.get("kind") == "DeploymentRuntimeConfig":
            containers = doc["spec"]["deploymentTemplate"]["spec"]["template"]["spec"]["containers"]
            return [a for c in containers for a in c.get("args", [])]
    return []


@contextlib.contextmanager
def running(**kwargs: object) -> Iterator[ControlPlane]:
    """A started control plane, stopped (and its traces removed) on exit."""
    plane = ControlPlane(**kwargs)  # type: ignore[arg-type]
    plane.start()
    try:
        yield plane
    finally:
        plane.stop()


# ---- a cluster the suite is given --------------------------------------------------------------

# TAU_TARGET=kubeconfig: the control-plane checks marked `shared` run against the cluster in
# KUBECONFIG (a kind cluster, the home cluster) instead of a control plane of their own.
TARGET_ENV = "TAU_TARGET"
GIVEN = "kubeconfig"


def given_kubeconfig() -> str | None:
    """The KUBECONFIG of the cluster the checks are given (TAU_TARGET=kubeconfig), or None."""
    target = os.environ.get(TARGET_ENV)
    if not target:
        return None
    if target != GIVEN:
        raise ControlPlaneError(
            f"{TARGET_ENV}={target!r}: the only target is {GIVEN!r} (or unset: the local control plane)"
        )
    kubeconfig = os.environ.get("KUBECONFIG")
    if not kubeconfig:
        raise ControlPlaneError(f"{TARGET_ENV}={GIVEN} needs KUBECONFIG (the cluster to check)")
    return kubeconfig


class GivenCluster(ControlPlane):
    """A cluster the checks are given: only kubectl, against KUBECONFIG, from the caller's network.

    What the shared checks use of a control plane (kubectl, apply, get, items, wait) works the same;
    nothing is started or stopped, and there is no stand-in: a real cluster's CNPG and kubelet report.
    """

    def __init__(self, kubeconfig: str) -> None:
        super().__init__(netns="given")
        self.kubeconfig = pathlib.Path(kubeconfig)
        self.kubectl_binary = str(BIN / "kubectl") if (BIN / "kubectl").exists() else "kubectl"

    def ns(self, *argv: str, netns: str | None = None) -> list[str]:
        """Commands run where the caller is: its network reaches the cluster."""
        del netns
        return list(argv)

    def start(self) -> GivenCluster:
        """Nothing to start: the cluster runs."""
        return self

    def stop(self, *, keep: bool = False) -> None:
        """Nothing to stop; the scratch folder goes."""
        del keep
        shutil.rmtree(self.workdir, ignore_errors=True)
