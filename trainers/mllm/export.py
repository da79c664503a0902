"""Export the trained model as a HF folder that `AutoModelForCausalLM.from_pretrained` loads (after
`import mllm`), with the text tokenizer and the UniTok copied next to it.

Under ZeRO-3 every rank holds a slice of each parameter: the full weights are gathered module by
module with `deepspeed.zero.GatheredParameters` (collective), and rank 0 keeps a CPU copy. LoRA
adapters are merged on that CPU copy, so merging never touches partitioned parameters.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Optional

import torch
import torch.distributed as dist

from mllm import UniTokMLLMForCausalLM

UNITOK_SUBDIR = "unitok"


def gather_state_dict(module: torch.nn.Module, rank: int) -> Optional[dict]:
    """Full CPU state dict on rank 0 (None elsewhere). Collective under ZeRO-3."""
    import deepspeed

    state = {}
    for prefix, sub in module.named_modules():
        params = list(sub.named_parameters(recurse=False))
        zero3 = any(hasattr(p, "ds_id") for _, p in params)
        if zero3:
            with deepspeed.zero.GatheredParameters([p for _, p in params], modifier_rank=None):
                if rank == 0:
                    state.update({f"{prefix}.{n}" if prefix else n: p.detach().cpu().clone() for n, p in params})
        elif rank == 0:
            state.update({f"{prefix}.{n}" if prefix else n: p.detach().cpu().clone() for n, p in params})
        if rank == 0:
            for n, b in sub.named_buffers(recurse=False):
                if n not in getattr(sub, "_non_persistent_buffers_set", set()):
                    state[f"{prefix}.{n}" if prefix else n] = b.detach().cpu().clone()
    return state if rank == 0 else None


def trained_dtype(state: dict) -> torch.dtype:
    """The floating dtype holding most of the weights."""
    counts: dict = {}
    for tensor in state.values():
        if tensor.is_floating_point():
            counts[tensor.dtype] = counts.get(tensor.dtype, 0) + tensor.numel()
    return max(counts, key=counts.get) if counts else torch.float32


def export(module: torch.nn.Module, config, out_dir: str | Path, tokenizer, unitok_path: str, rank: int,
           lora: Optional[dict] = None, info: Optional[dict] = None) -> Optional[Path]:
    """Collective. `module` is the engine's module (maybe a PeftModel); `lora` = dict(r, alpha,
    dropout) when it is one."""
    state = gather_state_dict(module, rank)
    if dist.is_initialized():
        dist.barrier()
    if rank != 0:
        return None
    out_dir = Path(out_dir)
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    # Saved in the precision it trained in (bf16 runs give bf16 folders, like the release), so
    # loading in that dtype maps the file instead of converting it.
    dtype = trained_dtype(state)
    model = UniTokMLLMForCausalLM(config).to(dtype)
    if lora:
        from .lora import merge_state_dict
        state, peft_model = merge_state_dict(model, state, **lora)
        peft_model.save_pretrained(str(out_dir / "adapter"))
        model = UniTokMLLMForCausalLM(config).to(dtype)
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [m for m in missing if "rotary_emb" not in m]
    if missing or unexpected:
        raise RuntimeError(f"export: state dict does not match the model: missing {missing[:5]}, "
                           f"unexpected {unexpected[:5]}")
    model.config.architectures = ["UniTokMLLMForCausalLM"]
    model.save_pretrained(str(out_dir), safe_serialization=True)
    tokenizer.save_pretrained(str(out_dir))
    unitok = Path(unitok_path)
    if unitok.is_dir():
        shutil.copytree(unitok, out_dir / UNITOK_SUBDIR)
    else:
        (out_dir / UNITOK_SUBDIR).mkdir()
        shutil.copy2(unitok, out_dir / UNITOK_SUBDIR / unitok.name)
    (out_dir / "training_info.json").write_text(json.dumps({"unitok": UNITOK_SUBDIR, "unitok_source": str(unitok),
                                                            **(info or {})}, indent=1))
    return out_dir
