"""Write a tiny random-weight Llama model next to a tokenizer.json already in a directory (no hub).

The tokenizer comes first (``tests.support.make_tokenizer(DIR)``, in the project's interpreter); this
script adds tokenizer_config.json, config.json and the weights, with an interpreter that has torch and
transformers (.venv-bench, scripts/bench-serving-env.sh):
    .venv-bench/bin/python tests/tiny_model.py DIR
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def make_model(directory: Path) -> Path:
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    vocab = json.loads((directory / "tokenizer.json").read_text())["model"]["vocab"]
    (directory / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "PreTrainedTokenizerFast", "bos_token": "<s>", "eos_token": "</s>",
        "model_max_length": 4096, "clean_up_tokenization_spaces": False,
        "chat_template": "{% for m in messages %}{{ m['content'] }}{% endfor %}",
    }))  # fmt: skip
    torch.manual_seed(0)
    cfg = LlamaConfig(
        vocab_size=len(vocab), hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2,
        num_key_value_heads=2, max_position_embeddings=4096, bos_token_id=0, eos_token_id=1,
    )  # fmt: skip
    LlamaForCausalLM(cfg).save_pretrained(directory)
    return directory


if __name__ == "__main__":
    make_model(Path(sys.argv[1]))
    print("ok")
