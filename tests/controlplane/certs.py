"""Certificates for the local control plane, made with `cryptography` (no openssl, no cfssl).

One cluster CA signs the API server's serving certificate, the admin client
certificate (group `system:masters`) and the webhook serving certificates of
provider-kubernetes and the CNPG operator. The function's server certificate is
signed by Crossplane's own root CA (the `crossplane-root-ca` Secret `core init`
makes), as Crossplane's package runtime would do.
"""

from __future__ import annotations

import dataclasses
import datetime
import ipaddress
import pathlib
import warnings

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

LOOPBACK = ipaddress.ip_address("127.0.0.1")


@dataclasses.dataclass
class KeyPair:
    """A certificate and its private key, PEM encoded."""

    cert: bytes
    key: bytes

    def write(self, directory: pathlib.Path, cert_name: str = "tls.crt", key_name: str = "tls.key") -> None:
        """Write both files into `directory` (created if needed)."""
        directory.mkdir(parents=True, exist_ok=True)
        (directory / cert_name).write_bytes(self.cert)
        (directory / key_name).write_bytes(self.key)
        (directory / key_name).chmod(0o600)


def _key_pem(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


_CA_USAGE = x509.KeyUsage(
    digital_signature=True,
    key_cert_sign=True,
    crl_sign=True,
    content_commitment=False,
    key_encipherment=False,
    data_encipherment=False,
    key_agreement=False,
    encipher_only=False,
    decipher_only=False,
)


def new_ca(common_name: str) -> KeyPair:
    """A self-signed CA, valid for a week."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - datetime.timedelta(minutes=5))
        .not_valid_after(_now() + datetime.timedelta(days=7))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_CA_USAGE, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return KeyPair(cert.public_bytes(serialization.Encoding.PEM), _key_pem(key))


def issue(
    ca: KeyPair,
    common_name: str,
    *,
    dns: tuple[str, ...] = (),
    ips: tuple[ipaddress.IPv4Address, ...] = (),
    organizations: tuple[str, ...] = (),
    usages: tuple[str, ...] = ("server",),
) -> KeyPair:
    """A leaf certificate signed by `ca` (any CA key type `cryptography` loads, ECDSA or RSA)."""
    with warnings.catch_warnings():
        # Crossplane's root CA names its country "Earth": more than the two letters X.509 wants.
        warnings.simplefilter("ignore", UserWarning)
        ca_cert = x509.load_pem_x509_certificate(ca.cert)
        issuer = ca_cert.subject
    ca_key = serialization.load_pem_private_key(ca.key, password=None)
    key = ec.generate_private_key(ec.SECP256R1())
    attributes = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, org) for org in organizations]
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    oids = {"server": ExtendedKeyUsageOID.SERVER_AUTH, "client": ExtendedKeyUsageOID.CLIENT_AUTH}
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name(attributes))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - datetime.timedelta(minutes=5))
        .not_valid_after(_now() + datetime.timedelta(days=7))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([oids[u] for u in usages]), critical=False)
    )
    sans: list[x509.GeneralName] = [x509.DNSName(d) for d in dns]
    sans += [x509.IPAddress(ip) for ip in ips]
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())  # type: ignore[arg-type]
    return KeyPair(cert.public_bytes(serialization.Encoding.PEM), _key_pem(key))


def service_account_key() -> bytes:
    """An RSA key the API server signs ServiceAccount tokens with (PEM, PKCS#8)."""
    return _key_pem(rsa.generate_private_key(public_exponent=65537, key_size=2048))
