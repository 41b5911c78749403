"""The layering of docs/architecture.md and the house limits on code size.

The import contracts live in pyproject.toml (`[tool.importlinter]`); lint-imports runs in
a tree of links laid out as installed (with pyproject.toml), since the rooms live in several
folders. Sizes are measured by bench/code_size.py, which prints the same figures.
"""

import ast
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SERVER_SIDE = ("domain", "eventlog", "projections", "application", "web", "migrations")
DOMAIN_MAY_IMPORT = {
    "__future__", "abc", "collections", "dataclasses", "datetime", "decimal", "enum", "functools",
    "hashlib", "itertools", "math", "operator", "re", "string", "types", "typing", "uuid",
    "transitions",
}  # fmt: skip


def _load_code_size():
    spec = importlib.util.spec_from_file_location("code_size", ROOT / "bench" / "code_size.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


code_size = _load_code_size()


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    return code_size.link_tree(tmp_path_factory.mktemp("lint"))


@pytest.fixture(scope="module")
def modules() -> dict[str, Path]:
    return code_size.module_files(ROOT)


def _imports(module: str, path: Path) -> list[tuple[str, list[str], int]]:
    """(imported module, names taken from it, line) for each import of a module, made absolute."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, [], node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            name = ".".join([*base, *([node.module] if node.module else [])])
            found.append((name, [alias.name for alias in node.names], node.lineno))
    return found


def test_import_contracts_hold(tree):
    run = subprocess.run(
        [BIN / "lint-imports", "--no-cache", "--no-logo"],
        cwd=tree, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr


def test_contracts_see_every_module(tree, modules):
    """A folder without __init__.py is no package: lint-imports would skip its modules unseen."""
    script = "import grimp, json; print(json.dumps(sorted(grimp.build_graph('jobledger', cache_dir=None).modules)))"
    run = subprocess.run([sys.executable, "-c", script], cwd=tree, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    unseen = sorted(set(modules) - set(json.loads(run.stdout)))
    assert not unseen, f"modules lint-imports does not see (a folder without __init__.py?): {unseen}"


def test_domain_imports_only_the_standard_library_and_transitions(modules):
    """The contracts forbid I/O libraries by name; this allows only what the domain may use."""
    illegal = [
        f"{module}:{line} imports {name}"
        for module, path in modules.items()
        if module.startswith("jobledger.domain")
        for name, _, line in _imports(module, path)
        if not name.startswith("jobledger.domain") and name.partition(".")[0] not in DOMAIN_MAY_IMPORT
    ]  # fmt: skip
    assert not illegal, "\n".join(illegal)


def test_server_side_takes_no_sdk_name_from_the_root(modules):
    """`jobledger.Worker` and `from jobledger import client` load the SDK lazily, unseen by lint-imports."""
    visible = {name.split(".")[1] for name in modules if "." in name}  # the rooms and root modules

    def lazy(name: str) -> bool:
        return name not in visible and not name.startswith("__")

    server = tuple(f"jobledger.{room}" for room in SERVER_SIDE)
    found = []
    for module, path in modules.items():
        if not module.startswith(server):
            continue
        for name, taken, line in _imports(module, path):
            found += [f"{module}:{line} from jobledger import {n}" for n in taken if name == "jobledger" and lazy(n)]
        found += [
            f"{module}:{node.lineno} jobledger.{node.attr}"
            for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
            and node.value.id == "jobledger" and lazy(node.attr)
        ]  # fmt: skip
    assert not found, "\n".join(found)


def test_modules_are_at_most_400_lines():
    lines = code_size.module_lines(code_size.module_files(ROOT, measured_only=True))
    over = {name: count for name, count in lines.items() if count > code_size.MODULE_MAX_LINES}
    assert not over, f"modules over {code_size.MODULE_MAX_LINES} lines: {over}"


def test_functions_are_short():
    found = code_size.functions(code_size.module_files(ROOT, measured_only=True))
    figures = code_size.function_figures(found)
    print(f"function lengths: {figures}")
    assert figures["median"] <= code_size.FUNCTION_MEDIAN_MAX, figures
    assert figures["p90"] <= code_size.FUNCTION_P90_MAX, figures
