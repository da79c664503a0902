"""End-to-end use of a UniTok-MLLM: chat about an image, generate images from text.

    pipe = UnifiedPipeline.from_pretrained("path/to/mllm", unitok_path="unitok_tokenizer.pth")
    answer = pipe.chat(Image.open("cat.jpg"), "What is in the image?")
    images, codes = pipe.generate_images(["a photo of a cat"], cfg_scale=5.0, seed=0)
"""
from __future__ import annotations

import logging
import math
from typing import List, Optional, Sequence, Tuple

import torch
from PIL import Image
from tqdm.auto import tqdm
from transformers import AutoModelForCausalLM, AutoTokenizer

from unitok import UniTok
from unitok.processing import UniTokImageProcessor, tensor_to_pil

from .constants import PAD_TOKEN_ID
from .conversation import t2i_prompt_ids, tokenize_with_images, vqa_prompt
from .model import UniTokMLLMForCausalLM

logger = logging.getLogger(__name__)


class UnifiedPipeline:
    def __init__(self, model: UniTokMLLMForCausalLM, unitok: UniTok, tokenizer):
        self.model = model.eval()
        self.unitok = unitok.eval()
        self.tokenizer = tokenizer
        # The understanding path pads to a square with the mean colour and squashes to the input size.
        self.processor = UniTokImageProcessor(size=unitok.config.img_size, mode="pad")
        self._check_codebooks()

    @classmethod
    def from_pretrained(cls, mllm_path: str, unitok_path: str, tokenizer_path: Optional[str] = None,
                        dtype: torch.dtype = torch.float32) -> "UnifiedPipeline":
        """mllm_path: an HF folder (ours or the official "mini_gemini" one); unitok_path: a UniTok
        folder or official .pth; tokenizer_path: defaults to mllm_path (slow sentencepiece tokenizer)."""
        model = AutoModelForCausalLM.from_pretrained(mllm_path, dtype=dtype)
        if not isinstance(model, UniTokMLLMForCausalLM):
            raise ValueError(f"{mllm_path} holds a {type(model).__name__}, not a UniTok MLLM")
        unitok = UniTok.from_pretrained(unitok_path)
        tokenizer = AutoTokenizer.from_pretrained(tokenizer_path or mllm_path, use_fast=False)
        return cls(model, unitok, tokenizer)

    def _check_codebooks(self) -> None:
        ours = self.model.embedder.quantizer.codebooks
        theirs = self.unitok.quantizer.codebooks
        same = len(ours) == len(theirs) and all(
            a.codebook.weight.shape == b.codebook.weight.shape and
            torch.allclose(a.codebook.weight.float(), b.codebook.weight.float().to(a.codebook.weight.device), atol=1e-2)
            for a, b in zip(ours, theirs))
        if not same:
            logger.warning("the MLLM's codebooks differ from the UniTok's: is this the tokenizer it was trained with?")

    @property
    def preprocessing_description(self) -> str:
        size, k = self.processor.size, self.unitok.config.num_codebooks
        positions = (size // 16) ** 2
        return (f"pad to square with RGB (122,116,104), resize to {size}x{size} (bilinear), scale to [-1,1], "
                f"UniTok img_to_idx -> {k}x{positions} codes")

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @torch.no_grad()
    def encode_image(self, image) -> torch.Tensor:
        """PIL image (or path / array) -> codes (1, num_codebooks, L)."""
        pixels = self.processor(image).to(self.unitok.device)
        return self.unitok.img_to_idx(pixels).to(self.device)

    @torch.no_grad()
    def chat(self, image, question: str, max_new_tokens: int = 128, temperature: float = 0.0,
             top_p: Optional[float] = None) -> str:
        """Answer `question` about `image` (None for a text-only turn), vicuna_v1 template.
        temperature 0 is greedy, as in the official evaluation."""
        ids = torch.tensor([tokenize_with_images(self.tokenizer, vqa_prompt(question, image is not None))],
                           device=self.device)
        codes = self.encode_image(image) if image is not None else None
        sampling = dict(do_sample=True, temperature=temperature, top_p=top_p) if temperature > 0 else dict(do_sample=False)
        out = self.model.generate(ids, image_codes=codes, max_new_tokens=max_new_tokens,
                                  pad_token_id=self.tokenizer.pad_token_id, **sampling)
        new = out[0] if codes is not None else out[0, ids.shape[1]:]
        return self.tokenizer.decode(new, skip_special_tokens=True).strip()

    def _left_padded(self, rows: List[List[int]]) -> Tuple[torch.Tensor, torch.Tensor]:
        length = max(len(r) for r in rows)
        ids = torch.tensor([[PAD_TOKEN_ID] * (length - len(r)) + r for r in rows], device=self.device)
        mask = torch.tensor([[0] * (length - len(r)) + [1] * len(r) for r in rows], device=self.device)
        return ids, mask

    @torch.no_grad()
    def generate_images(self, prompts: Sequence[str], cfg_scale: float = 5.0, temperature: float = 1.0,
                        top_k: int = 0, top_p: float = 1.0, seed: int = 0, num_positions: Optional[int] = None,
                        batch_size: int = 8, embedding: str = "consistent") -> Tuple[List[Image.Image], torch.Tensor]:
        """Prompts -> (PIL images decoded by UniTok, codes (N, num_codebooks, num_positions)).
        num_positions must be a square (256 = a 256x256 image)."""
        if isinstance(prompts, str):
            prompts = [prompts]
        num_positions = num_positions or self.model.config.image_positions
        if math.isqrt(num_positions) ** 2 != num_positions:
            raise ValueError(f"num_positions must be a square number to decode an image, got {num_positions}")
        generator = torch.Generator(device=self.device).manual_seed(seed)
        uncond = torch.tensor([t2i_prompt_ids(self.tokenizer, None)], device=self.device)
        images, all_codes = [], []
        for start in tqdm(range(0, len(prompts), batch_size), desc="generating images"):
            chunk = prompts[start:start + batch_size]
            ids, mask = self._left_padded([t2i_prompt_ids(self.tokenizer, p) for p in chunk])
            codes = self.model.generate_image_codes(ids, attention_mask=mask, num_positions=num_positions,
                                                    cfg_scale=cfg_scale, uncond_input_ids=uncond,
                                                    temperature=temperature, top_k=top_k, top_p=top_p,
                                                    generator=generator, embedding=embedding)
            all_codes.append(codes)
            images += tensor_to_pil(self.unitok.idx_to_img(codes.to(self.unitok.device)))
        return images, torch.cat(all_codes)


def image_grid(images: Sequence[Image.Image], columns: Optional[int] = None) -> Image.Image:
    """Paste equally sized images into a grid (row-major)."""
    if not images:
        raise ValueError("no images to put in a grid")
    columns = columns or math.ceil(math.sqrt(len(images)))
    rows = math.ceil(len(images) / columns)
    width, height = images[0].size
    grid = Image.new("RGB", (columns * width, rows * height))
    for i, image in enumerate(images):
        grid.paste(image, ((i % columns) * width, (i // columns) * height))
    return grid
