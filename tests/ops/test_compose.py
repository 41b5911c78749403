"""docker-compose.yml, checked without Docker (none runs here): the services it declares, what
they run, and that the files it names exist in the image. tests/ops/test_proxy.py runs its
nginx configuration and tests/ops/test_replicas.py the same processes on one PostgreSQL."""

import importlib
import re
import tomllib
from pathlib import Path

import yaml

from jobledger.sdk.worker import Worker
from jobledger.cli import commands as cli

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]


def test_postgres_two_replicas_a_proxy_and_a_worker():
    assert set(SERVICES) == {"postgres", "jobledger", "proxy", "worker"}
    replicas = SERVICES["jobledger"]
    assert replicas["deploy"]["replicas"] == 2
    assert "ports" not in replicas  # scaled replicas must not compete for a host port
    assert replicas["environment"]["DATABASE_URL"].startswith("postgresql://")
    assert "@postgres:5432/" in replicas["environment"]["DATABASE_URL"]
    assert replicas["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "healthcheck" in SERVICES["postgres"] and "healthcheck" in replicas
    assert SERVICES["proxy"]["ports"] == ["8080:8080"]
    assert SERVICES["proxy"]["depends_on"]["jobledger"]["condition"] == "service_healthy"


def test_the_commands_are_ones_the_cli_takes():
    serve = SERVICES["jobledger"]["command"]
    assert serve[:2] == ["jobledger", "serve"] and serve[serve.index("--host") + 1] == "0.0.0.0"
    assert cli.serve.make_context("serve", serve[2:]).params["host"] == "0.0.0.0"  # unknown options would raise
    work = SERVICES["worker"]["command"]
    assert work[:2] == ["jobledger", "worker"] and work[work.index("--url") + 1] == "http://proxy:8080"
    assert SERVICES["worker"]["environment"]["DATABASE_URL"] == SERVICES["jobledger"]["environment"]["DATABASE_URL"]
    assert cli.worker.make_context("worker", work[2:]).params["url"] == "http://proxy:8080"
    module, _, attr = work[2].partition(":")
    worker = getattr(importlib.import_module(module), attr)
    assert isinstance(worker, Worker) and set(worker.handlers) == {"echo", "sleep"}


def test_the_proxy_mounts_the_committed_config():
    [volume] = SERVICES["proxy"]["volumes"]
    source, target, mode = volume.split(":")
    assert (ROOT / source).is_file() and target == "/etc/nginx/nginx.conf" and mode == "ro"
    assert SERVICES["proxy"]["image"].startswith("nginx:")
    conf = (ROOT / source).read_text()
    assert "resolver 127.0.0.11" in conf  # Docker's DNS: every replica's address, looked up again as they scale
    assert re.search(r"set \$jobledger http://jobledger:8080;.*\n\s+proxy_pass \$jobledger;", conf)


def test_the_image_holds_every_package_and_the_example_worker():
    copied = {line.split()[1] for line in (ROOT / "Dockerfile").read_text().splitlines() if line.startswith("COPY")}
    folders = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"].values()
    # a folder mapped into the namespace is copied whole, or with its parent (service/web within service)
    assert {folder.split("/")[0] for folder in folders} | {"examples"} <= copied
