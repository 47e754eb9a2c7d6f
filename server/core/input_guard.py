"""Input every request carries, checked once for the whole application.

* NUL (``\\x00``): PostgreSQL cannot store it in a text column, so a search, form field, login or
  JSON string carrying one used to end in a server error. :func:`refuse_nul` runs before every
  view and answers 400 ``nul_character``, naming the field; the JSON of every request is checked
  by :class:`GuardedJSONProvider` when it is parsed.
* Deep JSON: a body nested 100,000 levels deep made the parser (or the code walking the result)
  raise ``RecursionError``. :class:`GuardedJSONProvider` refuses nesting beyond
  ``JSON_MAX_DEPTH`` (64) before parsing, with 400 ``json_too_deep``.

Views that parse a body themselves use ``current_app.json.loads`` so that the same rules apply.
"""

from __future__ import annotations

import json
import re
from typing import Any

from flask import Flask, current_app, has_app_context, request
from flask.json.provider import DefaultJSONProvider
from flask_babel import gettext as _

from .errors import DomainError

NUL = "\x00"
#: how deeply a JSON body may nest arrays and objects (the field record needs about 6)
DEFAULT_JSON_MAX_DEPTH = 64
FORM_MIMETYPES = ("application/x-www-form-urlencoded", "multipart/form-data")

# a JSON string (unrolled loop: no backtracking) or one bracket
_JSON_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')


def shown(name: str) -> str:
    """A field name fit to show back (the NUL itself replaced by ␀)."""
    return name.replace(NUL, "\u2400")[:100]


def nul_error(field: str) -> DomainError:
    """The one refusal of a NUL character: 400 ``nul_character`` naming the field."""
    return DomainError(
        "nul_character",
        _("输入中含有不允许的控制字符（NUL）：“%(field)s”。请删除该字符（常见于从其他系统复制粘贴的文本）后重试。",
          field=shown(field)),
        field=shown(field),
    )


def first_nul_input() -> str | None:
    """Return the name of the first input of this request that carries a NUL, or None.

    Checked: the path, the query string, the headers (User-Agent, X-Forwarded-For … are stored
    or compared), and for form posts every field and every uploaded file's name."""
    if NUL in request.path:
        return "path"
    for key, value in request.args.items(multi=True):
        if NUL in key or NUL in value:
            return key
    for key, value in request.headers.items():
        if NUL in value:
            return key
    if request.mimetype in FORM_MIMETYPES:
        for key, value in request.form.items(multi=True):
            if NUL in key or NUL in value:
                return key
        for key, file in request.files.items(multi=True):
            if NUL in key or (file.filename and NUL in file.filename):
                return key
    return None


def refuse_nul() -> None:
    """``before_request``: raise 400 ``nul_character`` when any input carries a NUL."""
    field = first_nul_input()
    if field is not None:
        raise nul_error(field)


def json_too_deep(text: str, limit: int) -> bool:
    """True when ``text`` nests arrays/objects more than ``limit`` deep (strings are skipped).

    Cheap: a body with at most ``limit`` brackets in all cannot be deeper, and is not scanned."""
    if text.count("[") + text.count("{") <= limit:
        return False
    depth = 0
    for match in _JSON_TOKENS.finditer(text):
        token = match.group()
        if token == "[" or token == "{":
            depth += 1
            if depth > limit:
                return True
        elif token == "]" or token == "}":
            depth -= 1
    return False


def find_nul(value: Any) -> str | None:
    """Return the path (``a.b.0``) of the first string key or value carrying a NUL, or None.
    Iterative: the depth is already bounded, but no recursion is needed."""
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            if NUL in item:
                return path or "body"
        elif isinstance(item, dict):
            for key, sub in item.items():
                name = f"{path}.{key}" if path else str(key)
                if NUL in key:
                    return name
                stack.append((name, sub))
        elif isinstance(item, list):
            stack.extend((f"{path}.{i}" if path else str(i), sub) for i, sub in enumerate(item))
    return None


def max_depth() -> int:
    if has_app_context():
        return int(current_app.config.get("JSON_MAX_DEPTH", DEFAULT_JSON_MAX_DEPTH))
    return DEFAULT_JSON_MAX_DEPTH


class GuardedJSONProvider(DefaultJSONProvider):
    """Flask's JSON, refusing (before parsing) nesting deeper than ``JSON_MAX_DEPTH`` with 400
    ``json_too_deep`` and (after parsing) any string carrying a NUL with 400 ``nul_character``.

    Raises DomainError, not ValueError: ``request.get_json(silent=True)`` does not swallow it."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        if isinstance(s, (bytes, bytearray)):
            s = bytes(s).decode(json.detect_encoding(s), "surrogatepass")
        limit = max_depth()
        if json_too_deep(s, limit):
            raise DomainError("json_too_deep", _(
                "提交的 JSON 嵌套超过 %(n)s 层，无法处理。请检查提交的数据（应用生成的数据不会这样深）。", n=limit),
                max_depth=limit)
        value = json.loads(s, **kwargs)
        if "\\u0000" in s:  # the only way a NUL can be written in JSON text
            field = find_nul(value)
            if field is not None:
                raise nul_error(field)
        return value


def init_app(app: Flask) -> None:
    app.config.setdefault("JSON_MAX_DEPTH", DEFAULT_JSON_MAX_DEPTH)
    app.json = GuardedJSONProvider(app)
    # first of all before_request functions: before the rate limiter's key functions and CSRF
    app.before_request_funcs.setdefault(None, []).insert(0, refuse_nul)
