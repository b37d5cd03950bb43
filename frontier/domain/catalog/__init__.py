"""Hardware and model catalogs, shipped as data files (hardware.yaml, models.yaml).

``get_hardware(name)`` and ``get_model(name)`` fail with the list of known names. Users add a
model with ``load_model_config(path)`` (an HF ``config.json``) or ``register_model``.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import yaml
from pydantic import BaseModel, ConfigDict, Field

Precision = str  # "bf16" | "fp8" | "fp4" (weights; KV is FP8 at fp8 and fp4)
PRECISIONS = ("bf16", "fp8", "fp4")
# fp4: NVFP4 / MXFP4 weights counted at 4 bits a parameter (block scales and the layers such
# checkpoints keep at higher precision ignored: a few percent of DeepSeek-R1's weights)
BYTES_PER_PARAM = {"bf16": 2.0, "fp8": 1.0, "fp4": 0.5}


class UnknownName(KeyError):
    def __str__(self) -> str:  # KeyError quotes its message; show it plainly
        return str(self.args[0])


class Hardware(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    description: str = ""
    hbm_gb: float
    hbm_bw_tbs: float
    bf16_tflops: float
    fp8_tflops: float
    fp4_tflops: float | None = None  # dense FP4 tensor throughput; None: no FP4 tensor cores
    scaleup_bw_gbs: float
    scaleup: str = ""
    gpus_per_node: int
    nvlink_domain: int | None = None
    nic_gbps: float = 400
    power_w: float = 700
    usd_per_gpu_hour: float = 0.0

    @property
    def supports_fp4(self) -> bool:
        return self.fp4_tflops is not None

    def tflops(self, precision: str) -> float:
        """Dense tensor throughput of the GEMMs at ``precision`` (fp4 without FP4 tensor cores:
        the FP8 rate, as a weight-only FP4 kernel would run)."""
        if precision == "fp4" and self.fp4_tflops is not None:
            return self.fp4_tflops
        return self.fp8_tflops if precision in ("fp8", "fp4") else self.bf16_tflops


class MoE(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    experts: int
    top_k: int
    shared_experts: int = 0
    moe_layers: int
    expert_params_b: float  # all routed experts together, billions


class ModelSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    aliases: tuple[str, ...] = ()
    params_b: float
    active_params_b: float
    layers: int
    hidden: int
    heads: int
    kv_heads: int
    head_dim: int
    attention: str = "gqa"
    vocab: int = 32000
    kv_bytes_per_token: int = Field(description="BF16 KV bytes per token, all layers")
    max_context: int
    native_precision: str | None = None
    checkpoints: dict[str, str] = Field(
        default_factory=dict, description="precision -> HF checkpoint, e.g. fp4: nvidia/DeepSeek-R1-FP4"
    )
    mtp_layers: int = Field(default=0, description="multi-token-prediction layers (num_nextn_predict_layers)")
    moe: MoE | None = None

    @property
    def is_moe(self) -> bool:
        return self.moe is not None

    def weight_bytes(self, precision: str) -> float:
        p = self.native_precision if self.native_precision == "fp4" else precision
        return self.params_b * 1e9 * BYTES_PER_PARAM[p]

    def kv_bytes(self, precision: str) -> float:
        """KV bytes per token for a KV-cache precision."""
        return self.kv_bytes_per_token * (0.5 if precision in ("fp8", "fp4") else 1.0)


_extra_models: dict[str, ModelSpec] = {}


@lru_cache(maxsize=1)
def _hardware() -> dict[str, Hardware]:
    data = yaml.safe_load(resources.files(__package__).joinpath("hardware.yaml").read_text())
    return {k: Hardware(name=k, **v) for k, v in data.items()}


@lru_cache(maxsize=1)
def _models() -> dict[str, ModelSpec]:
    data = yaml.safe_load(resources.files(__package__).joinpath("models.yaml").read_text())
    return {k: ModelSpec(name=k, **v) for k, v in data.items()}


def hardware_names() -> list[str]:
    return sorted(_hardware())


def model_names() -> list[str]:
    return sorted({**_models(), **_extra_models})


def get_hardware(name: str) -> Hardware:
    try:
        return _hardware()[name]
    except KeyError:
        raise UnknownName(f"unknown hardware {name!r}; known: {', '.join(hardware_names())}") from None


def get_model(name: str) -> ModelSpec:
    models = {**_models(), **_extra_models}
    if name in models:
        return models[name]
    for m in models.values():
        if name in m.aliases or name.lower() in (a.lower() for a in m.aliases):
            return m
    raise UnknownName(
        f"unknown model {name!r}; known: {', '.join(model_names())} "
        f"(or add one from its HF config.json with --model-config)"
    )


def register_model(spec: ModelSpec) -> ModelSpec:
    _extra_models[spec.name] = spec
    return spec
