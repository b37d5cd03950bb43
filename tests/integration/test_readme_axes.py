"""The README's "Sweep axes" example: the YAML between its markers validates and plans, with the
commands the README shows, run as a user would (the CLI in a subprocess)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _example() -> str:
    text = (ROOT / "README.md").read_text()
    block = text.split("<!-- axes-example:start -->")[1].split("<!-- axes-example:end -->")[0]
    return re.search(r"```yaml\n(.*?)```", block, re.DOTALL).group(1)


def _commands() -> list[list[str]]:
    text = (ROOT / "README.md").read_text().split("<!-- axes-example:end -->")[1]
    block = re.search(r"```bash\n(.*?)```", text, re.DOTALL).group(1)
    return [line.split("#")[0].split() for line in block.strip().splitlines()]


def test_readme_axes_example_runs(tmp_path):
    (tmp_path / "axes.yaml").write_text(_example())
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    outs = []
    cmds = _commands()
    assert [c[1] for c in cmds] == ["validate", "plan"]
    for cmd in cmds:
        argv = [sys.executable, "-m", "frontier.cli.main", *cmd[1:]]
        r = subprocess.run(
            argv, check=False, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
        )
        assert r.returncode == 0, r.stderr
        outs.append(r.stdout + r.stderr)
    validate, planned = outs
    assert "valid (3 deployment label(s)" in validate and "cannot fit" not in validate
    assert "DEP8 MTP" in planned and "DEP4+1xDEP8 MTP" in planned
    assert "--quantization modelopt_fp4" in planned and "--speculative-algorithm EAGLE" in planned
    assert "--chunked-prefill-size 16384" in planned and "--disaggregation-ib-device mlx5_0" in planned
    assert "--deepep-mode normal" in planned and "--deepep-mode low_latency" in planned
