"""Write a tiny random-weight Llama model with a real BPE tokenizer into a directory (no hub).

Run with an interpreter that has torch and transformers (.venv-bench, scripts/bench-serving-env.sh):
    .venv-bench/bin/python tests/tiny_model.py DIR
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def make_model(directory: Path) -> Path:
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from tests.tokenizer_support import make_tokenizer

    make_tokenizer(directory, vocab_size=600)
    (directory / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "PreTrainedTokenizerFast", "bos_token": "<s>", "eos_token": "</s>",
        "model_max_length": 4096, "clean_up_tokenization_spaces": False,
        "chat_template": "{% for m in messages %}{{ m['content'] }}{% endfor %}",
    }))  # fmt: skip
    torch.manual_seed(0)
    cfg = LlamaConfig(
        vocab_size=600, hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2,
        num_key_value_heads=2, max_position_embeddings=4096, bos_token_id=0, eos_token_id=1,
    )  # fmt: skip
    LlamaForCausalLM(cfg).save_pretrained(directory)
    return directory


if __name__ == "__main__":
    make_model(Path(sys.argv[1]))
    print("ok")
