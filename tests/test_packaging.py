"""The wheel: one top-level package, `jobledger`, with every room, the dashboard and the migrations,
importable from the wheel alone (not from the repository's folders)."""

import importlib.util
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOT_BUILT = ("tests", "bench", "docs", "deploy", "examples", "build", "dist", "*.egg-info", "__pycache__",
             ".git", ".venv", ".hypothesis", ".pytest_cache", ".ruff_cache", "*.db", "*.db-*")  # fmt: skip
IMPORTS = """
import sys
import jobledger.cli.commands, jobledger.web.app, jobledger.migrations
from jobledger import Worker, client
from jobledger.worker import Worker as Worker2
from alembic.script import ScriptDirectory
assert Worker is Worker2
scripts = ScriptDirectory.from_config(jobledger.migrations.config())
print(len(list(scripts.walk_revisions())), len(scripts.get_heads()))
for name, module in sorted(sys.modules.items()):
    if name == "jobledger" or name.startswith("jobledger."):
        print(name, getattr(module, "__file__", None))
"""


def _load_code_size():
    spec = importlib.util.spec_from_file_location("code_size", ROOT / "bench" / "code_size.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel, built from a copy of the checkout (an in-tree build leaves build/ behind)."""
    tmp = tmp_path_factory.mktemp("wheel")
    source = shutil.copytree(ROOT, tmp / "source", ignore=shutil.ignore_patterns(*NOT_BUILT))
    build = [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--no-build-isolation",
             "--check-build-dependencies", "--no-index", "-q", "-w", str(tmp / "dist")]  # fmt: skip
    run = subprocess.run(build, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    (built,) = (tmp / "dist").glob("jobledger-*.whl")
    return built


@pytest.fixture(scope="module")
def names(wheel) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


def test_the_only_top_level_package_is_jobledger(names):
    top = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert top == {"jobledger"}


def test_the_wheel_carries_every_module(names):
    modules = _load_code_size().module_files(ROOT)
    expected = {
        name.replace(".", "/") + ("/__init__.py" if path.name == "__init__.py" else ".py")
        for name, path in modules.items()
    }
    assert "jobledger/migrations/versions/0001_initial.py" in expected
    assert sorted(expected - names) == []


def test_the_wheel_carries_the_dashboard_and_the_migration_template(names):
    ui = ROOT / "service" / "web" / "ui"
    dashboard = {f"jobledger/web/ui/{path.relative_to(ui)}" for path in ui.rglob("*") if path.is_file()}
    assert "jobledger/web/ui/index.html" in dashboard
    assert sorted(dashboard - names) == []
    assert "jobledger/migrations/script.py.mako" in names


def test_the_unpacked_wheel_imports_without_the_repository(wheel, tmp_path):
    site, neutral = tmp_path / "site", tmp_path / "elsewhere"
    neutral.mkdir()
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    env = {**os.environ, "PYTHONPATH": str(site)}
    run = subprocess.run(
        [sys.executable, "-c", IMPORTS], cwd=neutral, env=env, capture_output=True, text=True, timeout=60
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    counts, *loaded = run.stdout.splitlines()
    versions = len([p for p in (ROOT / "migrations" / "versions").glob("*.py") if p.name != "__init__.py"])
    assert counts == f"{versions} 1"
    files = dict(line.split(" ", 1) for line in loaded)
    assert Path(files["jobledger.web.app"]).is_relative_to(site)
    outside = {name: file for name, file in files.items() if file != "None" and not Path(file).is_relative_to(site)}
    assert not outside, f"imported from outside the unpacked wheel: {outside}"
