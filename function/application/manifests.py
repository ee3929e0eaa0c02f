"""The manifests of an application: pure functions of its plan.

The database's credentials reach the container as `secretKeyRef` environment
variables; a variable the user sets wins.
"""

from __future__ import annotations

from function.api.application import Ingress
from function.application.plan import ApplicationPlan

PORT_NAME = "http"
SERVICE_PORT = 80
CLUSTER_ISSUER_ANNOTATION = "cert-manager.io/cluster-issuer"
# The credentials Secret keys every container gets (the Pulumi plan's
# getDatabaseEnvironmentVariables), in this order.
INJECTED_VARIABLES = ("DATABASE_URL", "DB_HOST", "DB_PORT", "DB_NAME", "DB_USER", "DB_PASSWORD")
# And, for a database on an instance with a pooler, the same database through PgBouncer.
POOLER_VARIABLE = "DATABASE_POOLER_URL"


def environment(plan: ApplicationPlan) -> list[dict]:
    """The container's environment: the injected database variables, then the user's.

    A user's variable replaces the injected one of the same name (it is not
    listed twice). The user's come last, in their order, so their values can
    refer to the injected ones with $(DB_HOST).
    """
    own = {var.name for var in plan.spec.env}
    injected = (
        [
            {"name": key, "valueFrom": {"secretKeyRef": {"name": plan.secret, "key": key}}}
            for key in INJECTED_VARIABLES
            if key not in own
        ]
        if plan.secret
        else []
    )
    if plan.secret and plan.pooler and POOLER_VARIABLE not in own:
        # Optional: the key comes and goes with the instance's pooler, and a missing key must not stop the pod.
        ref = {"name": plan.secret, "key": POOLER_VARIABLE, "optional": True}
        injected.append({"name": POOLER_VARIABLE, "valueFrom": {"secretKeyRef": ref}})
    return injected + [{"name": var.name, "value": var.value} for var in plan.spec.env]


def container(plan: ApplicationPlan) -> dict:
    """The application's one container, named after the claim.

    It may not gain privileges (setuid binaries, no_new_privs); the user the
    image runs as is kept, so images that start as root still work.
    """
    spec = plan.spec
    out: dict = {"name": plan.name, "image": spec.image}
    if spec.command:
        out["command"] = list(spec.command)
    if spec.args:
        out["args"] = list(spec.args)
    env = environment(plan)
    if env:
        out["env"] = env
    if spec.port is not None:
        out["ports"] = [{"name": PORT_NAME, "containerPort": spec.port, "protocol": "TCP"}]
    resources = spec.resources.manifest() if spec.resources else {}
    if resources:
        out["resources"] = resources
    out["securityContext"] = {"allowPrivilegeEscalation": False}
    return out


def deployment_manifest(plan: ApplicationPlan, *, pod_annotations: dict[str, str] | None = None) -> dict:
    """The Deployment.

    Service links are off: Kubernetes would otherwise add variables such as
    POSTGRES_EXAMPLE_PORT=tcp://... for every Service in the namespace, which
    clash with application settings. The API token is not mounted: the
    application gets no Kubernetes API permissions anyway. `pod_annotations`
    (the password rotation) change the pod template, so the pods restart.
    """
    template_metadata: dict = {"labels": plan.labels}
    if pod_annotations:
        template_metadata["annotations"] = dict(pod_annotations)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": plan.name, "namespace": plan.namespace, "labels": plan.labels},
        "spec": {
            "replicas": plan.spec.replicas,
            "selector": {"matchLabels": plan.selector},
            "template": {
                "metadata": template_metadata,
                "spec": {
                    "automountServiceAccountToken": False,
                    "enableServiceLinks": False,
                    "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
                    "containers": [container(plan)],
                },
            },
        },
    }


def service_manifest(plan: ApplicationPlan, port: int) -> dict:
    """The Service: http://<name>.<namespace>.svc (port 80) reaches the application's `port`."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": plan.name, "namespace": plan.namespace, "labels": plan.labels},
        "spec": {
            "type": "ClusterIP",
            "selector": plan.selector,
            "ports": [{"name": PORT_NAME, "port": SERVICE_PORT, "targetPort": port, "protocol": "TCP"}],
        },
    }


def ingress_manifest(plan: ApplicationPlan, ingress: Ingress) -> dict:
    """The Ingress; with TLS, cert-manager's ingress-shim issues the certificate from the ClusterIssuer."""
    metadata: dict = {"name": plan.name, "namespace": plan.namespace, "labels": plan.labels}
    spec: dict = {}
    if ingress.className:
        spec["ingressClassName"] = ingress.className
    if ingress.tls:
        metadata["annotations"] = {CLUSTER_ISSUER_ANNOTATION: ingress.tls.clusterIssuer}
        spec["tls"] = [{"hosts": [ingress.host], "secretName": plan.tls_secret}]
    backend = {"service": {"name": plan.name, "port": {"name": PORT_NAME}}}
    spec["rules"] = [
        {"host": ingress.host, "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": backend}]}}
    ]
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": metadata, "spec": spec}
