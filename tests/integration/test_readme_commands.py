"""Every command the README shows is run verbatim by a test.

README.md's fenced shell blocks are parsed (``\\`` continuations joined, a quote left open continues
on the next line, trailing ``# comments`` stripped) and every command must be in ``REGISTRY``:

* ``run``: ``bash -c CMD`` in a scratch folder holding symlinks to the checkout's ``.venv``,
  ``sweeps/``, ``scripts/``, ``benchmarks/`` ... (relative paths work; nothing is written into the
  checkout), in README order, with a timeout, exit 0 and a key line of its output asserted;
  ``setup`` copies the files a user would have (``points.csv``, ``results.jsonl``) from tests/data;
  ``needs`` names the earlier README command whose output it reads (a server, or a warehouse);
* ``server``: started in the background in its own session, awaited on ``/health`` at 127.0.0.1,
  stopped after the last command that needs it;
* ``covered_by``: the test node that runs it verbatim elsewhere; the claim is checked here (the
  command, whitespace aside, is in that test's files, or the test reads the README block holding it).

A README command in no category fails (a new command needs its test), and so does a registry entry
the README no longer shows. Commands over ~30 s are marked ``slow`` (CI runs every test: scripts/test.sh
selects no marker).
"""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
SHELL_LANGS = {"bash", "sh", "shell", "console"}
LINKED = ["sweeps", "scripts", "benchmarks", "dags", "operators", "pyproject.toml", "constraints.txt"]
WRITTEN = ["warehouse", "site", "artifacts", "search", "predicted.csv", ".airflow", "warehouse-predicted"]
WRITTEN += ["nightly-predicted.csv", "nightly-predicted.json"]

pytestmark = pytest.mark.timeout(900)


def strip_comment(line: str) -> str:
    """``line`` without a trailing shell comment: a ``#`` after whitespace, outside quotes."""
    quote = None
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip()
    return line.rstrip()


def _open_quote(text: str) -> bool:
    try:
        shlex.split(text)
    except ValueError:
        return True
    return False


def readme_commands(text: str | None = None) -> list[str]:
    """Every command line of the README's shell blocks, in order."""
    text = README.read_text() if text is None else text
    out: list[str] = []
    lang: str | None = None
    buf = ""
    for raw in text.splitlines():
        fence = re.match(r"^```([\w-]*)\s*$", raw)
        if fence:
            lang = None if lang is not None else (fence.group(1) or "text")
            buf = ""
            continue
        if lang not in SHELL_LANGS:
            continue
        if buf and _open_quote(buf):  # a quoted argument spanning lines keeps its newline
            line = buf + "\n" + raw.strip()
        else:
            line = f"{buf} {raw.strip()}".strip() if buf else raw.strip()
        if line.endswith("\\"):
            buf = line[:-1].rstrip()
            continue
        if _open_quote(line):
            buf = line
            continue
        buf = ""
        cmd = strip_comment(line)
        if cmd:
            out.append(cmd)
    return out


def test_parser_joins_continuations_quotes_and_strips_comments():
    text = (
        "```bash\n# a comment line\necho 'a # b' \\\n  --x 1   # trailing\n"
        'curl -d \'{"a": 1,\n  "b": 2}\'\n```\n```yaml\nkey: v\n```\n```\nnot shell\n```\n'
    )
    assert readme_commands(text) == ["echo 'a # b' --x 1", 'curl -d \'{"a": 1,\n"b": 2}\'']


@dataclass(frozen=True)
class How:
    kind: str  # run | server | covered_by
    timeout: int = 60
    expect: str = ""  # a line (substring) the output must show
    setup: dict[str, str] = field(default_factory=dict)  # file in the scratch folder -> repo file
    needs: str = ""  # the earlier README command whose server / output this one uses
    slow: bool = False
    xfail: str = ""  # a product bug, strict
    node: str = ""  # covered_by: the test node running it
    proof: tuple[str, ...] = ()  # covered_by: files holding the command verbatim (whitespace aside)
    readme_marker: str = ""  # covered_by: or the README heading / marker whose block that test reads
    current_install: bool = False  # it runs scripts/bootstrap.sh: the install must be current first
    writes: dict[str, str] = field(default_factory=dict)  # file it writes -> a text it must hold


