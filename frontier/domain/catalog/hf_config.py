"""Derive a :class:`~frontier.domain.catalog.ModelSpec` from a Hugging Face ``config.json``.

Reads layers, hidden size, heads, KV heads, head dim, vocabulary, context length and MoE
settings (``num_local_experts``/``n_routed_experts``/``num_experts``, ``num_experts_per_tok``,
shared experts, ``first_k_dense_replace``/``moe_layer_freq``), MLA (``kv_lora_rank`` +
``qk_rope_head_dim``), and estimates parameter counts from the shapes (embeddings, attention,
dense MLP or experts). KV bytes per token at BF16: MLA (kv_lora_rank + rope dim) x layers x 2;
otherwise 2 (K and V) x kv_heads x head_dim x layers x 2.
"""

from __future__ import annotations

import json
from pathlib import Path

from frontier.domain.catalog import ModelSpec, MoE, register_model
from frontier.errors import FrontierError


def _get(cfg: dict, *names: str, default=None):
    for n in names:
        if cfg.get(n) is not None:
            return cfg[n]
    return default


def spec_from_hf_config(cfg: dict, name: str) -> ModelSpec:
    cfg = {**cfg.get("text_config", {}), **{k: v for k, v in cfg.items() if k != "text_config"}}
    try:
        layers = int(_get(cfg, "num_hidden_layers", "n_layer", "num_layers"))
        hidden = int(_get(cfg, "hidden_size", "d_model", "n_embd"))
        heads = int(_get(cfg, "num_attention_heads", "n_head"))
    except (TypeError, ValueError):
        raise FrontierError(
            f"{name}: config.json lacks num_hidden_layers/hidden_size/num_attention_heads"
        ) from None
    kv_heads = int(_get(cfg, "num_key_value_heads", default=heads))
    head_dim = int(_get(cfg, "head_dim", default=hidden // heads))
    vocab = int(_get(cfg, "vocab_size", default=32000))
    inter = int(_get(cfg, "intermediate_size", default=4 * hidden))
    max_ctx = int(_get(cfg, "max_position_embeddings", "max_sequence_length", default=32768))
    kv_lora = cfg.get("kv_lora_rank")
    mla = kv_lora is not None
    if mla:
        rope = int(cfg.get("qk_rope_head_dim", 64))
        nope = int(cfg.get("qk_nope_head_dim", 128))
        v_dim = int(cfg.get("v_head_dim", 128))
        q_lora = cfg.get("q_lora_rank")
        kv_bytes = (int(kv_lora) + rope) * layers * 2
        q_params = (
            (hidden * q_lora + q_lora * heads * (nope + rope)) if q_lora else hidden * heads * (nope + rope)
        )
        attn = (
            q_params + hidden * (kv_lora + rope) + kv_lora * heads * (nope + v_dim) + heads * v_dim * hidden
        )
        kv_heads_out, head_dim_out = 1, int(kv_lora) + rope
    else:
        kv_bytes = 2 * kv_heads * head_dim * layers * 2
        attn = hidden * heads * head_dim + 2 * hidden * kv_heads * head_dim + heads * head_dim * hidden
        kv_heads_out, head_dim_out = kv_heads, head_dim
    experts = _get(cfg, "n_routed_experts", "num_local_experts", "num_experts")
    moe = None
    embed = vocab * hidden * (1 if cfg.get("tie_word_embeddings") else 2)
    if experts:
        experts = int(experts)
        top_k = int(_get(cfg, "num_experts_per_tok", "moe_topk", "top_k", default=2))
        moe_inter = int(_get(cfg, "moe_intermediate_size", default=inter))
        shared = int(_get(cfg, "n_shared_experts", "num_shared_experts", default=0) or 0)
        first_dense = int(cfg.get("first_k_dense_replace", 0) or 0)
        freq = int(cfg.get("moe_layer_freq", 1) or 1)
        moe_layers = len([i for i in range(first_dense, layers) if (i - first_dense) % freq == 0])
        expert_params = 3 * hidden * moe_inter * experts * moe_layers
        shared_params = 3 * hidden * moe_inter * shared * moe_layers
        dense_mlp = 3 * hidden * inter * (layers - moe_layers)
        total = embed + layers * attn + expert_params + shared_params + dense_mlp
        active = embed / 2 + layers * attn + expert_params * top_k / experts + shared_params + dense_mlp
        moe = MoE(
            experts=experts,
            top_k=top_k,
            shared_experts=shared,
            moe_layers=moe_layers,
            expert_params_b=round(expert_params / 1e9, 3),
        )
    else:
        total = embed + layers * (attn + 3 * hidden * inter)
        active = total - embed / 2
    return ModelSpec(
        name=name,
        params_b=round(total / 1e9, 3),
        active_params_b=round(active / 1e9, 3),
        layers=layers,
        hidden=hidden,
        heads=heads,
        kv_heads=kv_heads_out,
        head_dim=head_dim_out,
        attention="mla" if mla else "gqa",
        vocab=vocab,
        kv_bytes_per_token=int(kv_bytes),
        max_context=max_ctx,
        moe=moe,
    )


def register_from_hf_config(path: str | Path, name: str | None = None) -> ModelSpec:
    """Read ``path`` (config.json, or a folder holding one) and register the model."""
    p = Path(path)
    if p.is_dir():
        p = p / "config.json"
    try:
        cfg = json.loads(p.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise FrontierError(f"cannot read HF config {p}: {e}") from None
    return register_model(spec_from_hf_config(cfg, name or cfg.get("_name_or_path") or p.parent.name))
