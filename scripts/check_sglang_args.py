"""Parse SGLang server and router command lines with sglang's own argument parsers, on CPU.

Runs inside the optional ``.venv-sglang`` environment (``scripts/sglang-env.sh``), never in the
project's venv. Reads a JSON list on stdin; each item is an argv list: either a full command
(``python3 -m sglang.launch_server ...`` / ``python3 -m sglang_router.launch_router ...``) or
the arguments alone with ``{"kind": "server"|"router", "argv": [...]}``. Prints one JSON list:
``{"ok": bool, "kind": ..., "error": str | null, "fields": {...}}`` per item, in order.

``ok`` means the parser accepted the arguments (argparse level plus ServerArgs' own checks
that need no GPU and no model config); ``fields`` echoes a few parsed values for the tests.

triton is not installed in that environment: sglang's own ``_platform_stubs`` (which it uses on
Apple Silicon) is loaded first, with the platform check forced, so ``import sglang`` succeeds.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import os
import platform
import sys
import traceback

SERVER_MODULES = ("sglang.launch_server", "frontier.sim.launch_server")
ROUTER_MODULES = ("sglang_router.launch_router",)
# fields echoed back per kind (present on ServerArgs / RouterArgs of sglang 0.5.23)
SERVER_FIELDS = (
    "model_path",
    "host",
    "port",
    "tp_size",
    "dp_size",
    "attn_dp_size",
    "ep_size",
    "attn_cp_size",
    "enable_prefill_cp",
    "moe_a2a_backend",
    "nnodes",
    "node_rank",
    "dist_init_addr",
    "disaggregation_mode",
    "disaggregation_transfer_backend",
    "disaggregation_bootstrap_port",
    "disaggregation_ib_device",
    "quantization",
    "kv_cache_dtype",
    "mem_fraction_static",
    "trust_remote_code",
)
ROUTER_FIELDS = ("host", "port", "pd_disaggregation", "prefill_urls", "decode_urls")


def install_triton_stub() -> None:
    """Load sglang/_platform_stubs.py standalone and make it install its triton stub on Linux."""
    if importlib.util.find_spec("triton") is not None:
        return
    spec = importlib.util.find_spec("sglang")  # locates the package without importing it
    path = os.path.join(os.path.dirname(spec.origin), "_platform_stubs.py")
    mod_spec = importlib.util.spec_from_file_location("_sglang_platform_stubs", path)
    stubs = importlib.util.module_from_spec(mod_spec)
    sys.modules[mod_spec.name] = stubs
    mod_spec.loader.exec_module(stubs)
    import torch

    saved = sys.platform, platform.machine, torch.backends.mps.is_available
    sys.platform, platform.machine = "darwin", (lambda: "arm64")
    torch.backends.mps.is_available = lambda: True
    try:
        stubs.install_platform_stubs()
    finally:
        sys.platform, platform.machine, torch.backends.mps.is_available = saved


def split(item) -> tuple[str, list[str]]:
    """(kind, args) for one input item."""
    if isinstance(item, dict):
        return item["kind"], list(item["argv"])
    argv = list(item)
    if "-m" in argv:
        i = argv.index("-m")
        module, args = argv[i + 1], argv[i + 2 :]
        if module in ROUTER_MODULES:
            return "router", args
        if module in SERVER_MODULES:
            return "server", args
        raise ValueError(f"unknown module {module!r}")
    raise ValueError("an argv list must be a full 'python -m MODULE ...' command or {kind, argv}")


def _fields(obj, names) -> dict:
    out = {}
    for n in names:
        if hasattr(obj, n):
            v = getattr(obj, n)
            out[n] = v if isinstance(v, (str, int, float, bool, list, type(None))) else str(v)
    return out


def parse_one(item) -> dict:
    try:
        kind, args = split(item)
    except (ValueError, KeyError) as e:
        return {"ok": False, "kind": None, "error": str(e), "fields": {}}
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            if kind == "server":
                from sglang.srt.server_args import prepare_server_args

                parsed = prepare_server_args(args)
                fields = _fields(parsed, SERVER_FIELDS)
            else:
                from sglang_router.launch_router import parse_router_args

                parsed = parse_router_args(args)
                fields = _fields(parsed, ROUTER_FIELDS)
        return {"ok": True, "kind": kind, "error": None, "fields": fields}
    except SystemExit as e:
        lines = [ln for ln in err.getvalue().strip().splitlines() if ln.strip()]
        return {"ok": False, "kind": kind, "error": (lines[-1] if lines else f"exit {e.code}"), "fields": {}}
    except Exception as e:  # noqa: BLE001 -- ServerArgs.__post_init__ validation, reported
        return {
            "ok": False,
            "kind": kind,
            "error": f"{type(e).__name__}: {e}",
            "fields": {},
            "trace": traceback.format_exc(limit=3),
        }


def main(argv: list[str]) -> int:
    install_triton_stub()
    if "--selftest" in argv:
        from sglang.srt.server_args import prepare_server_args  # noqa: F401
        from sglang_router.launch_router import parse_router_args  # noqa: F401

        sys.stdin.read()
        print(json.dumps({"ok": True}))
        return 0
    items = json.load(sys.stdin)
    results = [parse_one(item) for item in items]
    json.dump(results, sys.stdout, default=str)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
