"""The dashboard's copy of the TypeScript client (service/web/ui/client/, committed so that `pip
install` needs no Node) is exactly what `npm run build:ui` makes of clients/typescript/src now."""

import difflib
from pathlib import Path

from tests.clients.conftest import PACKAGE, report, run

COMMITTED = PACKAGE.parents[1] / "service" / "web" / "ui" / "client"


def _texts(folder: Path) -> dict[str, str]:
    return {path.name: path.read_text() for path in sorted(folder.iterdir()) if path.is_file()}


def test_the_dashboards_client_is_a_fresh_build_of_the_sources(node_modules, tmp_path):
    result = run([str(PACKAGE / "node_modules" / ".bin" / "tsc"), "-p", "tsconfig.ui.json", "--outDir", str(tmp_path)])
    assert result.returncode == 0, report("tsc -p tsconfig.ui.json", result)
    built, committed = _texts(tmp_path), _texts(COMMITTED)
    assert built, "the build wrote nothing"
    diff = "".join(
        line
        for name in sorted(set(built) | set(committed))
        for line in difflib.unified_diff(
            committed.get(name, "").splitlines(keepends=True), built.get(name, "").splitlines(keepends=True),
            f"service/web/ui/client/{name} (committed)", f"{name} (built now)",
        )
    )
    assert not diff, (
        "service/web/ui/client/ is not a build of clients/typescript/src; rebuild it and commit it:\n"
        "    cd clients/typescript && npm ci && npm run build:ui\n\n" + diff[:30_000]
    )
