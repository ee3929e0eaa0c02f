"""mTLS: the function serves only a client that shows a certificate from the CA it was given.

Crossplane mounts a Secret with `tls.crt`, `tls.key` (the function's certificate, for the
function's Service) and `ca.crt` (the CA that signed Crossplane's client certificate) and
sets TLS_SERVER_CERTS_DIR to it; the image runs `function-tau serve` with no `--insecure`.
The certificates here are made the way Crossplane makes them (internal/initializer/tls.go,
v2.2.1: RSA 2048, a self-signed CA, the server named after the Service
`function-tau.crossplane-system`, the client `crossplane.crossplane-system` with the
client-auth usage), and the client dials the name Crossplane dials.
"""

from __future__ import annotations

import dataclasses
import datetime
import pathlib
import time

import grpc
import pytest
from crossplane.function.proto.v1 import run_function_pb2 as fnv1
from crossplane.function.proto.v1 import run_function_pb2_grpc as grpcv1
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from function import keys
from tests.support import crossplane
from tests.support import function as f

SERVICE = "function-tau.crossplane-system"  # what Crossplane dials (<service>.<namespace>:9443)
SERVER_NAMES = ["function-tau", SERVICE, f"{SERVICE}.svc"]  # initializer.DNSNamesForService
CLIENT_NAME = "crossplane.crossplane-system"


@dataclasses.dataclass(frozen=True)
class Pair:
    """A PEM key and certificate."""

    key: bytes
    cert: bytes


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _name(text: str) -> x509.Name:
    return x509.Name(
        [x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Crossplane"), x509.NameAttribute(NameOID.COMMON_NAME, text)]
    )


_CA_USAGE = x509.KeyUsage(
    digital_signature=False,
    content_commitment=False,
    key_encipherment=False,
    data_encipherment=False,
    key_agreement=False,
    key_cert_sign=True,
    crl_sign=True,
    encipher_only=False,
    decipher_only=False,
)


def make_ca(name: str) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    """A self-signed CA, as Crossplane's root CA."""
    key = _key()
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(name))
        .issuer_name(_name(name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_CA_USAGE, critical=True)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def issue(ca: tuple[rsa.RSAPrivateKey, x509.Certificate], names: list[str], usage: x509.ObjectIdentifier, *,
          expired: bool = False) -> Pair:  # fmt: skip
    """A leaf certificate signed by `ca` for `names`, with one extended key usage."""
    ca_key, ca_cert = ca
    key = _key()
    now = datetime.datetime.now(datetime.UTC)
    start, end = (now - datetime.timedelta(days=30), now - datetime.timedelta(days=1)) if expired else (
        now - datetime.timedelta(minutes=5), now + datetime.timedelta(days=365))  # fmt: skip
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(names[0]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return Pair(_pem(key), cert.public_bytes(serialization.Encoding.PEM))


@dataclasses.dataclass(frozen=True)
class PKI:
    """Everything the tests need: the directory Crossplane would mount, and the clients' credentials."""

    directory: pathlib.Path
    ca: bytes
    client: Pair
    expired_client: Pair
    foreign_ca: bytes
    foreign_client: Pair


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> PKI:
    ca, foreign = make_ca("crossplane-root-ca"), make_ca("somebody-elses-ca")
    server = issue(ca, SERVER_NAMES, ExtendedKeyUsageOID.SERVER_AUTH)
    directory = tmp_path_factory.mktemp("tls-server")
    (directory / "tls.crt").write_bytes(server.cert)
    (directory / "tls.key").write_bytes(server.key)
    ca_pem = ca[1].public_bytes(serialization.Encoding.PEM)
    (directory / "ca.crt").write_bytes(ca_pem)
    return PKI(
        directory=directory,
        ca=ca_pem,
        client=issue(ca, [CLIENT_NAME], ExtendedKeyUsageOID.CLIENT_AUTH),
        expired_client=issue(ca, [CLIENT_NAME], ExtendedKeyUsageOID.CLIENT_AUTH, expired=True),
        foreign_ca=foreign[1].public_bytes(serialization.Encoding.PEM),
        foreign_client=issue(foreign, [CLIENT_NAME], ExtendedKeyUsageOID.CLIENT_AUTH),
    )


@pytest.fixture(scope="module")
def tls_address(pki: PKI) -> str:
    """`function-tau serve --tls-certs-dir DIR`: mTLS only."""
    with crossplane.served("--tls-certs-dir", str(pki.directory)) as address:
        yield address


def call(address: str, credentials: grpc.ChannelCredentials | None) -> fnv1.RunFunctionResponse:
    """RunFunction with the given channel credentials (None: plaintext), dialing the name Crossplane dials."""
    req = f.request(f.composite("PostgresDatabase", {"extensions": ["pgcrypto"]}))
    if credentials is None:
        channel = grpc.insecure_channel(address)
    else:
        channel = grpc.secure_channel(address, credentials, options=[("grpc.ssl_target_name_override", SERVICE)])
    with channel:
        return grpcv1.FunctionRunnerServiceStub(channel).RunFunction(req, timeout=10)


def refused(address: str, credentials: grpc.ChannelCredentials | None) -> grpc.RpcError:
    """The error a refused client gets: at once (the handshake fails), not after its deadline."""
    start = time.monotonic()
    with pytest.raises(grpc.RpcError) as error:
        call(address, credentials)
    assert error.value.code() == grpc.StatusCode.UNAVAILABLE, error.value
    assert time.monotonic() - start < 9  # the deadline is 10 s: refused, not hanging
    return error.value


def served_right(address: str, pki: PKI) -> None:
    rsp = call(address, grpc.ssl_channel_credentials(pki.ca, pki.client.key, pki.client.cert))
    assert f.fatal(rsp) is None
    assert list(rsp.desired.resources) == [keys.CREDENTIALS]


def test_a_client_with_the_right_ca_and_certificate_is_served(tls_address, pki):
    served_right(tls_address, pki)


def test_a_plaintext_client_is_refused(tls_address):
    refused(tls_address, None)


def test_a_client_certificate_from_another_ca_is_refused(tls_address, pki):
    refused(tls_address, grpc.ssl_channel_credentials(pki.ca, pki.foreign_client.key, pki.foreign_client.cert))


def test_a_client_without_a_certificate_is_refused(tls_address, pki):
    refused(tls_address, grpc.ssl_channel_credentials(pki.ca))


def test_an_expired_client_certificate_is_refused(tls_address, pki):
    refused(tls_address, grpc.ssl_channel_credentials(pki.ca, pki.expired_client.key, pki.expired_client.cert))


def test_a_client_that_trusts_another_ca_does_not_accept_the_server(tls_address, pki):
    """The server shows the certificate from tls.crt, which only the mounted CA vouches for."""
    refused(tls_address, grpc.ssl_channel_credentials(pki.foreign_ca, pki.client.key, pki.client.cert))


def test_refusals_do_not_disturb_the_server(tls_address, pki):
    for _ in range(3):
        refused(tls_address, None)
        refused(tls_address, grpc.ssl_channel_credentials(pki.ca, pki.foreign_client.key, pki.foreign_client.cert))
    served_right(tls_address, pki)


def test_tls_server_certs_dir_in_the_environment_works_too(pki):
    """What Crossplane does: the directory in TLS_SERVER_CERTS_DIR, no flag (and no --insecure)."""
    with crossplane.served("--debug", env={"TLS_SERVER_CERTS_DIR": str(pki.directory)}) as address:
        served_right(address, pki)
        refused(address, None)
        refused(address, grpc.ssl_channel_credentials(pki.ca, pki.foreign_client.key, pki.foreign_client.cert))
