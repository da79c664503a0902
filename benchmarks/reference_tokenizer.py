"""FROZEN BASELINE - do not optimise. UniTok `img_to_idx` / `idx_to_img` as on main at commit
def4ffd (before issue 12), so `tokenizer_speed.py` can time "today's" path against the current
one in the same run.

Frozen here: everything issue 12 changes - the decoder's upsampling path (nearest x2 upsample,
then a 3x3 conv over the upsampled map) and the per-sub-codebook nearest-code lookup. The ViT
blocks, the encoder's conv stages and the projections are run through their modules, which
issue 12 leaves as they were.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def _upsample(module, x):
    return module.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


def _inv_mbconv(block, x):
    shortcut = _upsample(block.shortcut, x) if hasattr(block.shortcut, "conv") else block.shortcut(x)
    x = F.gelu(block.conv1_1x1(block.pre_norm(x)))
    if hasattr(block.up, "conv"):
        x = _upsample(block.up, x)
    x = block.conv3_1x1(F.gelu(block.conv2_kxk(x)))
    return x + shortcut


def reference_decode(decoder, x):
    """ViTaminDecoder.forward (square grid, inference)."""
    b, length, c = x.shape
    side = int(round((length - decoder.num_query) ** 0.5))
    for block in decoder.blocks:
        x = block(x)
    x = decoder.norm(x[:, decoder.num_query:])
    x = x.transpose(1, 2).reshape(b, c, side, side)
    x = _upsample(decoder.up_conv1, x)
    for block in list(decoder.up_conv2) + list(decoder.up_conv3):
        x = _inv_mbconv(block, x)
    stem = decoder.up_conv4
    return stem.conv2(stem.norm1(_upsample(stem.conv1, x)))


def reference_f_to_idx(quantizer, features):
    """MultiCodebookQuantizer.f_to_idx: one cosine lookup per sub-codebook, in 8192-row chunks."""
    b, length, _ = features.shape
    chunks = features.reshape(-1, features.shape[-1]).split(quantizer.code_dim, dim=-1)
    out = []
    for chunk, cb in zip(chunks, quantizer.codebooks):
        z = F.normalize(chunk.float(), dim=-1)
        codebook = F.normalize(cb.codebook.weight.float(), dim=1)
        idx = torch.empty(z.shape[0], dtype=torch.long)
        for start in range(0, z.shape[0], 8192):
            idx[start:start + 8192] = torch.argmax(z[start:start + 8192] @ codebook.T, dim=1)
        out.append(idx.view(b, length))
    return torch.stack(out, dim=1)


@torch.no_grad()
def reference_img_to_idx(model, images):
    tokens = model.encoder(images.to(model.dtype)).float()
    return reference_f_to_idx(model.quantizer, model.quant_proj(tokens))


@torch.no_grad()
def reference_idx_to_img(model, codes):
    parts = [F.embedding(codes[:, i].flatten(1).long(), F.normalize(cb.codebook.weight.float(), dim=1))
             for i, cb in enumerate(model.quantizer.codebooks)]
    tokens = model.post_quant_proj(torch.cat(parts, dim=-1))
    return reference_decode(model.decoder, tokens.to(model.dtype)).float().clamp(-1, 1)