COMPARE_NODE = "tests/integration/test_compare.py::test_good_night_has_no_regression"
COMPARE = How("covered_by", node=COMPARE_NODE, readme_marker="## Compare: hardware, runs, SLOs, regressions")
AXES = How(
    "covered_by",
    node="tests/integration/test_readme_axes.py::test_readme_axes_example_runs",
    readme_marker="<!-- axes-example:end -->",
)
PG = How(
    "covered_by",
    node="tests/integration/test_airflow_postgres.py::test_airflow_on_postgres_runs_frontier_adhoc_from_the_rest_api",
    proof=("scripts/ci-airflow-postgres.sh",),
)
SMOKE_RUN = ".venv/bin/frontier run sweeps/smoke.yaml"
SIM_SERVER = (
    ".venv/bin/frontier sim-server --model-path meta-llama/Llama-3.1-8B-Instruct --tp-size 2 "
    "--hardware h100_sxm --port 30000"
)
IMPORT = (
    ".venv/bin/frontier import bench-serving results.jsonl --label TP8 --model deepseek-ai/DeepSeek-R1 "
    "--hardware h200_sxm"
)

REGISTRY: dict[str, How] = {
    "bash scripts/demo.sh": How(
        "run", timeout=600, slow=True, expect="site: ", current_install=True
    ),  # bootstrap (no-op when installed) + nightly DAG via dag.test + the predicted seed
    "bash scripts/test.sh": How(
        "covered_by", node=".ci/run (CI's entry point: `exec bash scripts/test.sh`)", proof=(".ci/run",)
    ),
    ".venv/bin/frontier validate sweeps/nightly.yaml": How("run", expect="sweeps/nightly.yaml: valid"),
    ".venv/bin/frontier plan sweeps/nightly.yaml --json": How("run", expect='"fits": true'),
    SMOKE_RUN: How("run", timeout=300, slow=True, expect="no regressions against the previous run"),
    ".venv/bin/frontier publish --warehouse warehouse --site site": How(
        "run", timeout=120, needs=SMOKE_RUN, slow=True, expect="site/index.html"
    ),
    ".venv/bin/frontier query label_summary": How("run", needs=SMOKE_RUN, slow=True, expect="TP1"),
    '.venv/bin/frontier query "select label, max(total_token_throughput/gpus) from points group by 1"': How(
        "run", needs=SMOKE_RUN, slow=True, expect="TP8"
    ),
    ".venv/bin/frontier predict --model deepseek-ai/DeepSeek-R1 --hardware h200_sxm --precision fp8 "
    "--label DEP8 --isl 8192 --osl 1024 --concurrency 4 64 256": How(
        "run", expect="deepseek-ai/DeepSeek-R1 h200_sxm fp8 DEP8 ISL 8192 OSL 1024"
    ),
    ".venv/bin/frontier predict --points points.csv --out predicted.csv": How(
        "run", setup={"points.csv": "tests/data/readme/points.csv"}, expect="wrote predicted.csv"
    ),
    ".venv/bin/frontier predict sweeps/seed_predicted.yaml": How(
        "run", timeout=120, expect="of 20 item(s) in"
    ),
    ".venv/bin/frontier predict sweeps/nightly.yaml --format csv --out nightly-predicted.csv": How(
        "run",
        timeout=180,
        expect="wrote nightly-predicted.csv (",
        writes={"nightly-predicted.csv": "model,hardware,precision,label,scenario,isl,osl,concurrency,"},
    ),
    ".venv/bin/frontier predict sweeps/nightly.yaml --labels TP8,DEP8 --scenarios 8k1k --out "
    "nightly-predicted.json": How(
        "run",
        timeout=120,
        expect="wrote nightly-predicted.json (",
        writes={"nightly-predicted.json": '"tok_s_gpu"'},
    ),
    ".venv/bin/frontier predict --model meta-llama/Llama-3.1-8B-Instruct --hardware h100_sxm --label TP1 "
    "--isl 1024 --osl 128 --concurrency 16 --random-range-ratio 0.5": How("run", expect="range ratio 0.5"),
    ".venv/bin/frontier predict --model deepseek-ai/DeepSeek-R1 --hardware b200_sxm --precision fp4 "
    "--label TP8 --isl 1024 --osl 1024 --concurrency 4 64 --speculative mtp": How(
        "run", timeout=120, expect="TP8 MTP ISL 1024 OSL 1024 range ratio 0.8 (recipe flags)"
    ),
    ".venv/bin/python benchmarks/sim_accuracy.py": How("run", timeout=180, expect="median |error| per class"),
    ".venv/bin/python benchmarks/sim_predict_speed.py --only readme": How(
        "run", timeout=300, expect="max/1 s budget"
    ),
    SIM_SERVER: How("server", timeout=90),
    ".venv/bin/frontier bench --base-url http://127.0.0.1:30000 --isl 1024 --osl 128 --concurrency 16 "
    "--num-prompts 160": How("run", timeout=180, needs=SIM_SERVER, expect="Successful requests:"),
    ".venv/bin/frontier bench --base-url http://127.0.0.1:30000 --backend openai --model "
    "meta-llama/Llama-3.1-8B-Instruct --tokenizer ./model-dir --isl 1024 --osl 128 --concurrency 16": How(
        "run",
        timeout=180,
        needs=SIM_SERVER,
        setup={"model-dir": "<tokenizer>"},
        expect="tokenizer ./model-dir",
    ),
    IMPORT: How(
        "run",
        setup={"results.jsonl": "tests/data/bench_serving/sglang_llama8b_h100_1k1k.jsonl"},
        expect="imported 3 point(s) from results.jsonl",
    ),
    ".venv/bin/frontier pools sync sweeps/nightly.yaml --dry-run": How("run", expect="frontier_gpu_h200_sxm"),
    ".venv/bin/frontier run sweeps/nightly.yaml --engine predict": How(
        "run", timeout=400, slow=True, expect="PREDICTED", needs=IMPORT
    ),
    ".venv/bin/frontier search --model deepseek-ai/DeepSeek-R1 --hardware h200_sxm --gpus 16 --isl 8192 "
    "--osl 1024 --max-ttft-p99-ms 2000 --min-tok-s-user 20 --out search": How(
        "run", timeout=240, expect="winners: "
    ),
    ".venv/bin/python benchmarks/adaptive_ladders.py": How("run", timeout=600, slow=True, expect="all "),
    ".venv/bin/frontier validate axes.yaml": AXES,
    ".venv/bin/frontier plan axes.yaml --argv": AXES,
    'cp docker/airflow/airflow_local_settings.py "$AIRFLOW_HOME/config/airflow_local_settings.py"': PG,
    'frontier pools sync sweeps/nightly.yaml sweeps/smoke.yaml --api "$AIRFLOW"': PG,
    'curl -X POST "$AIRFLOW/api/v2/dags/frontier_adhoc/dagRuns" -H "Authorization: Bearer $TOKEN" -H '
    '\'Content-Type: application/json\' -d \'{"logical_date": null, "conf": {"model": '
    '"deepseek-ai/DeepSeek-R1",\n"hardware": "h200_sxm", "labels": "TP8, DEP8", "scenarios": '
    '"1k1k", "concurrencies": "4, 16, 64"}}\'': PG,
    "frontier run sweeps/compare.yaml --run-id good --no-publish": COMPARE,
    "frontier run sweeps/compare-slow.yaml --run-id slow --fail-on-regression": COMPARE,
    'frontier query "select hardware, label, round(change_pct) as change_pct, prev_run_id from regressions"': (
        COMPARE
    ),
    "frontier compare good slow --site site": COMPARE,
    "frontier best --max-ttft-p99-ms 200 --min-tok-s-user 100": COMPARE,
}


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\\\n", " ")).strip()


