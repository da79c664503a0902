"""Batched understanding: many (image codes, conversation) rows answered by one left-padded
`generate` call, each row stopping at its own end of sequence; greedy answers equal those of one
row at a time. The same rows can instead score given continuations (log-likelihood), which is
what multiple-choice evaluation needs.

Pad and end-of-sequence ids come from the model's config / generation config and the tokenizer.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F

from .constants import IGNORE_INDEX
from .conversation import LLAMA2, tokenize_with_images, vicuna_prompt
from .token_layout import TokenLayout

# (user message, assistant reply); the reply of the last turn is None: the one to generate.
Turn = Tuple[str, Optional[str]]


def left_pad(rows: Sequence[Sequence[int]], pad_id: int, device) -> Tuple[torch.Tensor, torch.Tensor]:
    """Rows of ids -> (ids, attention mask), both (B, T), padded on the left."""
    length = max(len(r) for r in rows)
    ids = torch.tensor([[pad_id] * (length - len(r)) + list(r) for r in rows], dtype=torch.long, device=device)
    mask = torch.tensor([[0] * (length - len(r)) + [1] * len(r) for r in rows], dtype=torch.long, device=device)
    return ids, mask


def conversation_ids(tokenizer, turns: Sequence[Turn], with_image: bool, reply: Optional[str] = None,
                     layout: TokenLayout = LLAMA2) -> List[int]:
    """Ids of a vicuna_v1 conversation whose first user message carries the image (if any),
    open for the assistant's next reply; with `reply`, that reply follows (for scoring it)."""
    if not turns or turns[-1][1] is not None:
        raise ValueError("a conversation must end with a user turn whose reply is None (the one to generate)")
    turns = list(turns)
    if with_image:
        first, answer = turns[0]
        turns[0] = (f"{layout.image_placeholder}\n{first}", answer)
    text = vicuna_prompt(turns, layout)
    if reply is not None:
        text += " " + reply.lstrip()  # vicuna: "ASSISTANT: <reply>"
    return tokenize_with_images(tokenizer, text, layout)


@dataclass
class Scored:
    """log P(continuation | context) summed over its tokens, and whether greedy decoding would
    have produced exactly these tokens."""
    logprob: float
    is_greedy: bool
    num_tokens: int


class BatchedChat:
    def __init__(self, model, tokenizer):
        self.model = model
        self.tokenizer = tokenizer

    @property
    def device(self) -> torch.device:
        return self.model.get_input_embeddings().weight.device

    @property
    def pad_id(self) -> int:
        for value in (self.model.config.pad_token_id, self.tokenizer.pad_token_id,
                      self.model.generation_config.pad_token_id):
            if value is not None:
                return int(value)
        raise ValueError("neither the model nor the tokenizer defines a pad token id")

    @property
    def eos_ids(self) -> List[int]:
        eos = self.model.generation_config.eos_token_id
        if eos is None:
            eos = self.tokenizer.eos_token_id
        if eos is None:
            raise ValueError("neither the model's generation config nor the tokenizer defines an eos token id")
        return [int(e) for e in (eos if isinstance(eos, (list, tuple)) else [eos])]

    def _decode(self, row: torch.Tensor) -> str:
        tokens = row.tolist()
        stops = [i for i, token in enumerate(tokens) if token in self.eos_ids]
        if stops:
            tokens = tokens[:stops[0]]
        return self.tokenizer.decode(tokens, skip_special_tokens=True).strip()

    @torch.no_grad()
    def generate(self, prompts: Sequence[Sequence[int]], image_codes: Sequence[Optional[torch.Tensor]],
                 max_new_tokens: int = 128, temperature: float = 0.0, top_p: Optional[float] = None) -> List[str]:
        """prompts: ids with one IMAGE_TOKEN_INDEX per image; image_codes: per row None or
        (num_codebooks, L) codes. temperature 0 is greedy (the official evaluation setting)."""
        if len(prompts) != len(image_codes):
            raise ValueError(f"{len(prompts)} prompts but {len(image_codes)} image entries")
        if not prompts:
            return []
        ids, mask = left_pad(prompts, self.pad_id, self.device)
        with_images = any(c is not None for c in image_codes)
        codes = [None if c is None else c.to(self.device) for c in image_codes] if with_images else None
        sampling = dict(do_sample=True, temperature=temperature, top_p=top_p) if temperature > 0 else dict(do_sample=False)
        out = self.model.generate(ids, attention_mask=mask, image_codes=codes, max_new_tokens=max_new_tokens,
                                  pad_token_id=self.pad_id, eos_token_id=self.eos_ids, **sampling)
        # With images the prompt goes in as embeddings and only new tokens come back.
        new = out if with_images else out[:, ids.shape[1]:]
        return [self._decode(row) for row in new]

    def continuation_ids(self, prompt: Sequence[int], full: Sequence[int]) -> List[int]:
        """The ids `full` (prompt text + continuation text, tokenized together) adds to `prompt`.
        Tokenizing together keeps the word-boundary pieces a model saw in training."""
        shared = 0
        for a, b in zip(prompt, full):
            if a != b:
                break
            shared += 1
        if shared < len(prompt) - 1:
            raise ValueError("the continuation changed how the context tokenizes; cannot score it")
        return list(full[len(prompt):]) if shared == len(prompt) else list(full[shared:])

    @torch.no_grad()
    def loglikelihood(self, prompts: Sequence[Sequence[int]], continuations: Sequence[Sequence[int]],
                      image_codes: Sequence[Optional[torch.Tensor]]) -> List[Scored]:
        """Sum of log-probabilities of each continuation's ids after its prompt (one forward pass
        over the batch, right padded), with the prompt's images spliced in."""
        if not (len(prompts) == len(continuations) == len(image_codes)):
            raise ValueError("prompts, continuations and image_codes must have the same length")
        if any(len(c) == 0 for c in continuations):
            raise ValueError("every continuation needs at least one token")
        rows = [list(p) + list(c) for p, c in zip(prompts, continuations)]
        length = max(len(r) for r in rows)
        ids = torch.tensor([r + [self.pad_id] * (length - len(r)) for r in rows], device=self.device)
        mask = torch.tensor([[1] * len(r) + [0] * (length - len(r)) for r in rows], device=self.device)
        labels = torch.tensor([[IGNORE_INDEX] * len(p) + list(c) + [IGNORE_INDEX] * (length - len(p) - len(c))
                               for p, c in zip(prompts, continuations)], device=self.device)
        codes = [None if c is None else c.to(self.device) for c in image_codes]
        spliced = self.model.splice(ids, codes if any(c is not None for c in codes) else None, mask,
                                    labels=labels, pad_side="right")
        logits = self.model(inputs_embeds=spliced.inputs_embeds, attention_mask=spliced.attention_mask,
                            position_ids=spliced.position_ids, use_cache=False).logits[:, :-1].float()
        targets = spliced.labels[:, 1:]
        scored = targets != IGNORE_INDEX
        token_logprob = F.log_softmax(logits, dim=-1).gather(-1, targets.clamp(min=0).unsqueeze(-1)).squeeze(-1)
        greedy = (logits.argmax(-1) == targets) | ~scored
        return [Scored(float(token_logprob[b][scored[b]].sum()), bool(greedy[b].all()), int(scored[b].sum()))
                for b in range(len(rows))]
