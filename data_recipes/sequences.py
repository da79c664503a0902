"""Token sequences and loss masks for every sample type, in the official UniTok-MLLM layout.

Image slots. Every image occupies ONE `IMAGE_TOKEN_INDEX` (-200) placeholder in `input_ids`; the
model replaces it by the image's L positions (256 for a 256x256 UniTok image). The label at the
placeholder says what the image is:

- `labels[i] == IMAGE_TOKEN_INDEX`: a GENERATION TARGET (T2I). Its codes are predicted by the
  depth head from the hidden states before each image position; the lm_head gets no target there.
- `labels[i] == IGNORE_INDEX`: an UNDERSTANDING INPUT (I2T, plain caption, instruction). No loss.

Special ids come from a `mllm.token_layout.TokenLayout` (the model config's `token_layout`); the
default is the official Llama-2 layout, whose ids the layouts below show (bos 1, eos 2, boi 3,
eoi 4). A layout without bos (GPT-2-style tokenizers) drops the leading 1.
- t2i:           tokenizer(prompt + T2I_SUFFIX) + [3, -200, 4, 2]; labels -100 over the prompt, then
                 3, -200, 4, 2. prompt = long caption (p=0.8) or caption; "<unconditional>" with p=0.1.
- i2t:           [1, 3, -200, 4] + caption ids (no bos) + [2]; loss on caption and eos.
- image_caption: tokenizer_image_token("<image>" + caption + "\\n") = [1, -200, caption.., 13]; loss after the image.
- instruction:   vicuna_v1 conversation; loss only on assistant answers and their "</s>".
- text:          tokenizer(text) + [2]; loss on every token.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from mllm.constants import IGNORE_INDEX, IMAGE_TOKEN_INDEX, T2I_SUFFIX, VICUNA_ROLES, VICUNA_SEP, VICUNA_SYSTEM
from mllm.token_layout import TokenLayout

LLAMA2 = TokenLayout()

MAX_PROMPT_TOKENS = 1750   # official truncation of the T2I prompt


@dataclass
class TokenizedSample:
    input_ids: list[int]
    labels: list[int]
    images: list[np.ndarray] = field(default_factory=list)   # (K, L) codes, one per placeholder, in order
    data_type: str = "text"

    def __post_init__(self):
        if len(self.input_ids) != len(self.labels):
            raise ValueError(f"{self.data_type}: {len(self.input_ids)} ids but {len(self.labels)} labels")
        slots = self.input_ids.count(IMAGE_TOKEN_INDEX)
        if slots != len(self.images):
            raise ValueError(f"{self.data_type}: {slots} image placeholders but {len(self.images)} images")

    def expanded_length(self, image_positions: Optional[int] = None) -> int:
        """Length inside the model, where each placeholder became L positions."""
        extra = sum((image_positions or codes.shape[-1]) - 1 for codes in self.images)
        return len(self.input_ids) + extra


def tokenizer_image_token(prompt: str, tokenizer, layout: TokenLayout = LLAMA2) -> list[int]:
    """Ids of a prompt with "<image>" markers: every chunk is tokenized on its own (bos only once)
    and each marker becomes one IMAGE_TOKEN_INDEX, as the official LLaVA-style helper does."""
    chunks = [tokenizer(chunk).input_ids for chunk in prompt.split(layout.image_placeholder)]
    bos = [] if layout.bos is None else [layout.bos]
    ids = list(bos)
    for i, chunk in enumerate(chunks):
        if i:
            ids.append(IMAGE_TOKEN_INDEX)
        ids.extend(chunk[1:] if bos and chunk[:1] == bos else chunk)
    return ids


def choose_t2i_prompt(rng: np.random.Generator, caption: Optional[str], long_caption: Optional[str],
                      prob_long: float, prob_unconditional: float, layout: TokenLayout = LLAMA2) -> str:
    """Long caption with prob_long when both exist; the unconditional prompt with prob_unconditional
    or when there is no caption at all (the unconditional branch trains classifier-free guidance)."""
    text = long_caption if (long_caption and caption and rng.random() < prob_long) else (caption or long_caption)
    if rng.random() < prob_unconditional or not text:
        return layout.unconditional_prompt
    return text


def build_t2i(tokenizer, prompt: str, codes: np.ndarray, max_prompt_tokens: int = MAX_PROMPT_TOKENS,
              layout: TokenLayout = LLAMA2) -> TokenizedSample:
    prompt_ids = tokenizer(prompt + T2I_SUFFIX, truncation=True, max_length=max_prompt_tokens).input_ids
    tail = [layout.boi, IMAGE_TOKEN_INDEX, layout.eoi, layout.eos]
    return TokenizedSample(prompt_ids + tail, [IGNORE_INDEX] * len(prompt_ids) + tail, [codes], "t2i")


def build_i2t(tokenizer, caption: str, codes: np.ndarray, layout: TokenLayout = LLAMA2) -> TokenizedSample:
    head = ([] if layout.bos is None else [layout.bos]) + [layout.boi, IMAGE_TOKEN_INDEX, layout.eoi]
    caption_ids = tokenizer(caption, add_special_tokens=False).input_ids + [layout.eos]
    return TokenizedSample(head + caption_ids, [IGNORE_INDEX] * len(head) + caption_ids, [codes], "i2t")


def build_image_caption(tokenizer, caption: str, codes: np.ndarray, layout: TokenLayout = LLAMA2) -> TokenizedSample:
    ids = tokenizer_image_token(layout.image_placeholder + caption + "\n", tokenizer, layout)
    first_text = ids.index(IMAGE_TOKEN_INDEX) + 1   # loss from the first caption token on
    return TokenizedSample(ids, [IGNORE_INDEX] * first_text + ids[first_text:], [codes], "image_caption")


def build_text(tokenizer, text: str, max_tokens: int = 2048, layout: TokenLayout = LLAMA2) -> TokenizedSample:
    ids = tokenizer(text, truncation=True, max_length=max_tokens - 1).input_ids + [layout.eos]
    return TokenizedSample(ids, list(ids), [], "text")


def vicuna_prompt(conversations: list[dict], add_generation_prompt: bool = False,
                  layout: TokenLayout = LLAMA2) -> str:
    """vicuna_v1 text: "SYSTEM USER: q ASSISTANT: a</s>USER: ..." ("</s>" is the layout's eos text);
    the image marker is moved to the start of the first user turn, followed by a newline (LLaVA's
    preprocess_multimodal)."""
    turns = _normalized_turns(conversations, layout.image_placeholder)
    text = VICUNA_SYSTEM + VICUNA_SEP
    for i, value in enumerate(turns):
        text += f"{VICUNA_ROLES[i % 2]}: {value}" + (VICUNA_SEP if i % 2 == 0 else layout.eos_text)
    if add_generation_prompt:
        text += f"{VICUNA_ROLES[1]}:"
    return text


def _normalized_turns(conversations: list[dict], image_placeholder: str) -> list[str]:
    expected = ("human", "gpt")
    turns = []
    for i, turn in enumerate(conversations):
        if turn.get("from") != expected[i % 2]:
            raise ValueError(f"conversation turn {i} is from {turn.get('from')!r}, expected {expected[i % 2]!r} "
                             "(turns must alternate, starting with the human)")
        turns.append(turn["value"])
    if turns and image_placeholder in turns[0]:
        turns[0] = image_placeholder + "\n" + turns[0].replace(image_placeholder, "").strip()
    return turns


def build_instruction(tokenizer, conversations: list[dict], images: list[np.ndarray],
                      max_tokens: int = 2048, layout: TokenLayout = LLAMA2) -> TokenizedSample:
    """Only assistant answers (and the "</s>" closing each) are supervised. The boundaries come
    from tokenizing prefixes of the prompt that end right before a space or after "</s>", where
    SentencePiece tokenization is stable; a mismatch masks the whole sample, as LLaVA does."""
    turns = _normalized_turns(conversations, layout.image_placeholder)
    if len(turns) % 2:
        raise ValueError("an instruction sample must end with an assistant turn")
    full = vicuna_prompt(conversations, layout=layout)
    ids = tokenizer_image_token(full, tokenizer, layout)
    labels = [IGNORE_INDEX] * len(ids)
    prefix = VICUNA_SYSTEM + VICUNA_SEP
    for i in range(0, len(turns), 2):
        prefix += f"{VICUNA_ROLES[0]}: {turns[i]}{VICUNA_SEP}{VICUNA_ROLES[1]}:"
        start_ids = tokenizer_image_token(prefix, tokenizer, layout)
        prefix += f" {turns[i + 1]}{layout.eos_text}"
        end_ids = tokenizer_image_token(prefix, tokenizer, layout)
        if ids[:len(end_ids)] != end_ids or end_ids[:len(start_ids)] != start_ids:
            warnings.warn(f"vicuna tokenization mismatch in turn {i // 2}: sample fully masked")
            labels = [IGNORE_INDEX] * len(ids)
            break
        labels[len(start_ids):len(end_ids)] = ids[len(start_ids):len(end_ids)]
    ids, labels = ids[:max_tokens], labels[:max_tokens]
    kept_images = images[:ids.count(IMAGE_TOKEN_INDEX)]
    return TokenizedSample(ids, labels, list(kept_images), "instruction")
