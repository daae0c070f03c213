"""A small layer over Flask blueprints: parse the body with pydantic, record each route for OpenAPI.

Every route declared with ``Api.route`` appears in ``/api/v1/openapi.json`` with its
summary (first docstring line), description, request schema and access rule, so
the document cannot drift from the code.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import wraps
from typing import Callable

from flask import Blueprint, jsonify, request
from pydantic import BaseModel, ValidationError

from ..domain.errors import DomainError, Invalid, NotFound
from ..domain.values import text_problem
from . import refusals

MAX_ID = 2**31 - 1  # PostgreSQL integer
MAX_JSON_DEPTH = 32  # the deepest body (opening hours) nests 4 levels; the parser recurses once a level

_RULE_PARAM = re.compile(r"<(?:(int|string|path):)?(\w+)>")


def database_id(text: str) -> int:
    """A query string's id (``request.args.get("hall", type=database_id)``): a whole number the
    database's integer holds; ValueError otherwise, which ``get`` reads as absent. Without it an id
    of twenty digits reaches the database, which fails with a 500 instead of finding nothing."""
    value = int(text)
    if not 0 < value <= MAX_ID:
        raise ValueError(f"{text} is not an id")
    return value


def error_response(status: int, code: str, message: str, field: str | None = None, **detail):
    """The one JSON error shape of the API: ``message`` in English for integrators, ``text`` in the
    calling page's language for people (``web.refusals``)."""
    body = {"error": {"status": status, "code": code, "message": message, "field": field,
                      "text": refusals.text_of(code, status, detail), **detail}}
    return jsonify(body), status


@dataclass
class Operation:
    rule: str
    method: str
    endpoint: str
    summary: str
    description: str
    tag: str
    body: type[BaseModel] | None
    access: str
    status: int
    query: type[BaseModel] | None = None
    returns: type[BaseModel] | None = None
    files: tuple[str, ...] = ()
    upload_max: int = 0


def require_caller(read: bool) -> None:
    """401 before anything about the body: the caller read now, or (``read`` false, a use case that
    reads its caller in its own transaction) only that there is one."""
    from .access import credential, principal  # late: access imports the services

    principal() if read else credential()


class Api:
    def __init__(self, blueprint: Blueprint) -> None:
        self.blueprint = blueprint
        self.operations: list[Operation] = []

    def route(self, rule: str, method: str, *, tag: str, access: str,
              body: type[BaseModel] | None = None, query: type[BaseModel] | None = None, status: int = 200,
              returns: type[BaseModel] | None = None, files: tuple[str, ...] = (),
              checks_caller: bool = False, upload_max: int = 0) -> Callable:
        """Declare an endpoint. The view gets path arguments, plus ``body`` and ``query`` (parsed
        models) if declared: a view never reads the request's body or query string itself.
        ``returns``: the shape of its JSON answer (``web.responses``); ``files``: the downloads it
        answers instead (``csv``, ``xlsx``) when asked for them.
        ``checks_caller``: the use case authenticates and authorises the caller inside its own
        transaction (the hot path), so the caller is not read before it.
        ``upload_max``: the body is a file of at most this many bytes (413 past it), given to the
        view as ``upload``; its own bytes say what it is, not its Content-Type."""

        def decorate(fn: Callable) -> Callable:
            doc = (fn.__doc__ or "").strip().splitlines()

            @wraps(fn)
            def view(**kwargs):
                for key, value in kwargs.items():  # larger than the database's integer, or NUL: unknown
                    if isinstance(value, int) and not 0 < value <= MAX_ID or text_problem(value):
                        raise NotFound(f"no {key.removesuffix('_id')} {value!r}", field=key)
                if access != "public":
                    require_caller(read=not checks_caller)
                if query is not None:
                    kwargs["query"] = parse_query(query)
                if body is not None:
                    kwargs["body"] = parse_body(body)
                if upload_max:
                    request.max_content_length = upload_max
                    kwargs["upload"] = request.get_data(cache=False)
                result = fn(**kwargs)
                if isinstance(result, tuple) or hasattr(result, "status_code"):
                    return result
                return jsonify(result), status

            self.blueprint.add_url_rule(rule, fn.__name__, view, methods=[method])
            self.operations.append(Operation(
                rule=rule, method=method.lower(), endpoint=fn.__name__,
                summary=doc[0] if doc else fn.__name__, description="\n".join(doc[1:]).strip(),
                tag=tag, body=body, access=access, status=status, query=query, returns=returns, files=files,
                upload_max=upload_max,
            ))
            return fn

        return decorate


