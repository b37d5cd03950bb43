"""Shared test helpers, one copy for every tier: ``from tests.support import ...``.

Pure helpers (no process, no socket) are safe in tests/unit; the process helpers (``pid_gone``,
``group_gone``, ``group_left``, ``sim_children``) only *look* at processes (``/proc``, psutil) and are
for tests/integration and tests/e2e, which start them, as ``SimServer`` (a simulated SGLang server
on 127.0.0.1) and ``read_sse`` (a plain SSE client) do. Fixtures live in the conftest.py files:
tests/conftest.py (all tiers), tests/integration/conftest.py (``sshd``).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from frontier.domain.spec import Spec, parse_spec
from frontier.planning.engines import get_engine
from frontier.planning.launch_plan import LaunchPlan

ROOT = Path(__file__).resolve().parents[1]
LLAMA = "meta-llama/Llama-3.1-8B-Instruct"

# the tiny sweep every fault/lifecycle test starts from: two sim labels, ISL 16 / OSL 4, ladder [1, 2]
TINY_SIM_SPEC = {
    "name": "faults",
    "engine": "sim",
    "scenarios": [{"name": "t", "isl": 16, "osl": 4}],
    "concurrencies": [1, 2],
    "num_prompts": 4,
    "warmup_multiplier": 0,
    "ready_timeout_s": 6,
    "request_timeout_s": 2,
    "matrix": [{"model": LLAMA, "hardware": "h100_sxm", "labels": ["TP2", "TP1"]}],
}


# ------------------------------------------------------------- specs and launch plans (the engines' own planning)


def spec_for(
    engine: str = "sim",
    target: str = "ssh",
    cluster: dict[str, Any] | None = None,
    model: str = LLAMA,
    hardware: str = "h100_sxm",
    label: str = "TP2",
    **kw: Any,
) -> Spec:
    """A one-label spec (scenario 1k1k, ladder [1]) with these settings."""
    return parse_spec(
        {
            "name": "t",
            "engine": engine,
            "target": target,
            "cluster": cluster or {},
            "matrix": [{"model": model, "hardware": hardware, "labels": [label]}],
            "scenarios": ["1k1k"],
            "concurrencies": [1],
            **kw,
        }
    )


def engine_plan(
    label: str = "TP2",
    *,
    engine: str = "sim",
    target: str = "ssh",
    model: str = LLAMA,
    hardware: str = "h100_sxm",
    precision: str = "fp8",
    **cluster: Any,
) -> LaunchPlan:
    """The launch plan ``engine`` makes for ``label`` with these ``cluster`` settings (on a remote
    target, a simulated deployment runs on ``cluster.host`` at ``cluster.base_port``)."""
    spec = spec_for(engine, target, cluster, model, hardware, label)
    return get_engine(engine).launch_plan(spec, label, model, hardware, precision)


# ----------------------------------------------------------------------------------------- warehouse rows


def point_row(
    label: str = "TP8",
    mc: int = 4,
    tok_s_gpu: float = 1000.0,
    tok_s_user: float = 50.0,
    *,
    gpus: int = 8,
    status: str = "ok",
    **overrides,
) -> dict:
    """A ``points`` row whose axes come out exactly: ``tok_s_gpu * gpus`` total throughput (half of
    it output), ``1000 / tok_s_user`` ms TPOT; ``completed`` 10 when ok, else 0. Any column can be
    overridden with a keyword argument."""
    row = {
        "label": label,
        "model": LLAMA,
        "hardware": "h100_sxm",
        "precision": "fp8",
        "scenario": "1k1k",
        "isl": 1024,
        "osl": 1024,
        "gpus": gpus,
        "max_concurrency": mc,
        "completed": 10 if status == "ok" else 0,
        "failed": 0,
        "total_token_throughput": tok_s_gpu * gpus,
        "output_throughput": tok_s_gpu * gpus / 2,
        "median_tpot_ms": 1000.0 / tok_s_user,
        "mean_tpot_ms": 1000.0 / tok_s_user,
        "status": status,
    }
    row.update(overrides)
    return row


def request_row(i: int, mc: int = 4, **overrides) -> dict:
    """A successful ``requests`` row of label TP8 (index ``i``), 1024 tokens in and out."""
    row = {
        "label": "TP8",
        "model": LLAMA,
        "hardware": "h100_sxm",
        "precision": "fp8",
        "scenario": "1k1k",
        "max_concurrency": mc,
        "request_index": i,
        "is_warmup": False,
        "ttft_ms": 10.0,
        "e2e_ms": 100.0,
        "tpot_ms": 1.0,
        "itl_ms": [1.0, 2.0],
        "input_tokens": 1024,
        "output_tokens": 1024,
        "success": True,
    }
    row.update(overrides)
    return row


def q(wh: Path, table: str, sql: str) -> list[tuple]:
    """Run ``sql`` over view ``t`` = every Parquet file of ``table`` in warehouse folder ``wh``;
    [] when the table has no file yet."""
    import duckdb

    files = list((wh / table).rglob("*.parquet"))
    if not files:
        return []
    con = duckdb.connect()
    con.execute(
        f"create view t as select * from read_parquet({[str(f) for f in files]!r}, union_by_name=true)"
    )
    return con.execute(sql).fetchall()


# ---------------------------------------------------------------------------------------- environment


@contextlib.contextmanager
def set_env(**env: str) -> Iterator[dict[str, str]]:
    """Set environment variables for the block; restore (or remove) them after it, also on error."""
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield env
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def frontier_env(tmp: Path, **extra: str) -> contextlib.AbstractContextManager[dict[str, str]]:
    """``set_env`` of FRONTIER_WAREHOUSE/SITE/ARTIFACTS under ``tmp`` (warehouse/, site/, artifacts/),
    plus ``extra`` (e.g. FRONTIER_DEFERRABLE="1")."""
    return set_env(
        FRONTIER_WAREHOUSE=str(tmp / "warehouse"),
        FRONTIER_SITE=str(tmp / "site"),
        FRONTIER_ARTIFACTS=str(tmp / "artifacts"),
        **extra,
    )


# ---------------------------------------------------------------------------- leftover processes (look only)


def _stat(pid: int | str) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def pid_gone(pid: int) -> bool:
    """No process with this pid, or only its zombie (PID 1 here may not reap orphans)."""
    fields = _stat(pid)
    return fields is None or fields[0] == "Z"


def group_left(pgid: int) -> list[int]:
    """Non-zombie processes still in the process group."""
    out = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            fields = _stat(p.name)
            if fields is not None and int(fields[2]) == pgid and fields[0] != "Z":
                out.append(int(p.name))
    return out


def group_gone(pid: int, wait_s: float = 3.0) -> bool:
    """No live process (zombies aside) is left with this PID or in its process group, waiting up to
    ``wait_s`` for them to go."""
    import psutil

    deadline = time.monotonic() + wait_s
    while True:
        alive = []
        for p in psutil.process_iter(["pid", "status"]):
            try:
                if p.info["status"] == psutil.STATUS_ZOMBIE:
                    continue
                if p.info["pid"] == pid or os.getpgid(p.info["pid"]) == pid:
                    alive.append(p.info["pid"])
            except (ProcessLookupError, psutil.NoSuchProcess):
                continue
        if not alive or time.monotonic() > deadline:
            return not alive
        time.sleep(0.05)


def sim_children() -> list:
    """Live (non-zombie) simulated-server processes among this process's descendants."""
    import psutil

    out = []
    for c in psutil.Process().children(recursive=True):
        try:
            if "frontier.sim.launch_server" in " ".join(c.cmdline()) and c.status() != psutil.STATUS_ZOMBIE:
                out.append(c)
        except psutil.NoSuchProcess:
            pass
    return out


