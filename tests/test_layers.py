"""The pages and the APIs read through the service layer, never the models.

A page or a REST view calls named read functions (`catalog/queries.py`, `listings.py`,
`statistics.py`, the access services …), so that who may see what is decided in one
place. Read statically from the source: a module of `portal/web` or a cleaned REST module
must not import SQLAlchemy's query builders (`select`, `func` …), run a statement on a
session, or touch a model class other than in a type hint or an `isinstance` check.
"""

from __future__ import annotations

import ast

from tests import CHECKOUT

API = CHECKOUT / "portal" / "api"
LAYERED = [
    *sorted((CHECKOUT / "portal" / "web").rglob("*.py")),
    *(API / f"{name}.py" for name in ("catalog", "access", "search", "dcat")),
    # The CKAN Action API too, but ckan_mapping.py: it turns loaded rows into CKAN's dicts
    # (its type aliases name the models) and reads nothing.
    *sorted(p for p in API.glob("ckan*.py") if p.name != "ckan_mapping.py"),
]
# What a view may take from SQLAlchemy: the session's type and the errors it raises.
ALLOWED_SQLALCHEMY = {"sqlalchemy.orm": {"Session"}, "sqlalchemy.exc": None}  # None: any name
STATEMENT_METHODS = {"execute", "scalar", "scalars", "query"}


def model_names(tree: ast.Module) -> set[str]:
    """The names a module imports from the models package (`from ..models import User`)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[-1] == "models":
            found.update(alias.asname or alias.name for alias in node.names)
    return found


def _sqlalchemy_imports(tree: ast.Module) -> list[str]:
    problems = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            problems += [f"import {a.name}" for a in node.names if a.name.startswith("sqlalchemy")]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy"):
            allowed = ALLOWED_SQLALCHEMY.get(node.module or "", set())
            for alias in node.names:
                if allowed is not None and alias.name not in allowed:
                    problems.append(f"from {node.module} import {alias.name}")
    return problems


def _statements(tree: ast.Module) -> list[str]:
    """Statements run on a session: session.execute/scalar/scalars/query, session.get."""
    problems = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        method, owner = node.func.attr, node.func.value
        on_session = isinstance(owner, ast.Name) and owner.id == "session"
        if method in STATEMENT_METHODS or (method == "get" and on_session):
            problems.append(f"line {node.lineno}: .{method}(…)")
    return problems


def _hint_or_type_check_nodes(tree: ast.Module) -> set[int]:
    """The ids of the nodes inside type hints and inside isinstance's second argument."""
    roots: list[ast.AST] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            arguments = node.args
            every = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
            every += [a for a in (arguments.vararg, arguments.kwarg) if a is not None]
            roots += [a.annotation for a in every if a.annotation is not None]
            roots += [node.returns] if node.returns is not None else []
        elif isinstance(node, ast.AnnAssign):
            roots.append(node.annotation)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("isinstance", "issubclass")
            and len(node.args) == 2
        ):
            roots.append(node.args[1])
    return {id(inner) for root in roots for inner in ast.walk(root)}


def _model_uses(tree: ast.Module) -> list[str]:
    """Model classes used for more than a type hint: `Dataset.name`, `select(User)` …"""
    models = model_names(tree)
    harmless = _hint_or_type_check_nodes(tree)
    return [
        f"line {node.lineno}: {node.id}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Name) and node.id in models and id(node) not in harmless
    ]


def layer_problems(source: str) -> list[str]:
    tree = ast.parse(source)
    return [*_sqlalchemy_imports(tree), *_statements(tree), *_model_uses(tree)]


def test_pages_and_rest_resources_read_through_services() -> None:
    assert CHECKOUT / "portal" / "web" / "pages.py" in LAYERED
    assert all(path.is_file() for path in LAYERED)  # a REST module renamed: name it here
    found = {}
    for path in LAYERED:
        problems = layer_problems(path.read_text(encoding="utf-8"))
        if problems:
            found[str(path.relative_to(CHECKOUT))] = problems
    assert not found, f"reads outside the service layer: {found}"


def test_the_layer_check_finds_queries_on_models() -> None:
    offending = """
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload
from ..models import Dataset, dataset_zones

def view(session: Session) -> list[Dataset]:
    total = session.scalar(select(func.count()).select_from(Dataset))
    first = session.get(Dataset, "x")
    zoned = dataset_zones.c.zone_code
    return list(db.execute(total))
"""
    problems = layer_problems(offending)
    assert "from sqlalchemy import select" in problems
    assert "from sqlalchemy import func" in problems
    assert "from sqlalchemy.orm import selectinload" in problems
    assert any(p.endswith(".scalar(…)") for p in problems)
    assert any(p.endswith(".get(…)") for p in problems)
    assert any(p.endswith(".execute(…)") for p in problems)
    assert "line 7: Dataset" in problems and "line 9: dataset_zones" in problems


def test_the_layer_check_lets_type_hints_and_type_checks_pass() -> None:
    clean = """
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from ..models import Dataset, OpennessRequest

class Row:
    dataset: Dataset

def view(session: Session, done: Dataset | OpennessRequest) -> list[Dataset]:
    found: list[Dataset] = catalog(session).datasets.all()
    settings.get("x")
    return [] if isinstance(done, OpennessRequest) else found
"""
    assert layer_problems(clean) == []