def parse_body(model: type[BaseModel]) -> BaseModel:
    """The JSON body as ``model``; a 400/422 naming the field otherwise."""
    if not request.get_data() and not any(f.is_required() for f in model.model_fields.values()):
        return model()  # e.g. a bare POST .../finish: every field is optional
    data = read_json()
    if not isinstance(data, dict):
        raise BadRequestBody("the body must be a JSON object")
    return _validated(model, data)


def parse_query(model: type[BaseModel]) -> BaseModel:
    """The query string as ``model`` (an empty value is an absent one); a 422 naming the parameter otherwise."""
    return _validated(model, {key: value for key, value in request.args.items() if value != ""})


def _validated(model: type[BaseModel], data: dict) -> BaseModel:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = _field_path(first["loc"])
        raise Invalid(f"{field}: {first['msg']}" if field else first["msg"], field=field) from None


def read_json():
    """The request's body as JSON: the only place the API parses one. 400 when it is not JSON or nests
    deeper than ``MAX_JSON_DEPTH`` (Python's parser recurses a level at a time: 1,000 levels of
    brackets would end in a RecursionError); 413 past the size limit (``MAX_CONTENT_LENGTH``)."""
    if not request.is_json:
        raise BadRequestBody("the body must be JSON (Content-Type: application/json)")
    too_deep = BadRequestBody(f"the body nests deeper than {MAX_JSON_DEPTH} levels of arrays and objects")
    try:
        data = json.loads(request.get_data(), parse_constant=_no_constant, parse_float=_finite)
    except ValueError:  # not JSON, not UTF-8, or NaN / Infinity (which no database's JSON takes)
        raise BadRequestBody("the body is not valid JSON") from None
    except RecursionError:
        raise too_deep from None
    if _depth(data) > MAX_JSON_DEPTH:
        raise too_deep
    return data


def _no_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def _finite(text: str) -> float:
    value = float(text)
    if math.isinf(value):  # 1e999
        raise ValueError(f"{text} is out of range")
    return value


def _depth(value) -> int:
    """How deeply ``value`` nests, counted without recursion; stops once past ``MAX_JSON_DEPTH``."""
    deepest, stack = 0, [(value, 1)]
    while stack and deepest <= MAX_JSON_DEPTH:
        node, level = stack.pop()
        if isinstance(node, (dict, list)):
            deepest = max(deepest, level)
            stack.extend((child, level + 1) for child in (node.values() if isinstance(node, dict) else node))
    return deepest