def first_event(trigger, limit_s: float = 30.0):
    """The payload of the first event an Airflow trigger yields (its ``run()``), within ``limit_s``."""
    import asyncio

    async def go():
        agen = trigger.run()
        try:
            return await asyncio.wait_for(agen.__anext__(), limit_s)
        finally:
            await agen.aclose()

    return asyncio.run(go()).payload


# ------------------------------------------------------------------------------- in-memory test doubles


class FakeKube:
    """Records objects like an API server would keep them; pods become Running/ready on demand."""

    def __init__(self):
        self.objects: dict[tuple[str, str, str], dict] = {}
        self.events: list[tuple] = []
        self.status: dict[str, dict] = {}

    def create(self, obj):
        key = (obj["kind"], obj["metadata"]["namespace"], obj["metadata"]["name"])
        assert key not in self.objects, f"{key} created twice"
        self.objects[key] = json.loads(json.dumps(obj))
        self.events.append(("create",) + key)
        if obj["kind"] == "Pod":
            self.status[obj["metadata"]["name"]] = {
                "phase": "Running",
                "containers": {
                    c["name"]: {"ready": True, "state": "running", "exit_code": None, "reason": None}
                    for c in obj["spec"]["containers"]
                },
            }

    def delete(self, kind, name, namespace, grace_period_s=None):
        self.events.append(("delete", kind, namespace, name, grace_period_s))
        self.objects.pop((kind, namespace, name), None)
        if kind == "Pod":
            self.status.pop(name, None)

    def pod_status(self, name, namespace):
        return self.status.get(name)

    def read_log(self, name, namespace, container, tail_lines=None):
        return f"log of {name}/{container}\napi_key=supersecretvalue1\n"


