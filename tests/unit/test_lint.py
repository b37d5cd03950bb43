"""House rules checked on every run: ruff is clean, the core never imports Airflow, DAG files
stay light at top level."""

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_ruff_check_is_clean():
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff not installed (it is in the dev extra)")
    out = subprocess.run(
        [ruff, "check", "--output-format", "concise", "."],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stdout[-4000:]


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_core_never_imports_airflow():
    offenders = [
        str(p.relative_to(ROOT)) for p in (ROOT / "frontier").rglob("*.py") if "airflow" in _imports(p)
    ]
    assert offenders == []


def test_dag_files_import_nothing_heavy_at_top_level():
    heavy = {"duckdb", "pyarrow", "altair", "aiohttp", "httpx", "pandas", "polars", "torch", "sglang"}
    for path in (ROOT / "dags").glob("*.py"):
        top = ast.parse(path.read_text()).body
        names = set()
        for node in top:
            if isinstance(node, ast.Import):
                names.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                names.add(node.module.split(".")[0])
        assert not names & heavy, f"{path.name} imports {sorted(names & heavy)} at top level"
