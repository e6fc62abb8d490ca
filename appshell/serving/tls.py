"""``--cert`` and ``--key``: understood together when parsed, loaded when checked."""

from __future__ import annotations

import os
import re
import sys
import typing as t

import click

from ..exceptions import AppShellUsageError, UserCodeError

if t.TYPE_CHECKING:
    import ssl

__all__ = [
    "CertFiles",
    "ContextPath",
    "TlsOption",
    "import_context",
    "load_tls",
    "tls_from_options",
    "write_adhoc_pair",
]


class ContextPath(t.NamedTuple):
    """``--cert module:name``: where the user's ``ssl.SSLContext`` is, imported when the
    command runs (:func:`import_context`), once the app's folder is importable."""

    import_path: str


class CertFiles(t.NamedTuple):
    """``--cert FILE --key FILE``: the certificate chain and its private key, as paths."""

    cert: str
    key: str


#: What ``--cert`` stands for once understood: two files, ``"adhoc"`` (a throw-away
#: certificate made at start), or an ``ssl.SSLContext`` the user built.
TlsOption: t.TypeAlias = "CertFiles | t.Literal['adhoc'] | ssl.SSLContext"


def tls_from_options(cert: str | None, key: str | None) -> TlsOption | ContextPath | None:
    """Understand ``--cert`` and ``--key`` together: two files, ``adhoc``, or the import
    path of an SSLContext (imported later, by :func:`import_context`).

    ``cert`` is a file, ``adhoc`` (any case), or an import path (``module:name`` or
    ``module.name``) of an ``ssl.SSLContext``. Only a certificate file takes a key.

    :raises click.BadParameter: the pair does not make sense, ``ssl`` is missing, or
        ``adhoc`` without the cryptography package.
    """
    if cert is None:
        if key is not None:
            raise click.BadParameter(
                "a key needs its certificate: add --cert.", param_hint="'--key'"
            )
        return None
    try:
        import ssl  # noqa: F401  # a Python without it cannot serve HTTPS at all
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
    if key is not None:
        raise click.BadParameter(
            f"{cert!r} is not a file or 'adhoc', so it is the import path of an SSLContext,"
            " which holds its own key: leave --key out.",
            param_hint="'--key'",
        )
    path = ContextPath(cert)
    # As flask run does: a module importable now is imported now, and its mistakes are
    # usage errors of the option. One that is not (beside an app not loaded yet) waits.
    return import_context(path) if _importable_now(cert) else path


def _importable_now(spec: str) -> bool:
    """Whether the top-level module of ``spec`` is loaded or can be found from sys.path as
    it is (found without running it)."""
    import importlib.util

    top = spec.partition(":")[0].partition(".")[0]
    if not top or top in sys.modules:
        return bool(top)
    try:
        return importlib.util.find_spec(top) is not None
    except (ImportError, ValueError):
        return False


def import_context(path: ContextPath) -> ssl.SSLContext:
    """The ``ssl.SSLContext`` that ``--cert module:name`` (or ``module.name``) names.

    Called once the app is loaded, so that a module beside the app imports as the app's
    own imports do.

    :raises click.BadParameter: no such module, no such attribute, or not an SSLContext.
    :raises UserCodeError: the module raised while it was imported.
    """
    import importlib
    import ssl

    spec = path.import_path
    if ":" in spec:
        module_name, _, attrs = spec.partition(":")
        tries = [(module_name, attrs)]
    else:
        # Without a colon the whole path may be a module, or a module and one attribute.
        head, _, tail = spec.rpartition(".")
        tries = [(spec, ""), *([(head, tail)] if head else [])]
    tries = [(name, rest) for name, rest in tries if name and not name.startswith(".")]
    for module_name, rest in tries:
        try:
            found: object = importlib.import_module(module_name)
        except ModuleNotFoundError as e:
            if e.name is None or not f"{module_name}.".startswith(f"{e.name}."):
                raise UserCodeError(e) from None
            continue
        except Exception as e:
            raise UserCodeError(e) from None
        where = module_name
        for attr in filter(None, rest.split(".")):
            found_attr = getattr(found, attr, _MISSING)
            if found_attr is _MISSING:
                raise click.BadParameter(
                    f"{spec!r}: {where!r} has no attribute {attr!r}.", param_hint="'--cert'"
                )
            found, where = found_attr, f"{where}.{attr}"
        if not isinstance(found, ssl.SSLContext):
            kind = type(found).__name__
            raise click.BadParameter(
                f"{spec!r} is {'an' if kind[:1] in 'aeiouAEIOU' else 'a'} {kind}, not an"
                " ssl.SSLContext. Name an SSLContext (module:name), or give a certificate file"
                " with --key, or 'adhoc'.",
                param_hint="'--cert'",
            )
        return found
    names = " or ".join(repr(name) for name, _ in tries) or repr(spec)
    raise click.BadParameter(
        f"{spec!r} is not a file, not 'adhoc', and no module {names} was found to hold an"
        f" SSLContext (looked beside the app and on sys.path, which starts with"
        f" {sys.path[0]!r}). Give a certificate file with --key, 'adhoc', or module:name.",
        param_hint="'--cert'",
    )


_MISSING = object()


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
