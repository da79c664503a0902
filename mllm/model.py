"""The unified MLLM: a Llama causal LM that reads images as code embeddings and writes them with a
depth head. State-dict keys match the official release (see the reference, section 4.2):
model.* (Llama + model.multi_embedder.*), lm_head.*, ar_head.*.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional

import torch
import transformers.initialization as init
from transformers import LlamaForCausalLM, LlamaModel
from transformers.modeling_outputs import CausalLMOutputWithPast
from transformers.models.llama.modeling_llama import LlamaPreTrainedModel

from unitok.modules.projection import ProjectionAttention

from .config import MiniGeminiConfig, UniTokMLLMConfig
from .constants import IMAGE_TOKEN_INDEX
from .depth_head import DepthHead
from .embedder import ImageCodeEmbedder
from .image_codes import ImageCodes
from .loss import LossParts, combine, image_loss, text_loss
from .splice import ImageTarget, SplicedInputs, splice_images


@dataclass
class UniTokMLLMOutput(CausalLMOutputWithPast):
    """CausalLMOutputWithPast + the final-norm hidden states, the loss parts and, for image
    targets, the depth-head logits (N_targets, num_codebooks, L, codebook_size)."""
    last_hidden_state: Optional[torch.Tensor] = None
    loss_parts: Optional[LossParts] = None
    image_logits: Optional[torch.Tensor] = None
    spliced_labels: Optional[torch.Tensor] = None


class UniTokMLLMModel(LlamaModel):
    config_class = UniTokMLLMConfig

    def __init__(self, config: UniTokMLLMConfig):
        super().__init__(config)
        self.multi_embedder = ImageCodeEmbedder(config)


class UniTokMLLMForCausalLM(LlamaForCausalLM):
    config_class = UniTokMLLMConfig
    _no_split_modules = ["LlamaDecoderLayer", "ImageCodeEmbedder"]
    # The LLM's linear layers (LoRA targets); anchored on model.layers, so the depth head's own
    # Llama layers do not match.
    llm_linear_pattern = r"^model\.layers\.\d+\.(self_attn\.(q|k|v|o)_proj|mlp\.(gate|up|down)_proj)$"

    def __init__(self, config: UniTokMLLMConfig):
        LlamaPreTrainedModel.__init__(self, config)  # skip LlamaForCausalLM's plain LlamaModel
        self.model = UniTokMLLMModel(config)
        self.vocab_size = config.vocab_size
        self.lm_head = torch.nn.Linear(config.hidden_size, config.vocab_size, bias=False)
        self.ar_head = DepthHead(config)
        self.post_init()

    def _init_weights(self, module):
        super()._init_weights(module)
        if isinstance(module, ProjectionAttention):
            init.zeros_(module.q_bias)
            init.zeros_(module.v_bias)
            init.zeros_(module.zero_k_bias)

    @property
    def embedder(self) -> ImageCodeEmbedder:
        return self.model.multi_embedder

    # ---------------------------------------------------------------- inputs
    def splice(self, input_ids, image_codes: ImageCodes = None, attention_mask=None, position_ids=None,
               labels=None, pad_side: str = "right") -> SplicedInputs:
        """Input ids with IMAGE_TOKEN_INDEX placeholders + codes -> LLM inputs (see mllm.splice)."""
        return splice_images(input_ids, image_codes, self.model.embed_tokens, self.embedder, attention_mask,
                             position_ids, labels, pad_side)

    def check_positions(self, length: int, position_ids: Optional[torch.Tensor] = None) -> None:
        last = int(position_ids.max()) + 1 if position_ids is not None and position_ids.numel() else length
        limit = self.config.max_position_embeddings
        if max(last, 0) > limit:
            raise ValueError(f"sequence needs {last} positions (images included) but the model has "
                             f"max_position_embeddings={limit}")

    @staticmethod
    def has_images(input_ids: Optional[torch.Tensor], image_codes: ImageCodes) -> bool:
        if image_codes is not None:
            return True
        return input_ids is not None and bool((input_ids == IMAGE_TOKEN_INDEX).any())

    # ---------------------------------------------------------------- training forward
    def forward(self, input_ids: Optional[torch.LongTensor] = None, attention_mask: Optional[torch.Tensor] = None,
                position_ids: Optional[torch.LongTensor] = None, cache=None,
                inputs_embeds: Optional[torch.Tensor] = None, labels: Optional[torch.LongTensor] = None,
                use_cache: Optional[bool] = None, image_codes: ImageCodes = None, logits_to_keep: int = 0,
                **kwargs) -> UniTokMLLMOutput:
        """Causal-LM forward with images.

        input_ids may hold IMAGE_TOKEN_INDEX placeholders, one per image in `image_codes` (see
        mllm.image_codes for the container). An image whose placeholder label is not IGNORE_INDEX
        (the T2I collator puts IMAGE_TOKEN_INDEX there) is a generation target: the depth head is
        trained on its codes from the LLM state before each image position. attention_mask may be a
        (B, T) padding mask or a (B, 1, T, T) mask (packed samples); position_ids may restart per
        packed sample. Both are given in input_ids coordinates and expanded through the images.
        Packed samples with position_ids and no attention_mask get a block-diagonal mask from
        transformers (needs use_cache False, the default when labels are given).
        """
        targets: List[ImageTarget] = []
        spliced_labels, embedder_dummy = None, None
        if self.has_images(input_ids, image_codes):
            if cache is not None and cache.get_seq_length() > 0:
                raise ValueError("images can only be spliced into a fresh prompt, not after cached tokens")
            spliced = self.splice(input_ids, image_codes, attention_mask, position_ids, labels, pad_side="right")
            input_ids, inputs_embeds = None, spliced.inputs_embeds
            attention_mask, position_ids, labels = spliced.attention_mask, spliced.position_ids, spliced.labels
            targets, spliced_labels = spliced.image_targets, spliced.labels
        elif labels is not None and inputs_embeds is None:
            # Same module order as with images (embedder, then token embeddings), which ZeRO-3's
            # parameter gathering relies on across ranks.
            embedder_dummy = self.embedder.dummy_output(self.model.embed_tokens.weight)
            input_ids, inputs_embeds = None, self.model.embed_tokens(input_ids)
        if use_cache is None and labels is not None:
            # Training: no cache, which also lets transformers derive a block-diagonal mask from
            # position_ids that restart per packed sample when no attention_mask is given.
            use_cache = False
        seq_len = (inputs_embeds if input_ids is None else input_ids).shape[1]
        past_len = cache.get_seq_length() if cache is not None else 0
        self.check_positions(past_len + seq_len, position_ids)

        outputs = self.model(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids,
                             cache=cache, inputs_embeds=inputs_embeds, use_cache=use_cache,
                             **kwargs)
        hidden = outputs.last_hidden_state
        keep = slice(-logits_to_keep, None) if isinstance(logits_to_keep, int) and logits_to_keep > 0 else slice(None)
        logits = self.lm_head(hidden[:, keep])

        parts, image_logits = None, None
        if labels is not None:
            text, num_text = text_loss(logits, labels)
            if targets:
                image_logits, ce, z, num_image = self.depth_head_loss(hidden, targets)
            else:
                ce, z, num_image = self.ar_head.dummy_loss(hidden), hidden.new_zeros(()), 0
            if embedder_dummy is not None:
                text = text + embedder_dummy
            parts = combine(text, num_text, ce, z, num_image)
        return UniTokMLLMOutput(loss=parts.loss if parts is not None else None, logits=logits,
                                cache=outputs.cache, hidden_states=outputs.hidden_states,
                                attentions=outputs.attentions, last_hidden_state=hidden, loss_parts=parts,
                                image_logits=image_logits, spliced_labels=spliced_labels)

    def depth_head_loss(self, hidden: torch.Tensor, targets: List[ImageTarget]):
        """Teacher-forced depth head over every target image; the LLM state at position t-1
        predicts image position t (the boi state predicts the first)."""
        contexts, codes = [], []
        for t in targets:
            if t.start < 1:
                raise ValueError("an image generation target needs at least one token before it (e.g. boi)")
            contexts.append(hidden[t.row, t.start - 1:t.end - 1])
            codes.append(t.codes.t())  # (L, K)
        logits = self.ar_head.teacher_forced_logits(torch.cat(contexts), torch.cat(codes))  # (sum L, K, V)
        ce, z = image_loss(logits.reshape(-1, logits.shape[-1]), torch.cat(codes).reshape(-1))
        lengths = {t.end - t.start for t in targets}
        per_image = None
        if len(lengths) == 1:
            per_image = logits.reshape(len(targets), lengths.pop(), *logits.shape[1:]).permute(0, 2, 1, 3)
        return per_image, ce, z, logits.shape[0] * logits.shape[1]

    # ---------------------------------------------------------------- understanding generation
    @torch.no_grad()
    def generate(self, inputs: Optional[torch.Tensor] = None, image_codes: ImageCodes = None, **kwargs):
        """HF generate; with image placeholders (and `image_codes=`) the prompt is spliced into
        `inputs_embeds` (left padded) and, as for any inputs_embeds prompt, only the new tokens
        are returned. Without images this is plain LlamaForCausalLM.generate."""
        input_ids = inputs if inputs is not None else kwargs.pop("input_ids", None)
        if not self.has_images(input_ids, image_codes):
            return super().generate(input_ids, **kwargs)
        if input_ids is None:
            raise ValueError("image_codes were given without input_ids holding image placeholders")
        spliced = self.splice(input_ids, image_codes, kwargs.pop("attention_mask", None), pad_side="left")
        self.check_positions(spliced.inputs_embeds.shape[1])
        mask = spliced.attention_mask
        if mask is None:
            mask = torch.ones(spliced.inputs_embeds.shape[:2], dtype=torch.long, device=input_ids.device)
        return super().generate(inputs_embeds=spliced.inputs_embeds, attention_mask=mask, **kwargs)

    # ---------------------------------------------------------------- image generation
    def generate_image_codes(self, input_ids: torch.LongTensor, **kwargs) -> torch.LongTensor:
        """See mllm.generation.generate_image_codes."""
        from .generation import generate_image_codes
        return generate_image_codes(self, input_ids, **kwargs)


class MiniGeminiLlamaForCausalLM(UniTokMLLMForCausalLM):
    """Loads official "mini_gemini" folders (same modules and keys)."""
    config_class = MiniGeminiConfig
