"""How python reads a script's bytes: the text they hold, or python's own SyntaxError.

``python FILE`` (and ``python < FILE``) decode a script as UTF-8 unless a PEP 263 line
declares another encoding, and say in their own words which line and byte they could not
read; a script run by appshell is read the same way and refused with the same words.
"""

from __future__ import annotations

import ast
import codecs
import re
import typing as t

__all__ = ["source_text"]

_PARSE_ONLY = ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
# A coding declaration (PEP 263), on line 1, or on line 2 below a comment or blank line.
_CODING = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*([-_.a-zA-Z0-9]+)")
_PYTHON_NAMES = {"utf-8": ("utf-8",), "iso-8859-1": ("latin-1", "iso-8859-1", "iso-latin-1")}


def _declared_encoding(raw: bytes) -> str | None:
    for line in raw.split(b"\n", 2)[:2]:
        found = _CODING.match(line)
        if found:
            return found.group(1).decode("ascii")
        text = line.strip()
        if text and not text.startswith(b"#"):
            break  # code on line 1: line 2 is code too, not a declaration
    return None


def _python_name(encoding: str) -> str:
    """How python's messages name an encoding: a few spellings made one, others as given."""
    key = encoding[:12].lower().replace("_", "-")
    for name, spellings in _PYTHON_NAMES.items():
        if any(key == spelling or key.startswith(f"{spelling}-") for spelling in spellings):
            return name
    return encoding


def source_text(raw: bytes, filename: str) -> str:
    """The text of a script's bytes, decoded as python decodes a file it runs: UTF-8, or
    the encoding its PEP 263 declaration names.

    :raises SyntaxError: with python's own message when python would refuse the bytes
        (an undeclared non-UTF-8 byte: its line, and the byte; an unknown or unfitting
        declared encoding; a UTF-8 string literal that is not UTF-8: file, line, caret;
        a null byte: its line).
    """
    text = _decoded(raw, filename)
    null = text.find("\0")
    if null >= 0:
        line_start = text.rfind("\n", 0, null) + 1
        where = (filename, text.count("\n", 0, null) + 1, None, text[line_start:null])
        raise SyntaxError("source code cannot contain null bytes", where)
    return text


def _decoded(raw: bytes, filename: str) -> str:
    bom = raw.startswith(codecs.BOM_UTF8)
    body = raw[len(codecs.BOM_UTF8) :] if bom else raw
    declared = _declared_encoding(body)
    name = "utf-8" if declared is None else _python_name(declared)
    if bom and name != "utf-8":
        raise SyntaxError(f"encoding problem: {name} with BOM")
    if name != "utf-8":
        try:
            return body.decode(t.cast(str, declared))
        except (LookupError, UnicodeDecodeError):
            raise SyntaxError(f"encoding problem: {name}") from None
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as e:
        if declared is None and not bom:
            line = body.count(b"\n", 0, e.start) + 1
            raise SyntaxError(
                f"Non-UTF-8 code starting with '\\x{body[e.start]:02x}' in file {filename} on"
                f" line {line}, but no encoding declared; see https://peps.python.org/pep-0263/"
                " for details"
            ) from None
    # Declared UTF-8: python decodes only what the code uses; a comment may hold any byte,
    # a string literal that is not UTF-8 is a SyntaxError with its place.
    compile(raw, filename, "exec", flags=_PARSE_ONLY, dont_inherit=True)
    return body.decode("utf-8", "replace")
