"""The UniTok MLLM as an lmms-eval "simple" model: lmms-eval hands over requests whose args are
(context, generation kwargs, doc_to_visual, doc_id, task, split); we answer with the pipeline.

Importable without lmms-eval (the base class and registry are then stand-ins), so the adapter can
be tested and type-checked anywhere.
"""
from __future__ import annotations

from typing import Any

from PIL import Image
from tqdm import tqdm

from mllm.constants import IMAGE_PLACEHOLDER
from evaluators.mllm.types import Answerer

try:
    from lmms_eval.api.model import lmms as _LmmsBase
    from lmms_eval.api.registry import register_model as _register_model
    LMMS_EVAL_AVAILABLE = True
except ImportError:  # lmms-eval not installed: keep the class usable on its own
    LMMS_EVAL_AVAILABLE = False

    class _LmmsBase:  # type: ignore[no-redef]
        def __init__(self) -> None:
            self._rank, self._world_size = 0, 1

    def _register_model(*_names):  # type: ignore[no-redef]
        return lambda cls: cls


def _first_image(visuals: Any) -> Image.Image | None:
    """lmms-eval visuals are a list (maybe empty) of PIL images; the model reads one image."""
    if isinstance(visuals, Image.Image):
        return visuals.convert("RGB")
    for visual in visuals or []:
        if isinstance(visual, Image.Image):
            return visual.convert("RGB")
    return None


def _cut_at_stop_strings(text: str, until: Any) -> str:
    stops = [until] if isinstance(until, str) else list(until or [])
    for stop in stops:
        if stop and stop in text:
            text = text.split(stop, 1)[0]
    return text


@_register_model("unitok_mllm")
class UniTokMLLM(_LmmsBase):
    def __init__(self, pretrained: str | None = None, unitok: str | None = None, tokenizer: str | None = None,
                 batch_size: int | str = 1, answerer: Answerer | None = None, **_ignored: Any) -> None:
        super().__init__()
        if answerer is None:
            if pretrained is None:
                raise ValueError("unitok_mllm needs model_args pretrained=<MLLM folder>,unitok=<UniTok checkpoint>")
            from evaluators.mllm.pipeline_answerer import load_pipeline_answerer
            answerer = load_pipeline_answerer(pretrained, unitok, tokenizer)
        self.answerer = answerer
        self.batch_size_per_gpu = int(batch_size)
        self.task_dict: dict = getattr(self, "task_dict", {})  # lmms-eval sets it before generating

    def generate_until(self, requests) -> list[str]:
        answers = []
        for request in tqdm(requests, desc="unitok_mllm generate_until", disable=len(requests) < 2):
            context, gen_kwargs, doc_to_visual, doc_id, task, split = request.args
            image = _first_image(doc_to_visual(self.task_dict[task][split][doc_id]))
            # The pipeline places the image itself; a task's own "<image>" marker would appear twice.
            prompt = context.replace(IMAGE_PLACEHOLDER, "").strip()
            gen_kwargs = dict(gen_kwargs or {})
            if float(gen_kwargs.get("temperature", 0) or 0) > 0:
                raise ValueError("unitok_mllm evaluates with greedy decoding only (temperature 0)")
            max_new_tokens = int(gen_kwargs.get("max_new_tokens", 128))
            text = self.answerer.answer([image], [prompt], max_new_tokens)[0]
            answers.append(_cut_at_stop_strings(text, gen_kwargs.get("until")))
        return answers

    def loglikelihood(self, requests):
        raise NotImplementedError("unitok_mllm scores by generation; loglikelihood tasks are not supported yet")

    def generate_until_multi_round(self, requests):
        raise NotImplementedError("unitok_mllm does not support multi-round generation")