def test_every_readme_command_has_a_test():
    shown = readme_commands()
    missing = [c for c in shown if c not in REGISTRY]
    stale = [c for c in REGISTRY if c not in shown]
    assert not missing, (
        "README commands no test runs (add each to REGISTRY in this file: run / server / covered_by):\n"
        + "\n".join(missing)
    )
    assert not stale, "REGISTRY entries the README no longer shows:\n" + "\n".join(stale)
    assert len(shown) == len(set(shown)), "a README command shown twice: register it once"


@pytest.mark.parametrize("cmd", [c for c, h in REGISTRY.items() if h.kind == "covered_by"])
def test_covered_by_claim_holds(cmd):
    how = REGISTRY[cmd]
    if how.node.startswith("tests/"):
        path, name = how.node.split("::")
        assert f"def {name}(" in (ROOT / path).read_text(), how.node
    assert how.proof or how.readme_marker, cmd
    for rel in how.proof:
        assert _squash(cmd) in _squash((ROOT / rel).read_text()), f"{rel} does not run `{cmd}` verbatim"
    if how.readme_marker:
        path = how.node.split("::")[0]
        assert how.readme_marker in (ROOT / path).read_text(), f"{path} does not read {how.readme_marker!r}"
        after = README.read_text().split(how.readme_marker, 1)[1]
        block = re.search(r"```(?:bash|sh)\n(.*?)```", after, re.DOTALL).group(1)
        assert cmd in readme_commands(f"```bash\n{block}```\n"), f"`{cmd}` is not in the block {path} runs"


# --- running them -------------------------------------------------------------------------------


def _venv() -> Path:
    own = ROOT / ".venv"
    return own if (own / "bin" / "frontier").exists() else Path(sys.executable).parent.parent


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    """A scratch folder laid out like the checkout (symlinks), with a private Airflow home."""
    before = {n for n in WRITTEN if (ROOT / n).exists()}
    d = tmp_path_factory.mktemp("readme")
    (d / ".venv").symlink_to(_venv())
    for name in LINKED:
        (d / name).symlink_to(ROOT / name)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW__")}
    for k in ("FRONTIER_WAREHOUSE", "FRONTIER_SITE", "FRONTIER_ARTIFACTS"):
        env.pop(k, None)
    env.update(PYTHONPATH=str(ROOT), FRONTIER_HOME=str(d), AIRFLOW_HOME=str(d / ".airflow"))
    state = {"dir": d, "env": env, "done": set(), "servers": {}}
    yield state
    for proc in state["servers"].values():
        _stop(proc)
    assert {n for n in WRITTEN if (ROOT / n).exists()} == before, "a README command wrote into the checkout"


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(timeout=5)


