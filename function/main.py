"""The `function-tau` command line.

function-tau serve [--insecure] [--address HOST:PORT] [--tls-certs-dir DIR] [--debug]
function-tau render CLAIM.yaml [...]  (exit 3: the function refused a claim; 4: the API server would)
                    [--observed-resources F] [--required-resources F] [--input F]
function-tau generate [--check]
function-tau install-manifests [--registry R] [--version V] (--output DIR | --in-place | --check)
function-tau compositions DEFAULTS.yaml [--output-dir DIR]
function-tau preflight [--context NAME]
"""

from __future__ import annotations

import dataclasses
import functools
import pathlib
import sys

import click
import yaml
from crossplane.function import cli as sdkcli
from crossplane.function import logging

from function import admission, install, kinds, shapes, simulate
from function import generate as generate_module
from function import render as render_module
from function.__version__ import __version__

# Exit codes of `render`: 1 unreadable input, 2 usage (click), 3 the function refused a claim (a fatal
# result, as `crossplane render` fails), 4 the API server would refuse a claim before any function runs.
EXIT_FUNCTION_REFUSED = 3
EXIT_REFUSED_BY_API_SERVER = 4


@click.group()
@click.version_option(__version__, prog_name="function-tau")
def cli() -> None:
    """function-tau: PostgreSQL databases as a service on CloudNativePG, as a Crossplane function."""


@cli.command()
@sdkcli.standard_options
def serve(**kwargs: object) -> None:
    """Serve the function over gRPC, as Crossplane runs it (0.0.0.0:9443, mTLS from TLS_SERVER_CERTS_DIR)."""
    from function import fn  # noqa: PLC0415 - keeps `render` and `generate` start-up light

    sdkcli.run(fn.FunctionRunner(), **kwargs)  # type: ignore[arg-type]


@dataclasses.dataclass(frozen=True)
class Document:
    """A YAML document and the file it came from, so that every message names the right file."""

    source: str
    body: dict

    def describe(self) -> str:
        """`file: Kind namespace/name`, as error lines start."""
        meta = self.body.get("metadata") if isinstance(self.body.get("metadata"), dict) else {}
        where = f"{meta['namespace']}/" if meta.get("namespace") else ""
        return f"{self.source}: {self.body.get('kind', 'document')} {where}{meta.get('name', '')}".rstrip()


def _files(path: str) -> list[pathlib.Path]:
    given = pathlib.Path(path)
    return sorted(given.glob("*.yaml")) if given.is_dir() else [given]


def _documents(paths: tuple[str, ...], *, required: bool = False) -> list[Document]:
    """Every YAML document of the files (or folders of .yaml files); `required`: a file without one is an error."""
    docs: list[Document] = []
    for file in (f for path in paths for f in _files(path)):
        try:
            loaded = [d for d in yaml.safe_load_all(file.read_text()) if d is not None]
        except (OSError, yaml.YAMLError) as exc:
            raise click.ClickException(f"{file}: {exc}") from None
        if required and not loaded:
            raise click.ClickException(f"{file}: no YAML documents in it: nothing to render")
        for body in loaded:
            if not isinstance(body, dict):
                raise click.ClickException(
                    f"{file}: every YAML document must be an object, found {type(body).__name__}"
                )
            docs.append(Document(str(file), body))
    return docs


def _refused_by_the_api_server(doc: Document) -> list[str]:
    """What `kubectl apply` of this document would be refused for (empty for kinds that are not ours)."""
    api_version = doc.body.get("apiVersion")
    if shapes.is_modern(api_version):  # a Crossplane 2 composite: its v2 XRD's schema
        modern = kinds.of_composite(api_version, doc.body.get("kind"))
        return [] if modern is None else admission.admit(doc.body, modern[0].definition.xrd_v2())
    found = kinds.of_document(doc.body.get("kind"))
    if found is None:
        return []
    return admission.admit(doc.body, _xrd(found[0].composite_kind))


@functools.cache
def _xrd(composite_kind: str) -> dict:
    kind = kinds.by_composite_kind(composite_kind)
    assert kind is not None  # of_document found it
    return kind.definition.xrd()


