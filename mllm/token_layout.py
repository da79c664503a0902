"""The special tokens of an MLLM, recorded in its config (`token_layout`) instead of hard-wired ids.

Every part that builds sequences, masks labels, pads batches or generates reads a `TokenLayout`
(`TokenLayout.of(model.config)`). A config without the field (the official release, every folder
saved before the field existed) has the Llama-2 layout of the official code: pad = unk 0, bos 1,
eos 2, and the byte tokens <0x00> = 3 / <0x01> = 4 as boi / eoi.

A backbone with its own tokenizer gets its layout from `layout_for_tokenizer`, which adds <boi> /
<eoi> (and a pad token) as special tokens when the vocabulary has no spare byte tokens for them.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Optional

from .constants import (BOI_TOKEN_ID, BOS_TOKEN_ID, EOI_TOKEN_ID, EOS_TOKEN_ID, IMAGE_PLACEHOLDER, PAD_TOKEN_ID,
                        UNCONDITIONAL_PROMPT, VICUNA_SEP2)

ADDED_BOI, ADDED_EOI, ADDED_PAD = "<boi>", "<eoi>", "<pad>"
_LLAMA_BYTE_BOI, _LLAMA_BYTE_EOI = "<0x00>", "<0x01>"


@dataclass(frozen=True)
class TokenLayout:
    """Ids and texts of the special tokens.

    bos: prepended where the official layout starts a sequence with <s> (i2t, image prompts);
         None for tokenizers that start texts without one (GPT-2-style BPE such as SmolLM2's).
    eos_text: the text that ends an assistant turn in the vicuna template; it must tokenize to
         `eos` so that generation stops there ("</s>" for Llama-2).
    unconditional_prompt: the T2I prompt of the unconditional (CFG) branch.
    image_placeholder: the marker in prompt text that becomes one image slot.
    """
    pad: int = PAD_TOKEN_ID
    bos: Optional[int] = BOS_TOKEN_ID
    eos: int = EOS_TOKEN_ID
    boi: int = BOI_TOKEN_ID
    eoi: int = EOI_TOKEN_ID
    boi_text: str = _LLAMA_BYTE_BOI
    eoi_text: str = _LLAMA_BYTE_EOI
    eos_text: str = VICUNA_SEP2
    unconditional_prompt: str = UNCONDITIONAL_PROMPT
    image_placeholder: str = IMAGE_PLACEHOLDER

    @classmethod
    def of(cls, config) -> "TokenLayout":
        """The layout a model config records; the Llama-2 layout when it records none."""
        fields = getattr(config, "token_layout", None)
        return cls() if not fields else cls.from_dict(fields)

    @classmethod
    def from_dict(cls, fields: dict) -> "TokenLayout":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(fields) - known)
        if unknown:
            raise ValueError(f"token_layout has unknown fields {unknown}; known: {sorted(known)}")
        return cls(**fields)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @property
    def is_default(self) -> bool:
        return self == TokenLayout()

    def check_tokenizer(self, tokenizer) -> None:
        """Raise when `tokenizer` does not map the layout's token texts to its ids (a tokenizer
        from another model, or one saved without the added tokens)."""
        expected = {self.boi_text: self.boi, self.eoi_text: self.eoi}
        got = {text: tokenizer.convert_tokens_to_ids(text) for text in expected}
        eos = tokenizer(self.eos_text, add_special_tokens=False).input_ids
        problems = [f"{t!r} -> {got[t]} (expected {i})" for t, i in expected.items() if got[t] != i]
        if eos != [self.eos]:
            problems.append(f"{self.eos_text!r} tokenizes to {eos} (expected [{self.eos}])")
        if problems:
            raise ValueError("text tokenizer does not match the model's token layout: " + "; ".join(problems))


def _single_token(tokenizer, text: str) -> Optional[int]:
    """The id of `text` when the vocabulary has it as one token, else None."""
    token_id = tokenizer.convert_tokens_to_ids(text)
    if token_id is None or token_id == tokenizer.unk_token_id and text != tokenizer.unk_token:
        return None
    return int(token_id)


def _starts_with_bos(tokenizer) -> bool:
    ids = tokenizer("a").input_ids
    return tokenizer.bos_token_id is not None and bool(ids) and ids[0] == tokenizer.bos_token_id


def layout_for_tokenizer(tokenizer) -> tuple[TokenLayout, int]:
    """The layout of `tokenizer`, adding what it lacks: returns (layout, number of tokens added).

    Byte-fallback SentencePiece vocabularies (Llama-1/2, Mistral) keep the official boi/eoi byte
    tokens, so such a tokenizer gives the Llama-2 layout unchanged. Others get <boi> / <eoi> added
    as special tokens (never split, never produced by ordinary text). A tokenizer without a pad
    token pads with unk (the official choice) or, without unk either, with an added <pad>. The caller resizes the embeddings to `len(tokenizer)`."""
    if tokenizer.eos_token_id is None:
        raise ValueError("the text tokenizer defines no eos token; set tokenizer.eos_token first")
    before = len(tokenizer)
    boi, eoi = _single_token(tokenizer, _LLAMA_BYTE_BOI), _single_token(tokenizer, _LLAMA_BYTE_EOI)
    if boi is not None and eoi is not None:
        boi_text, eoi_text = _LLAMA_BYTE_BOI, _LLAMA_BYTE_EOI
    else:
        boi_text, eoi_text = ADDED_BOI, ADDED_EOI
        missing = [t for t in (ADDED_BOI, ADDED_EOI) if _single_token(tokenizer, t) is None]
        if missing:
            tokenizer.add_special_tokens({"additional_special_tokens": missing})
        boi, eoi = tokenizer.convert_tokens_to_ids(ADDED_BOI), tokenizer.convert_tokens_to_ids(ADDED_EOI)
    if tokenizer.pad_token_id is None:
        # pad = unk, as the official training code does; a vocabulary without unk gets <pad>.
        if tokenizer.unk_token is not None and tokenizer.unk_token_id is not None:
            tokenizer.pad_token = tokenizer.unk_token
        else:
            tokenizer.add_special_tokens({"pad_token": ADDED_PAD})
    layout = TokenLayout(pad=int(tokenizer.pad_token_id), bos=tokenizer.bos_token_id if _starts_with_bos(tokenizer)
                         else None, eos=int(tokenizer.eos_token_id), boi=int(boi), eoi=int(eoi), boi_text=boi_text,
                         eoi_text=eoi_text, eos_text=tokenizer.eos_token)
    layout.check_tokenizer(tokenizer)
    return layout, len(tokenizer) - before
