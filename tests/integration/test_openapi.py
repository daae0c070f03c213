"""The API describes itself: /api/v1/openapi.json is valid OpenAPI 3.1 and complete; /api/docs works offline."""
from __future__ import annotations

import re

import pytest
from openapi_spec_validator import OpenAPIV31SpecValidator, validate

from app.web.api import PREFIX, api

_PARAM = re.compile(r"<(?:(\w+):)?(\w+)>")


@pytest.fixture
def document(client) -> dict:
    resp = client.get(f"{PREFIX}/openapi.json")  # no credentials: the document is public
    assert resp.status_code == 200 and resp.is_json
    return resp.get_json()


def _path(rule: str) -> str:
    return PREFIX + _PARAM.sub(lambda m: "{" + m.group(2) + "}", rule)


def _resolve(document: dict, ref: str) -> dict:
    assert ref.startswith("#/"), ref
    node = document
    for part in ref[2:].split("/"):
        node = node[part]
    return node


def test_the_document_is_valid_openapi_3_1(document):
    assert document["openapi"].startswith("3.1")
    validate(document, cls=OpenAPIV31SpecValidator)


def test_the_document_lists_every_registered_operation_and_nothing_else(document):
    listed = {(path, method) for path, item in document["paths"].items() for method in item}
    registered = {(_path(op.rule), op.method) for op in api.operations}
    assert registered - listed == set(), "registered but not documented"
    assert listed - registered == set(), "documented but not registered"
    assert len(listed) == len(api.operations)


def test_every_operation_has_a_unique_operation_id_named_after_its_endpoint(document):
    ids = {}
    for op in api.operations:
        ids.setdefault(document["paths"][_path(op.rule)][op.method]["operationId"], []).append(op.endpoint)
    assert all(len(v) == 1 for v in ids.values()), ids
    assert set(ids) == {op.endpoint for op in api.operations}


@pytest.mark.parametrize("op", api.operations, ids=lambda op: op.endpoint)
def test_every_operation_has_a_summary_from_its_docstring(document, op):
    operation = document["paths"][_path(op.rule)][op.method]
    summary = operation.get("summary", "")
    assert summary.strip(), f"{op.endpoint} has no summary"
    assert summary != op.endpoint, f"{op.endpoint} has no docstring; its summary fell back to the function name"
    assert "**Access:**" in operation["description"], f"{op.endpoint} does not say who may call it"


@pytest.mark.parametrize("op", api.operations, ids=lambda op: op.endpoint)
def test_every_operation_documents_its_parameters_body_errors_and_security(document, op):
    operation = document["paths"][_path(op.rule)][op.method]
    names = [m.group(2) for m in _PARAM.finditer(op.rule)]
    assert [p["name"] for p in operation["parameters"] if p["in"] == "path"] == names
    assert all(p["required"] for p in operation["parameters"] if p["in"] == "path")
    query = {p["name"] for p in operation["parameters"] if p["in"] == "query"}
    assert query == ({f.alias or name for name, f in op.query.model_fields.items()} if op.query else set())
    assert str(op.status) in operation["responses"]
    for code in ("400", "401", "403", "404", "409", "422"):
        schema = operation["responses"][code]["content"]["application/json"]["schema"]
        assert _resolve(document, schema["$ref"])["required"] == ["error"]
    if op.upload_max:  # a file as the body (the displays' media)
        assert operation["requestBody"]["content"]["application/octet-stream"]["schema"]["format"] == "binary"
    elif op.body is None:
        assert "requestBody" not in operation
    else:
        ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        schema = _resolve(document, ref)
        assert set(schema["properties"]) == set(op.body.model_fields)
        assert schema.get("additionalProperties") is False, "bodies refuse unknown fields; the schema should say so"
    if op.access == "public":
        assert "security" not in operation
    else:
        assert {next(iter(s)) for s in operation["security"]} == {"bearer", "session"}


def test_every_schema_reference_in_the_document_resolves(document):
    refs = set(re.findall(r'"\$ref": ?"([^"]+)"', __import__("json").dumps(document)))
    assert refs
    for ref in refs:
        _resolve(document, ref)


def test_the_docs_page_loads_its_script_and_css_from_this_server(client):
    resp = client.get("/api/docs")
    assert resp.status_code == 200 and resp.mimetype == "text/html"
    page = resp.get_data(as_text=True)
    scripts = re.findall(r'<script[^>]+src="([^"]+)"', page)
    styles = re.findall(r'<link[^>]+rel="stylesheet"[^>]*href="([^"]+)"|<link[^>]+href="([^"]+)"[^>]*rel="stylesheet"',
                        page)
    styles = [a or b for a, b in styles]
    assert scripts and styles, page
    assert f"{PREFIX}/openapi.json" in page
    for url, kind in [(u, "javascript") for u in scripts] + [(u, "css") for u in styles]:
        assert url.startswith("/api/docs/assets/"), f"{url} is not served locally"
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert kind in asset.mimetype, (url, asset.mimetype)
        assert len(asset.get_data()) > 1000, url


def test_an_unknown_docs_asset_is_a_404(client):
    assert client.get("/api/docs/assets/no-such-file.js").status_code == 404
    assert client.get("/api/docs/assets/../../app/__init__.py").status_code == 404


@pytest.mark.parametrize("op", api.operations, ids=lambda op: op.endpoint)
def test_every_success_is_documented_with_its_own_schema_or_as_a_download(document, op):
    content = document["paths"][_path(op.rule)][op.method]["responses"][str(op.status)]["content"]
    assert content, f"{op.endpoint} documents no answer"
    if "application/json" in content:
        schema = _resolve(document, content["application/json"]["schema"]["$ref"])
        assert schema.get("properties") and schema.get("required"), f"{op.endpoint}: {schema}"
    downloads = set(content) - {"application/json"}
    assert downloads <= {"text/csv", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
    assert all(content[kind]["schema"] == {"type": "string", "format": "binary"} for kind in downloads)


def test_a_download_report_file_is_documented_as_an_excel_file_only(document):
    content = document["paths"][f"{PREFIX}/satisfaction/report-files/{{report_file_id}}/download"]["get"]["responses"]
    assert set(content["200"]["content"]) == {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
