"""Run ``python -m sglang.bench_serving ARGS`` inside .venv-bench on a CPU box (no triton).

sglang's modules import triton; .venv-bench (scripts/bench-serving-env.sh) has none, so sglang's own
platform stubs (the ones it uses on macOS) are installed first, exactly as
scripts/check_sglang_args.py does for the argument parser, then bench_serving runs as ``__main__``.
torchvision is not installed either (PyPI's Linux wheel is a CUDA build whose ops fail to load
against the CPU torch): sglang imports it at module level only for multimodal preprocessing that
bench_serving's text datasets never call, so `stub_torchvision` puts an inert stand-in in its place.

    .venv-bench/bin/python benchmarks/loadgen_sglang_client.py --backend sglang --base-url URL ...
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import os
import runpy
import sys
import types
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
from check_sglang_args import install_triton_stub


class _Inert:
    """Any attribute, call, subscript or subclassing of a stubbed torchvision name yields this."""

    def __init__(self, *a: object, **k: object) -> None:
        pass

    def __call__(self, *a: object, **k: object) -> _Inert:
        return _Inert()

    def __getattr__(self, name: str) -> _Inert:
        if name.startswith("__"):
            raise AttributeError(name)
        return _Inert()

    def __getitem__(self, key: object) -> _Inert:
        return _Inert()


class _StubModule(types.ModuleType):
    def __getattr__(self, name: str) -> object:
        if name.startswith("__"):
            raise AttributeError(name)
        return _Inert()


class _TorchvisionStub(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path, target=None):  # type: ignore[no-untyped-def]
        if name == "torchvision" or name.startswith("torchvision."):
            return importlib.machinery.ModuleSpec(name, self, is_package=True)
        return None

    def create_module(self, spec):  # type: ignore[no-untyped-def]
        mod = _StubModule(spec.name)
        mod.__path__ = []  # a package: submodules resolve through this finder too
        return mod

    def exec_module(self, module):  # type: ignore[no-untyped-def]
        pass


def stub_torchvision() -> None:
    if importlib.util.find_spec("torchvision") is None:
        import transformers.utils.import_utils  # noqa: F401  (decides "no torchvision" before the stub)

        sys.meta_path.append(_TorchvisionStub())


def main() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    install_triton_stub()
    stub_torchvision()
    sys.argv = ["sglang.bench_serving", *sys.argv[1:]]
    runpy.run_module("sglang.bench_serving", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