# ------------------------------------------------------------- a real tokenizer made in the test (no hub)
# Byte-level BPE (GPT-2 / Llama-3 style pre-tokenizer and decoder) trained on a generated English-like
# corpus, with a BOS token added to every encoded text as Llama's tokenizers do. Needs `tokenizers` (extra hf).

TOKENIZER_WORDS = [
    "the",
    "quick",
    "brown",
    "fox",
    "jumps",
    "over",
    "a",
    "lazy",
    "dog",
    "while",
    "serving",
    "large",
    "language",
    "models",
    "needs",
    "careful",
    "benchmarking",
    "of",
    "throughput",
    "latency",
    "tokens",
    "per",
    "second",
    "under",
    "concurrency",
    "with",
    "prefill",
    "decode",
]


def make_tokenizer(directory: Path, vocab_size: int = 600, bos: bool = True) -> Path:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    rng = random.Random(7)
    corpus = [" ".join(rng.choice(TOKENIZER_WORDS) for _ in range(30)) for _ in range(200)]
    corpus += [
        "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789 .,") for _ in range(80)) for _ in range(200)
    ]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=["<s>", "</s>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(corpus, trainer)
    if bos:
        tok.post_processor = processors.TemplateProcessing(
            single="<s> $A", pair="<s> $A <s> $B", special_tokens=[("<s>", tok.token_to_id("<s>"))]
        )
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "tokenizer.json"
    tok.save(str(path))
    return path


def register_cluster_policy():
    """Install operators.policy's task_instance_mutation_hook in this process, as
    airflow_local_settings.py does in a deployment (idempotent: one registration per process)."""
    from airflow import policies, settings

    import operators.policy as pol

    pm = settings.get_policy_plugin_manager()
    if pm.get_plugin("AirflowLocalSettingsPolicy") is None:
        policies.make_plugin_from_local_settings(pm, pol, {"task_instance_mutation_hook"})
    settings.task_instance_mutation_hook.is_noop = False
    return pm


# ------------------------------------------------------------- a simulated SGLang server and an SSE client


class SimServer:
    """``python -m frontier.sim.launch_server --port 0 ARGS`` on 127.0.0.1, up and ready (its ``url``)."""

    def __init__(self, *args: str, start_timeout_s: float = 15.0) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "frontier.sim.launch_server", "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            cwd=ROOT,
        )
        self.url = None
        lines = []
        deadline = time.time() + start_timeout_s
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            m = re.search(r"running on (http://127\.0\.0\.1:\d+)", line)
            if m:
                self.url = m.group(1)
            if "fired up and ready to roll" in line:
                return
        self.proc.kill()
        raise RuntimeError("server did not start:\n" + "".join(lines))

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=10)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()


async def read_sse(session: Any, url: str, body: dict) -> tuple[list[dict], list[float], bool]:
    """A plain SSE reader (aiohttp session): the JSON of every data line, their arrival times
    (perf_counter), and whether ``[DONE]`` came."""
    chunks, times, done = [], [], False
    async with session.post(url, json=body) as resp:
        assert resp.status == 200, await resp.text()
        assert resp.headers["Content-Type"].startswith("text/event-stream")
        async for raw in resp.content:
            line = raw.decode().strip()
            if not line.startswith("data:"):
                continue
            data = line[5:].strip()
            if data == "[DONE]":
                done = True
                continue
            chunks.append(json.loads(data))
            times.append(time.perf_counter())
    return chunks, times, done
