"""Issue 10, security and bad input: secrets never land, free text cannot inject SQL or HTML,
corrupt Parquet is quarantined and reported, a worker killed mid-landing leaves a readable
warehouse, and the redaction rules themselves.
"""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest

from frontier.common.redact import MASK, redact_argv, redact_obj, redact_text
from frontier.domain.spec import parse_spec
from frontier.run import RunContext, build_marts, run_sweep
from tests.support import TINY_SIM_SPEC, q

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.timeout(120)

HF = "hf_" + "Q" * 10 + "zq81KsmXw0pLa"
API_KEY = "sk-live-" + "9" * 6 + "abcdefXYZ"
ENV_SECRET = "Zp3-very-private-passphrase"


# ---- the redaction rules ------------------------------------------------------------------------
def test_redact_text_masks_env_values_flags_and_token_shapes():
    env = {"HF_TOKEN": HF, "DB_PASSWORD": ENV_SECRET, "TOKENIZERS_PARALLELISM": "false", "SSH_KEY_PATH": "x"}
    text = (
        f"launch --api-key {API_KEY} --hf-token={HF} --admin-api-key 'abc12345' pw {ENV_SECRET} "
        f"Authorization: Bearer abcdefghijkl HF_TOKEN={HF} "
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY----- "
        "ghp_" + "a" * 36 + " AKIAABCDEFGHIJKLMNOP"
    )
    out = redact_text(text, env)
    for secret in (API_KEY, HF, "abc12345", ENV_SECRET, "abcdefghijkl", "MIIEow", "ghp_aaaa", "AKIAABCD"):
        assert secret not in out, (secret, out)
    assert "--api-key ***" in out and "--hf-token=***" in out
    # nothing else is touched: short env values, ordinary flags and words
    plain = "--max-total-tokens 4096 --kv-cache-dtype fp8 --tokenizer-path x false keyboard tokens=12"
    assert redact_text(plain, env) == plain
    assert redact_text(None) is None and redact_text("") == ""


def test_redact_argv_and_objects():
    argv = ["python", "-m", "sglang.launch_server", "--api-key", API_KEY, "--hf-token=" + HF, "--tp", "8"]
    assert redact_argv(argv) == [
        "python",
        "-m",
        "sglang.launch_server",
        "--api-key",
        MASK,
        "--hf-token=***",
        "--tp",
        "8",
    ]
    info = {
        "api_key": API_KEY,
        "hf_token": None,
        "tp_size": 8,
        "ignored_args": ["--api-key", API_KEY],
        "nested": [{"password": "x"}, f"see {HF}"],
    }
    out = redact_obj(info)
    assert API_KEY not in json.dumps(out) and HF not in json.dumps(out)
    assert out["tp_size"] == 8 and out["hf_token"] is None and out["nested"][0]["password"] == MASK


# ---- secrets never land -----------------------------------------------------------------------------
def _all_text(*folders: Path) -> str:
    chunks = []
    for folder in folders:
        for p in folder.rglob("*"):
            if not p.is_file():
                continue
            if p.suffix == ".parquet":
                rows = duckdb.sql(f"select * from read_parquet('{p}')").fetchall()
                chunks.append(repr(rows))
            else:
                chunks.append(p.read_text(errors="replace"))
    return "\n".join(chunks)


