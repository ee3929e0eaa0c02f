"""The `function-tau` command line.

function-tau serve [--insecure] [--address HOST:PORT] [--tls-certs-dir DIR] [--debug]
function-tau render CLAIM.yaml [...] [--observed-resources F] [--required-resources F] [--input F]
function-tau generate [--check]
"""

from __future__ import annotations

import pathlib
import sys

import click
import yaml
from crossplane.function import cli as sdkcli
from crossplane.function import logging

from function import generate as generate_module
from function import render as render_module
from function import simulate
from function.__version__ import __version__


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


def _load(paths: tuple[str, ...]) -> list[dict]:
    docs: list[dict] = []
    for path in paths:
        files = sorted(pathlib.Path(path).glob("*.yaml")) if pathlib.Path(path).is_dir() else [pathlib.Path(path)]
        for file in files:
            try:
                docs.extend(d for d in yaml.safe_load_all(file.read_text()) if d)
            except (OSError, yaml.YAMLError) as exc:
                raise click.ClickException(f"{file}: {exc}") from None
    for doc in docs:
        if not isinstance(doc, dict):
            raise click.ClickException(f"{path}: every YAML document must be an object")
    return docs


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
        (doc,) = _load((input_file,))[:1] or ({},)
        if doc.get("kind") == "Composition":
            doc = ((doc.get("spec") or {}).get("pipeline") or [{}])[0].get("input") or {}
        function_input = doc
    observed_docs, required_docs = _load(observed), _load(required)
    out: list[dict] = []
    failed = False
    for claim in _load(claims):
        try:
            rendered = render_module.render(
                claim,
                observed=observed_docs,
                required=required_docs,
                function_input=function_input,
                show_secrets=show_secrets,
                assume_ready=assume_ready,
            )
        except simulate.ClaimError as exc:
            raise click.ClickException(str(exc)) from None
        out.append(rendered.composite)
        out.extend(rendered.resources)
        if include_function_results:
            out.extend({"apiVersion": "render.crossplane.io/v1beta1", "kind": "Result", **r} for r in rendered.results)
        for result in rendered.results:
            if result.get("severity") == "SEVERITY_FATAL":
                failed = True
                click.echo(f"{claim['metadata'].get('name')}: {result.get('message')}", err=True)
    # Keys sorted as `crossplane render` prints them, so the two outputs diff cleanly.
    click.echo(generate_module.dump(out, sort_keys=True), nl=False)
    if failed:
        sys.exit(3)  # as `crossplane render` does for a fatal result


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
