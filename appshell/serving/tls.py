"""``--cert`` and ``--key``: understood together when parsed, loaded when checked."""

from __future__ import annotations

import os
import re
import typing as t

import click

from ..exceptions import AppShellUsageError, UserCodeError

if t.TYPE_CHECKING:
    import ssl

__all__ = ["CertFiles", "TlsOption", "load_tls", "tls_from_options", "write_adhoc_pair"]


class CertFiles(t.NamedTuple):
    """``--cert FILE --key FILE``: the certificate chain and its private key, as paths."""

    cert: str
    key: str


#: What ``--cert`` stands for once understood: two files, ``"adhoc"`` (a throw-away
#: certificate made at start), or an ``ssl.SSLContext`` the user built.
TlsOption: t.TypeAlias = "CertFiles | t.Literal['adhoc'] | ssl.SSLContext"


def tls_from_options(cert: str | None, key: str | None) -> TlsOption | None:
    """Understand ``--cert`` and ``--key`` together: two files, ``adhoc``, or an SSLContext.

    ``cert`` is a file, ``adhoc`` (any case), or an import path (``module:name`` or
    ``module.name``) of an ``ssl.SSLContext``. Only a certificate file takes a key.

    :raises click.BadParameter: the pair does not make sense, ``ssl`` is missing, ``adhoc``
        without the cryptography package, or ``cert`` names nothing of the three.
    """
    if cert is None:
        if key is not None:
            raise click.BadParameter(
                "a key needs its certificate: add --cert.", param_hint="'--key'"
            )
        return None
    try:
        import ssl
    except ImportError:
        raise click.BadParameter(
            "this Python has no ssl module, so it cannot serve HTTPS.", param_hint="'--cert'"
        ) from None
    if os.path.exists(cert):
        if os.path.isdir(cert):
            raise click.BadParameter(f"{cert!r} is a folder, not a file.", param_hint="'--cert'")
        if key is None:
            raise click.BadParameter(
                f"the certificate {cert!r} needs its private key: add --key FILE.",
                param_hint="'--key'",
            )
        return CertFiles(os.path.realpath(cert), os.path.realpath(key))
    if cert.lower() == "adhoc":
        if key is not None:
            raise click.BadParameter(
                "'adhoc' makes its own key: leave --key out.", param_hint="'--key'"
            )
        try:
            import cryptography  # type: ignore[import-not-found,unused-ignore]  # noqa: F401
        except ImportError:
            raise click.BadParameter(
                "'adhoc' certificates are made with the cryptography package:"
                " pip install cryptography.",
                param_hint="'--cert'",
            ) from None
        return "adhoc"
    context = _imported(cert)
    if not isinstance(context, ssl.SSLContext):
        raise click.BadParameter(
            f"{cert!r} is not a file, 'adhoc', or the import path of an ssl.SSLContext"
            " (module:name).",
            param_hint="'--cert'",
        )
    if key is not None:
        raise click.BadParameter(
            f"{cert!r} is an SSLContext, which holds its own key: leave --key out.",
            param_hint="'--key'",
        )
    return context


def _imported(path: str) -> object:
    """The object ``module:attr.attr`` (or ``module.attr``) names; None if nothing is there."""
    import importlib

    if ":" in path:
        module_name, _, attrs = path.partition(":")
        tries = [(module_name, attrs)]
    else:
        # Without a colon the whole path may be a module, or a module and one attribute.
        head, _, tail = path.rpartition(".")
        tries = [(path, ""), *([(head, tail)] if head else [])]
    for name, rest in tries:
        if not name or name.startswith("."):
            continue
        try:
            found: object = importlib.import_module(name)
        except ImportError:
            continue
        except Exception as e:
            raise UserCodeError(e) from None
        for attr in filter(None, rest.split(".")):
            found = getattr(found, attr, None)
        return found
    return None


_PEM = {
    "certificate": re.compile(rb"-----BEGIN [A-Z0-9 ]*CERTIFICATE-----"),
    "private key": re.compile(rb"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----"),
}


def load_tls(tls: TlsOption | None) -> ssl.SSLContext | t.Literal["adhoc"] | None:
    """Files become a loaded SSLContext, so that a bad file is found before serving.

    :raises AppShellUsageError: naming the file that is not PEM, or the pair that does not fit.
    """
    if not isinstance(tls, CertFiles):
        return tls
    import ssl

    for kind, path in (("certificate", tls.cert), ("private key", tls.key)):
        try:
            with open(path, "rb") as file:
                text = file.read()
        except OSError as e:
            raise AppShellUsageError(f"Cannot read the {kind} {path!r}: {e.strerror}.") from None
        if not _PEM[kind].search(text):
            raise AppShellUsageError(
                f"{path!r} is not a PEM {kind} (a text file with a '-----BEGIN"
                f" ...{kind.upper()}-----' line). Give the {kind} in PEM form, or --cert adhoc"
                " for a throw-away one."
            )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(tls.cert, tls.key)
    except ssl.SSLError as e:
        mismatch = e.reason == "KEY_VALUES_MISMATCH"
        reason = "the key is not the certificate's" if mismatch else (e.reason or str(e))
        raise AppShellUsageError(
            f"Cannot serve HTTPS with the certificate {tls.cert!r} and the key {tls.key!r}:"
            f" {reason}. Give the key the certificate was made with."
        ) from None
    return context


def write_adhoc_pair(folder: str) -> CertFiles:
    """Make a throw-away self-signed certificate for this machine (``--cert adhoc`` where the
    server takes files, as uvicorn does) and write it and its key into ``folder``.

    The certificate names ``localhost``, ``127.0.0.1`` and ``::1`` and is valid for a day;
    the key is an elliptic-curve one, which takes no time to make.
    """
    import datetime
    import ipaddress

    from cryptography import x509  # type: ignore[import-not-found,unused-ignore]
    from cryptography.hazmat.primitives import (  # type: ignore[import-not-found,unused-ignore]
        hashes,
        serialization,
    )
    from cryptography.hazmat.primitives.asymmetric import (  # type: ignore[import-not-found,unused-ignore]
        ec,
    )
    from cryptography.x509.oid import NameOID  # type: ignore[import-not-found,unused-ignore]

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "appshell development server"),
            x509.NameAttribute(NameOID.COMMON_NAME, "localhost"),
        ]
    )
    now = datetime.datetime.now(datetime.UTC)
    alternatives = [
        x509.DNSName("localhost"),
        *(x509.IPAddress(ipaddress.ip_address(ip)) for ip in ("127.0.0.1", "::1")),
    ]
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(alternatives), critical=False)
        .sign(key, hashes.SHA256())
    )
    pair = CertFiles(os.path.join(folder, "adhoc-cert.pem"), os.path.join(folder, "adhoc-key.pem"))
    with open(pair.cert, "wb") as file:
        file.write(certificate.public_bytes(serialization.Encoding.PEM))
    descriptor = os.open(pair.key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    return pair
