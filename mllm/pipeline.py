"""End-to-end use of a UniTok-MLLM: chat about images (in batches), generate images from text.

    pipe = UnifiedPipeline.from_pretrained("path/to/mllm", unitok_path="unitok_tokenizer.pth",
                                           device="auto", dtype="auto")
    answer = pipe.chat(Image.open("cat.jpg"), "What is in the image?")
    answers = pipe.chat_batch([img1, img2], ["What is this?", "How many cats?"])
    images, codes = pipe.generate_images(["a photo of a cat"], cfg_scale=5.0, seed=0)

device "auto" is cuda:LOCAL_RANK when CUDA is present (one GPU per torchrun process), else the CPU;
dtype "auto" is bf16 on such a GPU, fp32 elsewhere (see unitok.devices). UniTok runs on the same
device in the same dtype, its code path in fp32.
"""
from __future__ import annotations

import logging
import math
from typing import List, Optional, Sequence, Tuple, Union

import torch
from PIL import Image
from tqdm.auto import tqdm
from transformers import AutoModelForCausalLM, AutoTokenizer

from unitok import UniTok
from unitok.devices import resolve_attn_implementation, resolve_device, resolve_dtype
from unitok.processing import UniTokImageProcessor, tensor_to_pil

from .batched_chat import BatchedChat, Scored, Turn, conversation_ids, left_pad
from .conversation import t2i_prompt_ids
from .model import UniTokMLLMForCausalLM
from .token_layout import TokenLayout

logger = logging.getLogger(__name__)


class UnifiedPipeline:
    def __init__(self, model: UniTokMLLMForCausalLM, unitok: UniTok, tokenizer):
        self.model = model.eval()
        self.unitok = unitok.eval()
        self.tokenizer = tokenizer
        self.chatter = BatchedChat(self.model, tokenizer)
        self.layout = TokenLayout.of(model.config)
        # The understanding path pads to a square with the mean colour and squashes to the input size.
        self.processor = UniTokImageProcessor(size=unitok.config.img_size, mode="pad")
        self._check_codebooks()

    @classmethod
    def from_pretrained(cls, mllm_path: str, unitok_path: str, tokenizer_path: Optional[str] = None,
                        device: Union[str, torch.device] = "auto", dtype: Union[str, torch.dtype] = "auto",
                        attn_implementation: str = "sdpa", device_map: Optional[str] = None) -> "UnifiedPipeline":
        """mllm_path: an HF folder (ours or the official "mini_gemini" one); unitok_path: a UniTok
        folder or official .pth; tokenizer_path: defaults to mllm_path (slow sentencepiece tokenizer).
        Weights load straight onto `device` in `dtype` (no full-precision copy on the host).
        device_map ("auto", "balanced", ...) instead spreads one large MLLM over every visible
        GPU through accelerate; UniTok then runs on the GPU of the input embeddings."""
        device = resolve_device(device)
        dtype = resolve_dtype(dtype, device)
        attn = resolve_attn_implementation(attn_implementation, device, dtype)
        model = AutoModelForCausalLM.from_pretrained(mllm_path, dtype=dtype, attn_implementation=attn,
                                                     device_map=device_map or {"": device})
        if not isinstance(model, UniTokMLLMForCausalLM):
            raise ValueError(f"{mllm_path} holds a {type(model).__name__}, not a UniTok MLLM")
        unitok = UniTok.from_pretrained(unitok_path, dtype=dtype, device=model.get_input_embeddings().weight.device)
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
        return self.chatter.device

    @property
    def dtype(self) -> torch.dtype:
        return self.model.dtype

    @torch.no_grad()
    def encode_image(self, image) -> torch.Tensor:
        """PIL image (or path / array) -> codes (1, num_codebooks, L)."""
        return self.encode_images([image])[0].unsqueeze(0)

    @torch.no_grad()
    def encode_images(self, images: Sequence, batch_size: int = 32) -> List[Optional[torch.Tensor]]:
        """Images (None for none) -> per image None or codes (num_codebooks, L), encoded in batches."""
        present = [i for i, image in enumerate(images) if image is not None]
        codes: List[Optional[torch.Tensor]] = [None] * len(images)
        for start in range(0, len(present), batch_size):
            chunk = present[start:start + batch_size]
            pixels = self.processor([images[i] for i in chunk]).to(self.unitok.device)
            for i, c in zip(chunk, self.unitok.img_to_idx(pixels).to(self.device)):
                codes[i] = c
        return codes

    def chat(self, image, question: str, max_new_tokens: int = 128, temperature: float = 0.0,
             top_p: Optional[float] = None) -> str:
        """Answer `question` about `image` (None for a text-only turn), vicuna_v1 template.
        temperature 0 is greedy, as in the official evaluation."""
        return self.chat_batch([image], [question], max_new_tokens, temperature, top_p)[0]

    def chat_batch(self, images: Sequence, questions: Sequence[str], max_new_tokens: int = 128,
                   temperature: float = 0.0, top_p: Optional[float] = None) -> List[str]:
        """One answer per (image or None, question), generated together; greedy answers equal
        those of `chat` one at a time."""
        return self.converse(images, [[(q, None)] for q in questions], max_new_tokens, temperature, top_p)

    @torch.no_grad()
    def converse(self, images: Sequence, conversations: Sequence[Sequence[Turn]], max_new_tokens: int = 128,
                 temperature: float = 0.0, top_p: Optional[float] = None) -> List[str]:
        """Multi-round chat: per row an image (or None) and the turns so far, [(user, reply), ...,
        (user, None)]; the image goes with the first user message. Returns the next replies."""
        if len(images) != len(conversations):
            raise ValueError(f"{len(images)} images for {len(conversations)} conversations")
        codes = self.encode_images(images)
        prompts = [conversation_ids(self.tokenizer, turns, c is not None, layout=self.layout)
                   for turns, c in zip(conversations, codes)]
        return self.chatter.generate(prompts, codes, max_new_tokens, temperature, top_p)

    @torch.no_grad()
    def loglikelihood(self, images: Sequence, questions: Sequence[str], continuations: Sequence[str]) -> List[Scored]:
        """log P(continuation | image, question) as the assistant's reply, per row (multiple choice)."""
        codes = self.encode_images(images)
        prompts, targets = [], []
        for question, continuation, c in zip(questions, continuations, codes):
            prompt = conversation_ids(self.tokenizer, [(question, None)], c is not None, layout=self.layout)
            full = conversation_ids(self.tokenizer, [(question, None)], c is not None, reply=continuation,
                                    layout=self.layout)
            prompts.append(prompt)
            targets.append(self.chatter.continuation_ids(prompt, full))
        return self.chatter.loglikelihood(prompts, targets, codes)

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
        uncond = torch.tensor([t2i_prompt_ids(self.tokenizer, None, self.layout)], device=self.device)
        images, all_codes = [], []
        for start in tqdm(range(0, len(prompts), batch_size), desc="generating images"):
            chunk = prompts[start:start + batch_size]
            ids, mask = left_pad([t2i_prompt_ids(self.tokenizer, p, self.layout) for p in chunk], self.chatter.pad_id,
                                 self.device)
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