def _health(port: int, proc: subprocess.Popen, limit_s: float) -> bool:
    end = time.monotonic() + limit_s
    while time.monotonic() < end and proc.poll() is None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                if r.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.3)
    return False


def _port(cmd: str) -> int:
    return int(re.search(r"--port (\d+)", cmd).group(1))


def _start(work, cmd: str, how: How) -> tuple[subprocess.Popen, bool]:
    port = _port(cmd)
    log = open(work["dir"] / f"server-{port}.log", "wb")  # noqa: SIM115 (kept open for the server)
    proc = subprocess.Popen(["bash", "-c", f"exec {cmd}"], cwd=work["dir"], env=work["env"], stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    return proc, _health(port, proc, how.timeout)


def _params():
    out = []
    for cmd in readme_commands():
        how = REGISTRY.get(cmd)
        if how is None or how.kind == "covered_by":
            continue
        marks = [pytest.mark.slow] if how.slow else []
        if how.xfail:
            marks.append(pytest.mark.xfail(strict=True, reason=how.xfail))
        out.append(pytest.param(cmd, marks=marks, id=re.sub(r"[^\w.-]+", "_", cmd)[:80]))
    return out


def _last_user(server: str) -> str:
    return [c for c in readme_commands() if REGISTRY.get(c, How("x")).needs == server][-1]


@pytest.mark.parametrize("cmd", _params())
def test_readme_command_runs_verbatim(work, cmd):
    how = REGISTRY[cmd]
    if how.kind == "server":
        proc, up = _start(work, cmd, how)
        work["servers"][cmd] = proc
        log = (work["dir"] / f"server-{_port(cmd)}.log").read_text()
        assert up, f"`{cmd}` not healthy within {how.timeout} s (exit {proc.poll()}):\n{log[-3000:]}"
        work["done"].add(cmd)
        return
    if how.current_install:
        # scripts/bootstrap.sh from the scratch folder must find the install current (stamp = hash of
        # pyproject.toml + constraints.txt), never reinstall the project from there
        stamp = _venv() / ".frontier-installed"
        want = hashlib.sha256(
            (ROOT / "pyproject.toml").read_bytes() + (ROOT / "constraints.txt").read_bytes()
        )
        assert stamp.is_file() and stamp.read_text().strip() == want.hexdigest(), (
            f"{stamp} is stale for this pyproject.toml + constraints.txt: run scripts/bootstrap.sh first "
            "(scripts/test.sh does); from the scratch folder it would reinstall the project from there"
        )
    for name, src in how.setup.items():
        if (
            src == "<tokenizer>"
        ):  # a model's HF folder, as a user has one: a tokenizer.json (tests/support.py)
            from tests.support import make_tokenizer

            (work["dir"] / name).mkdir(exist_ok=True)
            make_tokenizer(work["dir"] / name)
        else:
            shutil.copy(ROOT / src, work["dir"] / name)
    if how.needs:
        need = REGISTRY[how.needs]
        if need.kind == "server":
            proc = work["servers"].get(how.needs)
            assert proc is not None and proc.poll() is None, f"needs the server `{how.needs}` running"
        elif how.needs not in work["done"]:
            pytest.skip(f"needs `{how.needs}` first (deselected or failed)")
    t0 = time.monotonic()
    try:
        r = subprocess.run(["bash", "-c", cmd], cwd=work["dir"], env=work["env"], capture_output=True,
                           text=True, timeout=how.timeout, check=False)  # fmt: skip
    finally:
        if how.needs in work["servers"] and _last_user(how.needs) == cmd:
            _stop(work["servers"].pop(how.needs))
    took = time.monotonic() - t0
    print(f"{took:6.1f} s  {cmd}")
    out = r.stdout + r.stderr
    assert r.returncode == 0, f"`{cmd}` exited {r.returncode} after {took:.0f} s:\n{out[-4000:]}"
    assert how.expect in out, f"`{cmd}` did not print {how.expect!r}:\n{out[-4000:]}"
    for name, text in how.writes.items():
        written = work["dir"] / name
        assert written.is_file(), f"`{cmd}` did not write {name}:\n{out[-4000:]}"
        assert text in written.read_text(), f"{name} written by `{cmd}` does not hold {text!r}"
    work["done"].add(cmd)
