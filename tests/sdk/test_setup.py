"""Setting a Worker up wrong is a clear error, before anything is claimed."""

import subprocess
import sys

import pytest

from jobledger.sdk.worker import Worker

CLI = [sys.executable, "-c", "from jobledger.cli.commands import main; main()"]


async def _noop(job, ctx):
    return None


@pytest.mark.parametrize("where", [{}, {"url": "http://127.0.0.1:1", "db": "sqlite:///:memory:"}])
async def test_a_worker_needs_exactly_one_of_url_and_db(where):
    worker = Worker(**where)
    worker.handler("report")(_noop)
    with pytest.raises(ValueError, match="either url= .* or db="):
        await worker.run()


async def test_a_worker_needs_a_handler():
    with pytest.raises(ValueError, match="no handlers registered"):
        await Worker(db="sqlite:///:memory:").run()


def test_a_handler_must_be_async():
    worker = Worker(db="sqlite:///:memory:")
    with pytest.raises(TypeError, match="must be an async function"):
        worker.handler("report")(lambda job, ctx: None)


def test_the_cli_names_a_target_it_cannot_import(tmp_path):
    result = subprocess.run(
        [*CLI, "worker", "no_such_module:worker", "--db", "sqlite:///:memory:"],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert result.returncode != 0
    assert "cannot import 'no_such_module:worker'" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_cli_refuses_a_target_that_is_not_a_worker(tmp_path):
    (tmp_path / "not_a_worker.py").write_text("worker = 42\n")
    result = subprocess.run(
        [*CLI, "worker", "not_a_worker:worker", "--db", "sqlite:///:memory:"],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert result.returncode != 0
    assert "not a jobledger.worker.Worker" in result.stderr
