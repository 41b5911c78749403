"""The offline verifier stands alone: the standard library and cryptography, nothing of the server."""

import ast
import subprocess
import sys
from pathlib import Path

PROOF = Path(__file__).resolve().parents[2] / "jobledger" / "proof"


def test_the_verifier_imports_only_the_standard_library_cryptography_and_itself():
    illegal = []
    for path in PROOF.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            names += [node.module] if isinstance(node, ast.ImportFrom) and node.module else []
            illegal += [
                f"{path.name}: {n}" for n in names
                if not n.startswith("jobledger.proof") and n.partition(".")[0] not in (*sys.stdlib_module_names, "cryptography")
            ]
    assert not illegal


def test_loading_it_loads_nothing_of_the_server():
    script = (
        "import sys, jobledger.proof.bundle, jobledger.proof.witness; "
        "print(sorted(m for m in sys.modules if m.startswith(('jobledger.', 'aiohttp', 'sqlalchemy', 'orjson'))"
        " and not m.startswith('jobledger.proof')))"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"
