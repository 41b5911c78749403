"""Code size of the jobledger package: its largest modules and the length of its functions.

    python bench/code_size.py [--top 10]
    python bench/code_size.py --link-tree DIR

The package's folders are read from pyproject.toml (`[tool.setuptools.package-dir]`), so
every room is measured wherever it lives; tests, benchmarks and the migration versions
(generated, one function each) are not. A function's length is its lines from `def` to
its last line, docstring included; nested functions and methods count on their own.
tests/test_architecture.py asserts the house limits below with these same functions.

`--link-tree DIR` lays the package out under DIR as it is installed, as links to the source
folders, with pyproject.toml beside it: tools that read a package from one folder, such as
lint-imports (which reads its contracts from the pyproject.toml of its working directory), read that.
"""

import argparse
import ast
import statistics
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODULE_MAX_LINES = 400
FUNCTION_MEDIAN_MAX = 10
FUNCTION_P90_MAX = 40
NOT_MEASURED = ("jobledger.migrations.versions",)


@dataclass(frozen=True)
class Function:
    module: str
    name: str  #: qualified within its module: `Class.method`, `outer.inner`
    line: int
    lines: int


def package_dirs(root: Path = ROOT) -> dict[str, Path]:
    """Each mapped package of pyproject.toml and the folder it lives in."""
    pyproject = tomllib.loads((root / "pyproject.toml").read_text())
    mapping = pyproject["tool"]["setuptools"]["package-dir"]
    return {name: root / folder for name, folder in mapping.items()}


def module_files(root: Path = ROOT, *, measured_only: bool = False) -> dict[str, Path]:
    """Every Python module of the package, by dotted name."""
    dirs = package_dirs(root)
    mapped = set(dirs.values())
    modules: dict[str, Path] = {}
    for package, folder in dirs.items():
        for path in sorted(folder.rglob("*.py")):
            parts = path.relative_to(folder).parts
            if "__pycache__" in parts or _inside_other(folder, path, mapped):
                continue
            name = ".".join((package, *parts[:-1], path.stem)).removesuffix(".__init__")
            if not (measured_only and name.startswith(NOT_MEASURED)):
                modules[name] = path
    return modules


def _inside_other(folder: Path, path: Path, mapped: set[Path]) -> bool:
    return any(other != folder and other.is_relative_to(folder) and path.is_relative_to(other) for other in mapped)


def module_lines(modules: dict[str, Path]) -> dict[str, int]:
    """Lines of each module, largest first."""
    lines = {name: len(path.read_text().splitlines()) for name, path in modules.items()}
    return dict(sorted(lines.items(), key=lambda item: (-item[1], item[0])))


def functions(modules: dict[str, Path]) -> list[Function]:
    """Every function and method of the modules, with its length in lines."""
    found: list[Function] = []
    for module, path in modules.items():
        _collect(module, ast.parse(path.read_text(), str(path)), "", found)
    return found


def _collect(module: str, node: ast.AST, prefix: str, found: list[Function]) -> None:
    for child in ast.iter_child_nodes(node):
        name = prefix
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
            name = f"{prefix}{child.name}"
            found.append(Function(module, name, child.lineno, child.end_lineno - child.lineno + 1))
        elif isinstance(child, ast.ClassDef):
            name = f"{prefix}{child.name}"
        _collect(module, child, f"{name}." if name != prefix else prefix, found)


def percentile(values: list[int], fraction: float) -> float:
    """The value below which `fraction` of the values lie (linear interpolation)."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def function_figures(found: list[Function]) -> dict[str, float]:
    """Count, median, p90 and max of the functions' lengths."""
    lengths = [function.lines for function in found]
    return {
        "count": len(lengths),
        "median": statistics.median(lengths),
        "p90": percentile(lengths, 0.9),
        "max": max(lengths),
    }


def link_tree(dest: Path, root: Path = ROOT) -> Path:
    """Lay the package out under `dest` as installed, as links, with pyproject.toml; answer `dest`."""
    dirs = package_dirs(root)
    (dest / "pyproject.toml").symlink_to((root / "pyproject.toml").resolve())
    for package, folder in sorted(dirs.items()):
        target = dest.joinpath(*package.split("."))
        children = {name.rsplit(".", 1)[1] for name in dirs if name.rpartition(".")[0] == package}
        if not children:
            target.symlink_to(folder.resolve(), target_is_directory=True)
            continue
        target.mkdir(parents=True)
        for entry in folder.iterdir():
            if entry.name not in children and entry.name != "__pycache__":
                (target / entry.name).symlink_to(entry.resolve(), target_is_directory=entry.is_dir())
    return dest


def report(root: Path = ROOT, top: int = 10) -> str:
    """The figures as text: largest modules, function lengths, longest functions."""
    modules = module_files(root, measured_only=True)
    lines = module_lines(modules)
    found = functions(modules)
    figures = function_figures(found)
    out = [f"{len(lines)} modules, {sum(lines.values())} lines; largest (limit {MODULE_MAX_LINES}):"]
    for name, count in list(lines.items())[:top]:
        out.append(f"  {count:5d}  {name}{'  OVER' if count > MODULE_MAX_LINES else ''}")
    out.append(
        f"{figures['count']} functions: median {figures['median']:g} lines (limit {FUNCTION_MEDIAN_MAX}), "
        f"p90 {figures['p90']:.1f} (limit {FUNCTION_P90_MAX}), max {figures['max']}; longest:"
    )
    longest = sorted(found, key=lambda function: (-function.lines, function.module, function.line))[:top]
    out += [f"  {function.lines:5d}  {function.module}:{function.name} (line {function.line})" for function in longest]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--top", type=int, default=10, help="how many modules and functions to list")
    parser.add_argument("--link-tree", type=Path, metavar="DIR", help="lay the package out under DIR instead")
    args = parser.parse_args(argv)
    if args.link_tree:
        link_tree(args.link_tree)
        return 0
    print(report(top=args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
