# syntax=docker/dockerfile:1
# The function's image: `function-tau serve` on port 9443, as Crossplane runs it
# (Crossplane mounts the TLS certificates and sets TLS_SERVER_CERTS_DIR).
#
# Both stages start from the same image, so the interpreter the wheel and its
# dependencies were installed for is the one that runs them (the virtual
# environment's python is a link to it). Multi-arch: the base image and every
# dependency has linux/amd64 and linux/arm64 builds, so
#   docker buildx build --platform linux/amd64,linux/arm64 .
# builds for a Raspberry Pi too, without compiling anything.
ARG PYTHON_IMAGE=docker.io/library/python:3.11-slim-trixie

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /venv
WORKDIR /src
COPY pyproject.toml README.md ./
COPY function ./function
# The package and its pinned dependencies (the SDK pins grpcio and protobuf), no
# build tools in the result; then compile the bytecode once, here, so the
# read-only runtime never writes it.
RUN /venv/bin/pip install --no-compile . \
 && /venv/bin/python -m compileall -q /venv/lib

# The image of the logical dump jobs (backup.dump, issue #9): `docker buildx build --target pgdump`,
# published as ghcr.io/<owner>/function-tau-pgdump:<version>. Debian trixie's own packages only:
# postgresql-client 17 (pg_dump dumps servers up to its own major: PostgreSQL 14 to 17), gnupg
# and gzip, for linux/amd64 and linux/arm64. The scripts come from a ConfigMap, not the image.
# Declared before `runtime`, so a build without --target still builds the function.
FROM docker.io/library/debian:trixie-slim AS pgdump
RUN apt-get update \
 && apt-get install -y --no-install-recommends postgresql-client-17 gnupg gzip ca-certificates \
 && rm -rf /var/lib/apt/lists/*
LABEL org.opencontainers.image.title="function-tau-pgdump" \
      org.opencontainers.image.description="pg_dump, gzip and gpg for function-tau's encrypted logical dumps" \
      org.opencontainers.image.licenses="Apache-2.0"
USER 65532:65532
ENTRYPOINT ["bash"]

FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="function-tau" \
      org.opencontainers.image.description="Crossplane composition function: PostgreSQL on CloudNativePG for home clusters" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /venv /venv
ENV PATH=/venv/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
# Not root: a fixed numeric uid/gid, so runAsNonRoot can verify it.
USER 65532:65532
EXPOSE 9443
ENTRYPOINT ["function-tau", "serve"]