@cli.command()
@click.argument("claims", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--observed-resources", "-o", "observed", multiple=True, type=click.Path(exists=True),
    help="YAML of composed resources as Crossplane observed them (annotated crossplane.io/composition-resource-name).",
)  # fmt: skip
@click.option(
    "--required-resources", "-e", "required", multiple=True, type=click.Path(exists=True),
    help="YAML of resources the function may ask for (the credentials Secret, a Backup to restore).",
)  # fmt: skip
@click.option(
    "--input", "-i", "input_file", type=click.Path(exists=True, dir_okay=False),
    help="The function input (a PlatformDefaults, or a Composition whose first step's input is used).",
)  # fmt: skip
@click.option("--include-function-results", "-r", is_flag=True, help="Also print the function's results.")
@click.option("--show-secrets", is_flag=True, help="Print passwords and access keys instead of <redacted>.")
@click.option(
    "--assume-ready", is_flag=True,
    help="Reconcile until steady state, as if every composed resource became ready: shows everything a claim becomes.",
)  # fmt: skip
def render(  # noqa: PLR0913 - click passes one parameter per option
    *,
    claims: tuple[str, ...],
    observed: tuple[str, ...],
    required: tuple[str, ...],
    input_file: str | None,
    include_function_results: bool,
    show_secrets: bool,
    assume_ready: bool,
) -> None:
    """Render claims to the resources they become, in-process, with no cluster."""
    logging.configure(level=logging.Level.DISABLED)
    function_input = None
    if input_file:
        (doc,) = [d.body for d in _documents((input_file,))][:1] or ({},)
        if doc.get("kind") == "Composition":
            doc = ((doc.get("spec") or {}).get("pipeline") or [{}])[0].get("input") or {}
        function_input = doc
    observed_docs = [d.body for d in _documents(observed)]
    claim_docs = _documents(claims, required=True)
    # The claims rendered together see each other's composites, as they would in a cluster
    # (a PostgresDatabase finds the PostgresInstance its instanceRef names).
    required_docs = [d.body for d in _documents(required)] + _composites(claim_docs)
    out: list[dict] = []
    exit_code = 0
    for claim in claim_docs:
        problems = _refused_by_the_api_server(claim)
        if problems:
            click.echo(admission.refusal(claim.body, problems, claim.source), err=True)
            exit_code = max(exit_code, EXIT_REFUSED_BY_API_SERVER)
            continue
        try:
            rendered = render_module.render(
                claim.body,
                observed=observed_docs,
                required=required_docs,
                function_input=function_input,
                show_secrets=show_secrets,
                assume_ready=assume_ready,
            )
        except simulate.ClaimError as exc:
            raise click.ClickException(f"{claim.describe()}: {exc}") from None
        fatal = [r for r in rendered.results if r.get("severity") == "SEVERITY_FATAL"]
        for result in fatal:
            click.echo(f"{claim.describe()}: the function refused it: {result.get('message')}", err=True)
        if fatal:
            # As `crossplane render`: a fatal result renders nothing for that claim.
            exit_code = max(exit_code, EXIT_FUNCTION_REFUSED)
            continue
        out.append(rendered.composite)
        out.extend(rendered.resources if show_secrets else map(render_module.show_redactions, rendered.resources))
        if include_function_results:
            out.extend({"apiVersion": "render.crossplane.io/v1beta1", "kind": "Result", **r} for r in rendered.results)
    # Keys sorted as `crossplane render` prints them, so the two outputs diff cleanly.
    click.echo(generate_module.dump(out, sort_keys=True), nl=False)
    sys.exit(exit_code)


def _composites(claims: list[Document]) -> list[dict]:
    """The composites of the claims (and composites) that can be simulated; the others are reported when rendered."""
    found = []
    for claim in claims:
        try:
            found.append(simulate.to_composite(claim.body))
        except simulate.ClaimError:
            continue
    return found


@cli.command()
@click.option("--check", is_flag=True, help="Fail if a generated file is out of date instead of writing it.")
@click.option("--root", type=click.Path(file_okay=False), default=".", help="The repository root.")
def generate(*, check: bool, root: str) -> None:
    """Write the XRDs, Compositions and input CRD generated from the API models."""
    stale = generate_module.run(pathlib.Path(root), check=check)
    if check and stale:
        raise click.ClickException("out of date (run `function-tau generate`): " + ", ".join(stale))
    for path in stale:
        click.echo(f"wrote {path}")


# The install manifests for a registry, the admin's Compositions, the check before installing (function/install.py).
cli.add_command(install.install_manifests)
cli.add_command(install.compositions_command)
cli.add_command(install.preflight_command)
# The files that name the Crossplane 2 APIs' package (apis-v2/crossplane.yaml, examples/v2/install/09).
cli.add_command(install.install_manifests_v2)
