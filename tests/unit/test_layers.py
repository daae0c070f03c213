"""Dependencies point one way (issue 19): domain <- services <- adapters. No module of
``app/services`` or ``app/domain`` imports an adapter (the web, the kiosk's printer driver), and the domain imports only the
standard library and itself. Read from the source, so a late import inside a function counts."""
import ast
import sys
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "app"


def imports(path: Path) -> set[str]:
    """Absolute module names a file imports (relative imports resolved against its package)."""
    package = ".".join(path.relative_to(APP.parent).with_suffix("").parts[:-1])
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                found.add(".".join(base + ([node.module] if node.module else [])))
            else:
                found.add(node.module)
    return found


def test_services_and_domain_never_import_the_web_or_kiosk_adapters():
    offenders = {str(p.relative_to(APP.parent)): sorted(m for m in imports(p)
                                                       if m.startswith("app.web") or m.split(".")[0] == "kiosk")
                 for layer in ("services", "domain") for p in (APP / layer).rglob("*.py")}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_domain_imports_only_the_standard_library_and_itself():
    allowed = set(sys.stdlib_module_names) | {"__future__"}
    offenders = {}
    for path in (APP / "domain").rglob("*.py"):
        outside = sorted(m for m in imports(path) if not m.startswith("app.domain") and m.split(".")[0] not in allowed)
        if outside:
            offenders[str(path.relative_to(APP.parent))] = outside
    assert offenders == {}


def test_the_web_adapter_writes_no_sql_of_its_own():
    """Pages and routes read and write through the use cases: no SQL, no session, in app/web
    (schemas.py reads the ORM's column lengths for its limits, nothing more)."""
    offenders = {}
    for path in (APP / "web").rglob("*.py"):
        found = sorted(m for m in imports(path) if m.split(".")[0] == "sqlalchemy"
                       or (m.startswith("app.storage") and path.name != "schemas.py"))
        if found:
            offenders[str(path.relative_to(APP.parent))] = found
    assert offenders == {}
