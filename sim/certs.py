"""A small private certificate authority for the broker's TLS listener.

The broker accepts only clients whose certificate was signed by the project's
own CA (``require_certificate true``), so tests, the demo and a first
installation all need one CA, one server certificate and one client
certificate per account. Keys are ECDSA P-256: a key and its certificate take
about 0.1 ms, an RSA-2048 key alone about 30 ms (``make bench-broker``).
Validity windows come from the caller's ``now``.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_BACKDATE = timedelta(hours=1)
"""Certificates start an hour before ``now``: a gateway clock slightly behind still accepts them."""


@dataclass(frozen=True, slots=True)
class CertKey:
    """A certificate and its private key."""

    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @property
    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    @property
    def key_pem(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def write(self, cert_path: Path, key_path: Path) -> None:
        """Write both as PEM; the key file is readable by its owner only.

        :param cert_path: where the certificate goes.
        :param key_path: where the unencrypted private key goes (mode 0600).
        """
        cert_path.write_bytes(self.cert_pem)
        key_path.touch(mode=0o600)
        key_path.chmod(0o600)
        key_path.write_bytes(self.key_pem)


def make_ca(common_name: str, now: datetime, days: int = 3650) -> CertKey:
    """A self-signed CA that may sign end-entity certificates only.

    :param common_name: the CA's subject CN, e.g. ``Driftvakt test CA``.
    :param now: aware UTC time the validity window is counted from.
    :param days: validity in days.
    """
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name(common_name)
    builder = (
        _builder(name, name, key.public_key(), now, days)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    return CertKey(builder.sign(key, hashes.SHA256()), key)


def make_server_cert(ca: CertKey, hosts: list[str], now: datetime, days: int = 825) -> CertKey:
    """The broker's certificate, valid for each of ``hosts`` (names or IP addresses).

    Clients verify the host name against the SAN, never the CN, so every name a
    client dials (``localhost``, ``127.0.0.1``, the production host) must be listed.

    :param ca: the signing CA.
    :param hosts: DNS names and IP addresses; the first is also the CN.
    :param now: aware UTC time the validity window is counted from.
    :param days: validity in days.
    """
    if not hosts:
        raise ValueError("a server certificate needs at least one host name or address")
    sans: list[x509.GeneralName] = []
    for host in hosts:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            sans.append(x509.DNSName(host))
    return _leaf(ca, hosts[0], ExtendedKeyUsageOID.SERVER_AUTH, now, days, sans)


def make_client_cert(ca: CertKey, common_name: str, now: datetime, days: int = 825) -> CertKey:
    """A client certificate whose CN is the broker account name.

    :param ca: the signing CA.
    :param common_name: the account's user name (``gw-0042``, ``central``).
    :param now: aware UTC time the validity window is counted from.
    :param days: validity in days.
    """
    return _leaf(ca, common_name, ExtendedKeyUsageOID.CLIENT_AUTH, now, days, [])


def _leaf(
    ca: CertKey,
    common_name: str,
    usage: x509.ObjectIdentifier,
    now: datetime,
    days: int,
    sans: list[x509.GeneralName],
) -> CertKey:
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (
        _builder(_name(common_name), ca.cert.subject, key.public_key(), now, days)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False
        )
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return CertKey(builder.sign(ca.key, hashes.SHA256()), key)


def _builder(
    subject: x509.Name,
    issuer: x509.Name,
    public_key: ec.EllipticCurvePublicKey,
    now: datetime,
    days: int,
) -> x509.CertificateBuilder:
    if now.tzinfo is None:
        raise ValueError("now must be an aware UTC datetime")
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(now + timedelta(days=days))
    )


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Driftvakt"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )
