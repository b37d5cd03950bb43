"""House rules that need the ruff binary (a child process): ``ruff check`` and ``ruff format --check``
are clean. The pure (ast-only) house rules live in tests/unit/test_imports.py."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _ruff(*args: str) -> subprocess.CompletedProcess:
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff not installed (it is in the dev extra)")
    return subprocess.run([ruff, *args], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)


def test_ruff_check_is_clean():
    out = _ruff("check", "--output-format", "concise", ".")
    assert out.returncode == 0, out.stdout[-4000:]


def test_ruff_format_is_clean():
    out = _ruff("format", "--check", ".")
    assert out.returncode == 0, f"run `ruff format .`:\n{out.stdout[-4000:]}{out.stderr[-2000:]}"
