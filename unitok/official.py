"""Reading official UniTok release checkpoints (`unitok_tokenizer.pth`).

The release is a torch pickle: {"args": {...Args fields...}, "trainer": {"unitok": state_dict, ...}}.
It is read with `torch.load(weights_only=True)`. The architecture is taken from the weights'
shapes (which cannot lie), and from `args` for what shapes do not tell (attention heads, text
heads, loss settings); the two are cross-checked.
"""
from __future__ import annotations

import re
from typing import Any, Dict, Mapping, Tuple

import torch

from .config import OFFICIAL_MODEL_NAMES, UniTokConfig, _PRESETS

# Args fields read from the checkpoint; everything else in `args` (paths, optimizer, ...) is ignored.
_ARGS_TO_CONFIG = {"img_size": "img_size", "resize_ratio": "resize_ratio", "num_query": "num_query",
                   "quant_proj": "quant_proj", "embed_dim": "embed_dim", "vq_beta": "vq_beta",
                   "le": "entropy_weight", "e_temp": "entropy_temp", "text_width": "text_width",
                   "text_heads": "text_heads", "text_layers": "text_layers",
                   "text_vocab_size": "text_vocab_size", "text_context_length": "text_context_length"}
_VIT_HEAD_DIM = 64  # every ViTamin size uses 64-d heads


def read_official_checkpoint(path: str) -> Tuple[Dict[str, Any], Dict[str, torch.Tensor]]:
    """-> (args dict, UniTok state dict). Raises ValueError for files that are not such a release."""
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # corrupt, truncated, or a pickle the safe loader refuses
        raise ValueError(f"cannot read {path!r} as an official UniTok checkpoint: {err}") from err
    if not isinstance(ckpt, Mapping) or "trainer" not in ckpt or "unitok" not in ckpt.get("trainer", {}):
        raise ValueError(f"{path!r} is not an official UniTok checkpoint: expected keys 'args' and "
                         "'trainer' -> 'unitok'")
    return dict(ckpt.get("args") or {}), dict(ckpt["trainer"]["unitok"])


def _count(state: Mapping[str, torch.Tensor], pattern: str) -> int:
    found = {int(m.group(1)) for k in state for m in [re.match(pattern, k)] if m}
    return max(found) + 1 if found else 0


def config_from_official(args: Mapping[str, Any], state: Mapping[str, torch.Tensor]) -> UniTokConfig:
    bb = "encoder.patch_embed.backbone."
    try:
        width = state[bb + "pool.proj.weight"].shape[0]
        kwargs: Dict[str, Any] = dict(
            stem_width=state[bb + "stem.conv1.weight"].shape[0],
            stage_widths=[state[f"{bb}stages.{s}.0.conv3_1x1.weight"].shape[0] for s in (0, 1)],
            stage_depths=[_count(state, rf"{re.escape(bb)}stages\.{s}\.(\d+)\.") for s in (0, 1)],
            mbconv_expand_ratio=state[bb + "stages.0.0.conv1_1x1.weight"].shape[0]
            / state[bb + "stages.0.0.conv3_1x1.weight"].shape[0],
            width=width,
            depth=_count(state, r"encoder\.blocks\.(\d+)\."),
            decoder_depth=_count(state, r"decoder\.blocks\.(\d+)\."),
            decoder_up_depths=[_count(state, rf"decoder\.up_conv{i}\.(\d+)\.") for i in (2, 3)],
            mlp_ratio=state["encoder.blocks.0.mlp.w0.weight"].shape[0] / width,
            num_codebooks=_count(state, r"quantizer\.codebooks\.(\d+)\."),
        )
        codebook = state["quantizer.codebooks.0.codebook.weight"]
        kwargs.update(codebook_size=codebook.shape[0], code_dim=codebook.shape[1])
        kwargs["embed_dim"] = state["projection.weight"].shape[0]
        kwargs["text_width"] = state["text_encoder.token_embedding.weight"].shape[1]
        kwargs["text_vocab_size"] = state["text_encoder.token_embedding.weight"].shape[0]
        kwargs["text_context_length"] = state["text_encoder.positional_embedding"].shape[0]
        kwargs["text_layers"] = _count(state, r"text_encoder\.transformer\.resblocks\.(\d+)\.")
        kwargs["text_mlp_ratio"] = state["text_encoder.transformer.resblocks.0.mlp.c_fc.weight"].shape[0] / \
            kwargs["text_width"]
        kwargs["quant_proj"] = "attn" if "quant_proj.attn.qkv.weight" in state else "linear"
        kwargs["num_query"] = state["encoder.reg_token"].shape[1] if "encoder.reg_token" in state else 0
    except KeyError as err:
        raise ValueError(f"official UniTok state dict lacks {err}; the file is incomplete or not a UniTok") from err

    preset = _PRESETS.get(OFFICIAL_MODEL_NAMES.get(str(args.get("model", ""))), {})
    kwargs["num_heads"] = preset.get("num_heads", width // _VIT_HEAD_DIM)
    for arg_name, field in _ARGS_TO_CONFIG.items():
        if arg_name in args and field not in kwargs:
            kwargs[field] = args[arg_name]
    kwargs.setdefault("text_heads", preset.get("text_heads", max(1, kwargs["text_width"] // 64)))
    _cross_check(args, kwargs)
    return UniTokConfig(**kwargs)


def _cross_check(args: Mapping[str, Any], kwargs: Mapping[str, Any]) -> None:
    expected = {"num_codebooks": kwargs["num_codebooks"],
                "vocab_size": kwargs["num_codebooks"] * kwargs["codebook_size"],
                "vocab_width": kwargs["num_codebooks"] * kwargs["code_dim"], "embed_dim": kwargs["embed_dim"]}
    for name, value in expected.items():
        if name in args and int(args[name]) != int(value):
            raise ValueError(f"checkpoint args say {name}={args[name]} but its weights imply {value}")


def load_official_checkpoint(path: str, model_class):
    """Build `model_class` (UniTok or a subclass) from an official `.pth` and load its weights strictly,
    in eval mode. Most callers want `UniTok.from_pretrained(path)`, which calls this."""
    args, state = read_official_checkpoint(path)
    config = config_from_official(args, state)
    with torch.device("meta"):
        model = model_class(config)
    model.load_state_dict(state, strict=True, assign=True)
    return model.float().eval()
