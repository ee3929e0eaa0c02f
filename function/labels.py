"""The labels by which Crossplane 1.20 finds the namespaced objects the function reads.

Crossplane 1.20 cannot fetch a namespaced object by name (its resource
selector has no namespace), only list by labels across every namespace; see
`function.outcome.Requirement`. So each namespaced object the function reads
carries labels that pick it out:

- the credentials Secret: the ones the function composes it with
  (`credentials_labels`); a Secret brought by the user needs them too;
- the Backup a claim restores from: `tau.home.arpa/backup=<backup name>`, put
  on by the user;
- the platform's object store credentials Secret:
  `tau.home.arpa/object-store-credentials=<secret name>`, put on by the admin.

Crossplane 2.x fetches by name and namespace and needs none of them.
`Observed.required` keeps only the object of the asked namespace and name,
whatever a label selector returned.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

CLUSTER = "tau.home.arpa/cluster"
NAMESPACE = "tau.home.arpa/namespace"
BACKUP = "tau.home.arpa/backup"
OBJECT_STORE_CREDENTIALS = "tau.home.arpa/object-store-credentials"
MANAGED_BY = ("app.kubernetes.io/managed-by", "function-tau")

# A label value is at most 63 characters.
LABEL_VALUE_MAX = 63
_MAX_VALUE = LABEL_VALUE_MAX
_HASH = 10


def value(name: str) -> str:
    """A label value that stands for an object's name: the name itself when it fits, else cut and hashed.

    A Kubernetes object name (a DNS subdomain: lower-case letters, digits, '-'
    and '.', starting and ending with a letter or digit) of at most 63
    characters is a valid label value as it is; a longer one is cut and ends
    with a hash of the whole name, so it stays valid and distinct.
    """
    if len(name) <= _MAX_VALUE:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:_HASH]
    return name[: _MAX_VALUE - _HASH - 1].rstrip("-.") + "-" + digest


def credentials_labels(cluster: str, namespace: str) -> dict[str, str]:
    """The labels of a claim's credentials Secret that Crossplane 1.20 selects it by (the cluster name is ≤ 50)."""
    return {MANAGED_BY[0]: MANAGED_BY[1], CLUSTER: cluster, NAMESPACE: value(namespace)}


def kubectl_label(resource: str, name: str, namespace: str, labels: Mapping[str, str]) -> str:
    """The command that puts `labels` on an object (`--overwrite`, so it also corrects a wrong value)."""
    pairs = " ".join(f"{key}={val}" for key, val in labels.items())
    return f"kubectl label {resource} {name} -n {namespace} --overwrite {pairs}"