def test_secrets_in_env_and_flags_never_reach_warehouse_site_logs(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", HF)
    monkeypatch.setenv("FRONTIER_TEST_SECRET", ENV_SECRET)
    data = copy.deepcopy(TINY_SIM_SPEC)
    data["matrix"][0]["server_args"] = {
        "TP1": ["--api-key", API_KEY, f"--hf-token={HF}"],
        "TP2": ["--api-key", API_KEY],
    }
    data["matrix"][0]["faults"] = {"TP2": {"crash_after": 1}}  # a failure with a log tail
    spec = parse_spec(data)
    ctx = RunContext("sec-1", dt.date(2026, 3, 1), str(tmp_path / "wh"), str(tmp_path / "art"))
    messages: list[str] = []
    status, _ = run_sweep(spec, ctx, progress=messages.append)
    assert status == "partial"
    from frontier.site import publish

    publish(ctx.warehouse, str(tmp_path / "site"), run_id="sec-1", png=False)
    text = _all_text(tmp_path / "wh", tmp_path / "site", tmp_path / "art") + "\n".join(messages)
    for secret in (HF, API_KEY):
        assert secret not in text
    # the commands and server info are still there, masked
    cmds = q(
        tmp_path / "wh", "deployments", "select commands_json, server_info_json from t where label = 'TP1'"
    )
    assert '"--api-key", "***"' in cmds[0][0] and "--hf-token=***" in cmds[0][0]
    assert MASK in cmds[0][1]


# ---- free text cannot inject SQL or HTML -----------------------------------------------------------------
EVIL = "<script>alert('x')</script><img src=x onerror=alert(1)>'); DROP TABLE points; --"


class EvilServer:
    """An 'endpoint' whose version string and error bodies are hostile free text."""

    def __init__(self) -> None:
        from aiohttp import web

        async def health(_):
            return web.Response(status=200)

        async def info(_):
            return web.json_response({"version": EVIL, "model_path": EVIL})

        async def generate(_):
            return web.Response(status=500, text=EVIL)

        app = web.Application()
        app.router.add_get("/health", health)
        app.router.add_get("/get_server_info", info)
        app.router.add_post("/generate", generate)
        self.loop = asyncio.new_event_loop()
        self.runner = web.AppRunner(app)
        self.loop.run_until_complete(self.runner.setup())
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        self.loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def _healthy_night(tmp_path: Path) -> None:
    data = copy.deepcopy(TINY_SIM_SPEC)
    data["matrix"][0]["labels"] = ["TP1"]
    ctx = RunContext("ok-0", dt.date(2026, 2, 28), str(tmp_path / "wh"), str(tmp_path / "art"))
    assert run_sweep(parse_spec(data), ctx)[0] == "success"


def _evil_run(tmp_path: Path) -> RunContext:
    srv = EvilServer()
    try:
        data = copy.deepcopy(TINY_SIM_SPEC)
        data.update(engine="endpoint", endpoint={"base_url": f"http://127.0.0.1:{srv.port}"})
        legacy = {k: data.pop(k) for k in ("num_prompts", "warmup_multiplier") if k in data}
        data["load"] = {**legacy, "tokenizer": "words"}  # the server counts words
        data["matrix"][0]["labels"] = ["TP1"]
        spec = parse_spec(data)
        ctx = RunContext("evil-1", dt.date(2026, 3, 1), str(tmp_path / "wh"), str(tmp_path / "art"))
        status, _ = run_sweep(spec, ctx)
    finally:
        srv.close()
    assert status == "failed"
    return ctx


def test_hostile_server_text_cannot_inject_sql_or_html(tmp_path):
    _healthy_night(tmp_path)  # an earlier night with results
    ctx = _evil_run(tmp_path)
    wh = tmp_path / "wh"
    # the text landed verbatim as data; every table is intact
    reasons = q(wh, "failures", "select reason from t where run_id = 'evil-1' order by max_concurrency")
    assert len(reasons) == 2 and all(EVIL[:40] in r[0] for r in reasons)
    assert q(wh, "points", "select count(*) from t where run_id = 'evil-1'") == [(2,)]
    assert q(wh, "deployments", "select engine_version from t where run_id = 'evil-1'") == [(EVIL,)]
    from frontier.run.records import item_statuses

    assert item_statuses(ctx) == [{"status": "failed", "engine_version": EVIL}]
    from frontier.site import publish

    index = publish(str(wh), str(tmp_path / "site"), run_id="evil-1", png=False)
    html = "\n".join(p.read_text() for p in Path(index).parent.rglob("*.html"))
    assert "<script>alert(" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(" in html or "&lt;img src=x" in html  # shown, escaped


def test_a_night_where_everything_failed_still_publishes(tmp_path):
    ctx = _evil_run(tmp_path)
    from frontier.site import publish

    index = publish(ctx.warehouse, str(tmp_path / "site"), run_id="evil-1", png=False)
    assert "failure(s)" in Path(index).read_text()


# ---- the warehouse under failure ------------------------------------------------------------------
def test_corrupt_parquet_is_quarantined_and_reported_by_build_marts(tmp_path):
    data = copy.deepcopy(TINY_SIM_SPEC)
    data["matrix"][0]["labels"] = ["TP1"]
    spec = parse_spec(data)
    ctx = RunContext("corrupt-1", dt.date(2026, 3, 1), str(tmp_path / "wh"), str(tmp_path / "art"))
    run_sweep(spec, ctx)
    (victim,) = list((tmp_path / "wh" / "requests").rglob("*.parquet"))
    victim.write_bytes(b"PAR1 this is not parquet")
    result = build_marts(ctx)
    assert [qq["file"] for qq in result["quarantined"]] == [str(victim.relative_to(tmp_path / "wh"))]
    assert not victim.exists()
    assert list((tmp_path / "wh" / "_quarantine").rglob("*.parquet"))
    rows = q(tmp_path / "wh", "failures", "select stage, reason from t")
    assert len(rows) == 1 and rows[0][0] == "audit"
    assert "corrupt Parquet file quarantined: requests/" in rows[0][1]
    assert build_marts(ctx)["quarantined"] == []  # reported once, then clean
    from frontier.site import publish

    index = publish(ctx.warehouse, str(tmp_path / "site"), run_id="corrupt-1", png=False)
    html = "\n".join(p.read_text() for p in Path(index).parent.rglob("*.html"))
    assert "corrupt Parquet file quarantined" in html


_LANDER = r"""
import datetime as dt, sys
from frontier.warehouse import Warehouse
wh = Warehouse(sys.argv[1])
gen = 0
print("ready", flush=True)
while True:
    gen += 1
    rows = [{"label": "TP1", "model": "m", "hardware": "h", "precision": "fp8", "scenario": "s",
             "max_concurrency": 1, "request_index": i, "is_warmup": False, "success": True,
             "error": f"gen {gen}"} for i in range(2000)]
    wh.write("requests", rows, run_id="kill-1", run_date=dt.date(2026, 3, 1), part="item-a")
"""


def test_worker_sigkilled_mid_landing_leaves_a_readable_warehouse(tmp_path):
    from frontier.warehouse import Warehouse

    root = tmp_path / "wh"
    for delay in (0.6, 1.1, 1.7):
        p = subprocess.Popen(
            [sys.executable, "-c", _LANDER, str(root)],
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        assert p.stdout.readline().strip() == "ready"
        time.sleep(delay)
        p.send_signal(signal.SIGKILL)
        p.wait(10)
        report = Warehouse(root).check()
        assert report.ok, report.quarantined  # nothing half-written became visible
        files = list(root.rglob("*.parquet"))
        assert len(files) == 1
        n, gens = duckdb.sql(
            f"select count(*), count(distinct error) from read_parquet('{files[0]}')"
        ).fetchall()[0]
        assert (n, gens) == (2000, 1)  # one whole generation: no duplicate, no half rows
        assert not [f for f in root.rglob("*") if f.name.endswith(".tmp")]


def test_publish_that_fails_midway_leaves_the_live_site_whole(tmp_path, monkeypatch):
    from frontier.site import publish
    from frontier.site.build import SiteBuilder

    _healthy_night(tmp_path)
    site = tmp_path / "site"
    publish(str(tmp_path / "wh"), str(site), png=False)
    before = {p.relative_to(site): p.read_bytes() for p in site.rglob("*") if p.is_file()}
    real_build = SiteBuilder.build

    def broken(self, *a, **kw):
        real_build(self, *a, **kw)  # the new tree is fully written ...
        raise OSError("disk full (injected)")  # ... and then the publish dies before the swap

    monkeypatch.setattr(SiteBuilder, "build", broken)
    with pytest.raises(OSError, match="injected"):
        publish(str(tmp_path / "wh"), str(site), png=False)
    after = {p.relative_to(site): p.read_bytes() for p in site.rglob("*") if p.is_file()}
    assert after == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".site.build-")]