def _field_path(loc: tuple) -> str | None:
    """Pydantic's error location as the API names fields: ``counts[3].minute``."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or None


class BadRequestBody(DomainError):
    status = 400
    code = "bad_request"


def openapi_document(api: Api, prefix: str, title: str, version: str, description: str) -> dict:
    """OpenAPI 3.1 built from the registered operations and their pydantic models."""
    schemas: dict = {"Error": _ERROR_SCHEMA}
    paths: dict = {}
    for op in api.operations:
        path = prefix + _RULE_PARAM.sub(lambda m: "{" + m.group(2) + "}", op.rule)
        params = [
            {"name": m.group(2), "in": "path", "required": True,
             "schema": {"type": "integer" if m.group(1) == "int" else "string"}}
            for m in _RULE_PARAM.finditer(op.rule)
        ] + (_query_parameters(op.query, schemas) if op.query else [])
        operation = {
            "operationId": op.endpoint,
            "summary": op.summary,
            "description": (op.description + "\n\n" if op.description else "") + f"**Access:** {op.access}",
            "tags": [op.tag],
            "parameters": params,
            "responses": {
                str(op.status): {"description": "OK", "content": _success_content(op, schemas)},
                **{str(code): {"description": text, "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Error"}}}}
                   for code, text in _ERROR_CODES.items()},
            },
        }
        if op.access != "public":
            operation["security"] = [{"bearer": []}, {"session": []}]
        if op.body is not None:
            schema = op.body.model_json_schema(ref_template="#/components/schemas/{model}")
            schemas.update(schema.pop("$defs", {}))
            schemas[op.body.__name__] = schema
            operation["requestBody"] = {"required": True, "content": {"application/json": {
                "schema": {"$ref": f"#/components/schemas/{op.body.__name__}"}}}}
        if op.upload_max:
            operation["requestBody"] = {"required": True, "description": f"the file, at most {op.upload_max} bytes",
                                        "content": {"application/octet-stream": {
                                            "schema": {"type": "string", "format": "binary"}}}}
        paths.setdefault(path, {})[op.method] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version, "description": description},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer",
                           "description": "Staff token from POST /api/v1/auth/tokens, or a device token"},
                "session": {"type": "apiKey", "in": "cookie", "name": "session",
                            "description": "Signed-in browser session; POST, PUT, PATCH and DELETE need its CSRF "
                                           "token (GET /api/v1/me: csrf_token) in the X-CSRF-Token header"},
            },
        },
    }


FILE_TYPES = {"csv": "text/csv", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def _success_content(op: Operation, schemas: dict) -> dict:
    """What a success answers: the ``returns`` model as JSON, and the files it may be downloaded as."""
    content = {}
    if op.returns is not None:
        schema = op.returns.model_json_schema(ref_template="#/components/schemas/{model}", mode="serialization")
        schemas.update(schema.pop("$defs", {}))
        schemas[op.returns.__name__] = schema
        content["application/json"] = {"schema": {"$ref": f"#/components/schemas/{op.returns.__name__}"}}
    for fmt in op.files:
        content[FILE_TYPES[fmt]] = {"schema": {"type": "string", "format": "binary"}}
    return content


def _query_parameters(model: type[BaseModel], schemas: dict) -> list[dict]:
    """The query model's fields as OpenAPI parameters (the types they refer to into ``schemas``)."""
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(schema.pop("$defs", {}))
    required = set(schema.get("required", ()))
    out = []
    for name, prop in schema["properties"].items():
        prop = {k: v for k, v in prop.items() if k not in ("title", "default")}
        description = prop.pop("description", None)
        if "anyOf" in prop:  # X | None: absent is None
            prop = next(p for p in prop["anyOf"] if p.get("type") != "null")
        out.append({"name": name, "in": "query", "required": name in required, "schema": prop,
                    **({"description": description} if description else {})})
    return out


_ERROR_CODES = {
    400: "Malformed request",
    401: "Not signed in",
    403: "Not allowed for this caller",
    404: "Not found",
    409: "Not allowed in the current state",
    413: "The body is larger than the server reads",
    422: "A field is invalid",
    429: "Too many requests: wait as Retry-After says",
}

_ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "object", "required": ["status", "code", "message"], "properties": {
        "status": {"type": "integer"},
        "code": {"type": "string", "examples": ["invalid", "illegal_transition", "counter_busy"]},
        "message": {"type": "string", "description": "What was refused and why, in English"},
        "text": {"type": "string", "description": "The refusal for a person, in the caller's language "
                 "(zh-CN unless English was chosen): what a page shows"},
        "field": {"type": ["string", "null"], "description": "The request field at fault, if one is"},
    }}},
}
