"""Zero-shot classification with the UniTok CLIP heads (open_clip `build_zero_shot_classifier`).

Each class embedding is the mean of its L2-normalised prompt embeddings, re-normalised; logits are
100 x cosine with the normalised image embedding (computed from the hard codes).
"""
from __future__ import annotations

from typing import Dict, List, Sequence

import torch

DEFAULT_TEMPLATES = ("a photo of a {}.", "a bad photo of a {}.", "a photo of the large {}.",
                     "a photo of the small {}.", "a cropped photo of a {}.", "a close-up photo of a {}.",
                     "a good photo of a {}.", "a rendering of a {}.")


@torch.no_grad()
def build_classifier(model, classnames: Sequence[str], templates: Sequence[str] = DEFAULT_TEMPLATES) -> torch.Tensor:
    """(embed_dim, num_classes) matrix of class embeddings."""
    from unitok.tokenizer import tokenize
    if not classnames or not templates:
        raise ValueError("zero-shot classification needs class names and prompt templates")
    bad = [t for t in templates if "{}" not in t]
    if bad:
        raise ValueError(f"prompt templates must contain '{{}}' for the class name: {bad}")
    ctx = model.config.text_context_length
    weights = []
    for name in classnames:
        tokens = tokenize([t.format(name) for t in templates], ctx)
        emb = model.encode_text(tokens, normalize=True).float().mean(dim=0)
        weights.append(emb / emb.norm())
    return torch.stack(weights, dim=1)


@torch.no_grad()
def zero_shot_logits(model, images: torch.Tensor, classifier: torch.Tensor) -> torch.Tensor:
    features = model.encode_image(images.to(model.device), normalize=True).float()
    return 100.0 * features @ classifier.to(features.device)


def topk_accuracy(logits: torch.Tensor, labels: torch.Tensor, ks: Sequence[int] = (1, 5)) -> Dict[str, float]:
    out: Dict[str, float] = {}
    for k in ks:
        if k <= logits.shape[1]:
            top = logits.topk(k, dim=1).indices.cpu()
            out[f"top{k}"] = float((top == labels.view(-1, 1)).any(dim=1).double().mean())
    return out


def class_names_from_folders(folders: List[str]) -> List[str]:
    return [f.replace("_", " ") for f in folders]
