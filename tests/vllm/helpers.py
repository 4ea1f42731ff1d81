"""Helpers of the vLLM lane: LoRA adapters on a saved micro model, and PEFT's reference.

The fixtures (the micro model directory) are in ``conftest.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

#: LoRA of the adapters served in these tests (vLLM rounds the engine's rank up to 8).
RANK = 4


def make_adapter(
    base_dir: Path, out: Path, *, seed: int, name: str = "generator", r: int = RANK
) -> Path:
    """Save a LoRA adapter of ``base_dir`` whose ``B`` is random (so it changes the output)."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32)
    config = LoraConfig(task_type="CAUSAL_LM", r=r, lora_alpha=2 * r, target_modules="all-linear")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = get_peft_model(base, config, adapter_name=name)
        for key, p in model.named_parameters():
            if "lora_B" in key:
                p.data.normal_(0.0, 0.3)
    model.save_pretrained(str(out), selected_adapters=[name])
    return out / name if name != "default" else out


def hf_peft(base_dir: Path, adapters: dict[str, Path]) -> Any:
    """The base model with the given adapters loaded by PEFT (the HF engine's reference)."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32)
    names = list(adapters)
    model = PeftModel.from_pretrained(base, str(adapters[names[0]]), adapter_name=names[0])
    for name in names[1:]:
        model.load_adapter(str(adapters[name]), adapter_name=name)
    return model.eval()
