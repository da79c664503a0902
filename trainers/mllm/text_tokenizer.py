"""An offline text tokenizer for the demo runs: a small SentencePiece BPE with byte fallback,
trained in code on the demo texts and saved as a HF LlamaTokenizer folder.

Its id layout follows Llama-2 where the MLLM relies on it: <unk>=0, <s>=1, </s>=2 and the byte
tokens right after, so <0x00>=3 (boi) and <0x01>=4 (eoi).
"""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Iterable, List

from mllm.constants import (BOI_TOKEN_ID, BOS_TOKEN_ID, EOI_TOKEN_ID, EOS_TOKEN_ID, SHORT_ANSWER_INSTRUCTION,
                            T2I_SUFFIX, UNCONDITIONAL_PROMPT, VICUNA_SYSTEM)

DEMO_VOCAB_SIZE = 1024


def demo_corpus() -> List[str]:
    """Every text the demo data and prompts can produce (captions, questions, answers, templates)."""
    from data_recipes.demo.language import corpus_lines

    # Repeated so that BPE merges them into whole words: the fixed prompt text of every sample and
    # the one-word answers then cost a token per word (the system prompt alone was 79 tokens).
    fixed = [VICUNA_SYSTEM, T2I_SUFFIX.strip(), SHORT_ANSWER_INSTRUCTION, "USER: ASSISTANT:"]
    lines = fixed * 40 + [UNCONDITIONAL_PROMPT, "</s>"]
    lines += corpus_lines() * 10
    return lines


def train_sentencepiece(lines: Iterable[str], out_dir: Path, vocab_size: int = DEMO_VOCAB_SIZE) -> Path:
    """Train a BPE SentencePiece model with byte fallback and Llama-2 special ids; returns the .model."""
    import sentencepiece as spm

    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus.txt"
        corpus.write_text("\n".join(lines) + "\n")
        prefix = out_dir / "tokenizer"
        spm.SentencePieceTrainer.train(
            input=str(corpus), model_prefix=str(prefix), model_type="bpe", vocab_size=vocab_size,
            byte_fallback=True, character_coverage=1.0, unk_id=0, bos_id=1, eos_id=2, pad_id=-1,
            hard_vocab_limit=False, minloglevel=2)
    return out_dir / "tokenizer.model"


def build_demo_tokenizer(out_dir: str | Path):
    """Train the demo tokenizer into `out_dir` as a HF LlamaTokenizer folder and return it.
    Raises if the Llama-2 id layout the MLLM relies on does not hold."""
    from transformers import LlamaTokenizer

    out_dir = Path(out_dir)
    train_sentencepiece(demo_corpus(), out_dir)
    tokenizer = LlamaTokenizer.from_pretrained(str(out_dir), add_bos_token=True, add_eos_token=False)
    check_llama_layout(tokenizer)
    tokenizer.save_pretrained(str(out_dir))
    return tokenizer


def check_llama_layout(tokenizer) -> None:
    expected = {"<unk>": 0, "<s>": BOS_TOKEN_ID, "</s>": EOS_TOKEN_ID, "<0x00>": BOI_TOKEN_ID, "<0x01>": EOI_TOKEN_ID}
    got = {t: tokenizer.convert_tokens_to_ids(t) for t in expected}
    if got != expected:
        raise ValueError(f"text tokenizer does not follow the Llama-2 id layout: expected {expected}, got {got}")
    ids = tokenizer("a red circle").input_ids
    if not ids or ids[0] != BOS_TOKEN_ID or len(ids) < 2:
        raise ValueError(f"text tokenizer must prepend <s> and produce tokens; 'a red circle' -> {ids}")


def load_or_build_tokenizer(path: str | Path):
    """A HF tokenizer folder; built with `build_demo_tokenizer` when the folder has none yet."""
    from transformers import AutoTokenizer

    path = Path(path)
    if (path / "tokenizer_config.json").exists():
        # Checked against the model's token layout once the model is known (trainer.build_model).
        return AutoTokenizer.from_pretrained(str(path))
    return build_demo_tokenizer(path)
