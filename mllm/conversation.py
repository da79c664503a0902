"""Prompt text and tokenization for understanding (vicuna_v1) and text-to-image prompts.

Special tokens and marker texts come from a `TokenLayout` (the model config's); the default is the
official Llama-2 layout."""
from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

from .constants import IMAGE_TOKEN_INDEX, T2I_SUFFIX, VICUNA_ROLES, VICUNA_SEP, VICUNA_SYSTEM
from .token_layout import TokenLayout

LLAMA2 = TokenLayout()


def vicuna_prompt(turns: Sequence[Tuple[str, Optional[str]]], layout: TokenLayout = LLAMA2) -> str:
    """vicuna_v1 text for (user, assistant) turns; an assistant reply of None leaves the prompt
    open for generation ("... ASSISTANT:"). A reply ends with the layout's eos text ("</s>")."""
    user, assistant = VICUNA_ROLES
    text = VICUNA_SYSTEM + VICUNA_SEP
    for question, answer in turns:
        text += f"{user}: {question}{VICUNA_SEP}"
        text += f"{assistant}:" if answer is None else f"{assistant}: {answer}{layout.eos_text}"
    return text


def vqa_prompt(question: str, with_image: bool = True, layout: TokenLayout = LLAMA2) -> str:
    """The understanding prompt of the official VQA script: "<image>\\n" before the question."""
    return vicuna_prompt([(f"{layout.image_placeholder}\n{question}" if with_image else question, None)], layout)


def tokenize_with_images(tokenizer, prompt: str, layout: TokenLayout = LLAMA2) -> List[int]:
    """Tokenize text holding "<image>" markers; each marker becomes IMAGE_TOKEN_INDEX.

    Every chunk is tokenized on its own (as the official tokenizer_image_token does) and only the
    first chunk keeps its BOS."""
    ids: List[int] = []
    for i, chunk in enumerate(prompt.split(layout.image_placeholder)):
        chunk_ids = tokenizer(chunk).input_ids
        if i > 0:
            ids.append(IMAGE_TOKEN_INDEX)
            if chunk_ids and chunk_ids[0] == tokenizer.bos_token_id:
                chunk_ids = chunk_ids[1:]
        ids.extend(chunk_ids)
    return ids


def t2i_prompt_ids(tokenizer, caption: Optional[str], layout: TokenLayout = LLAMA2) -> List[int]:
    """Ids of caption + T2I suffix followed by boi; caption None gives the unconditional prompt.
    boi is appended as an id because not every tokenizer maps "\\x00" to it."""
    text = layout.unconditional_prompt if caption is None else caption + T2I_SUFFIX
    return tokenizer(text).input_ids + [layout.boi]
