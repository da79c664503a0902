"""The UniTok MLLM as an lmms-eval "simple" model, registered through the `lmms_eval.models`
entry point (see the package docstring).

Requests are answered `batch_size` at a time by mllm.UnifiedPipeline's batched chat (greedy answers
equal one-at-a-time answers); `loglikelihood` scores continuations as the assistant's reply
(multiple-choice tasks); `generate_until_multi_round` follows lmms-eval's round protocol. Under
`accelerate launch` / torchrun, lmms-eval splits the documents over the processes and each process
runs on cuda:LOCAL_RANK (device "auto").

Importable without lmms-eval (the base class is then a stand-in), so the adapter's logic can be
used and tested on its own.
"""
from __future__ import annotations

import json
from typing import Any, Iterator, List, Sequence, Tuple

from PIL import Image
from tqdm import tqdm

from mllm.constants import IMAGE_PLACEHOLDER

try:
    from lmms_eval.api.instance import GenerationResult as _GenerationResult
    from lmms_eval.api.model import lmms as _LmmsBase
    LMMS_EVAL_AVAILABLE = True
except ImportError:  # lmms-eval not installed: keep the class usable on its own
    LMMS_EVAL_AVAILABLE = False
    _GenerationResult = None

    class _LmmsBase:  # type: ignore[no-redef]
        is_simple = True

        def __init__(self) -> None:
            self._rank, self._world_size = 0, 1
            self.task_dict: dict = {}

        @property
        def rank(self) -> int:
            return self._rank

        @property
        def world_size(self) -> int:
            return self._world_size


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


def _turns(context: str) -> List[Tuple[str, str | None]]:
    """A plain prompt is one user turn; a JSON list of messages ({"value": ...}, user first,
    alternating, as lmms-eval's conversational tasks write them) is a multi-turn conversation."""
    text = context.replace(IMAGE_PLACEHOLDER, "").strip()
    try:
        messages = json.loads(text)
    except ValueError:
        messages = None
    if not (isinstance(messages, list) and messages and all(isinstance(m, dict) and "value" in m for m in messages)):
        return [(text, None)]
    if len(messages) % 2 != 1:
        raise ValueError("a conversational context must end with a user message")
    values = [str(m["value"]).replace(IMAGE_PLACEHOLDER, "").strip() for m in messages] + [None]
    return [(values[i], values[i + 1]) for i in range(0, len(values) - 1, 2)]


def _sampling(gen_kwargs: dict) -> dict:
    if int(gen_kwargs.get("num_beams", 1) or 1) != 1:
        raise ValueError("unitok_mllm does not implement beam search (num_beams must be 1)")
    temperature = float(gen_kwargs.get("temperature", 0) or 0)
    if not gen_kwargs.get("do_sample", temperature > 0):
        temperature = 0.0
    return {"max_new_tokens": int(gen_kwargs.get("max_new_tokens", 128)), "temperature": temperature,
            "top_p": gen_kwargs.get("top_p")}


def _pair(loss: float, is_greedy: bool) -> Any:
    pair = (loss, is_greedy)
    return _GenerationResult(pair) if _GenerationResult is not None else pair


def _batches(items: Sequence, size: int) -> Iterator[Sequence]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


class UniTokMLLM(_LmmsBase):
    is_simple = True

    def __init__(self, pretrained: str | None = None, unitok: str | None = None, tokenizer: str | None = None,
                 batch_size: int | str = 1, device: str | None = "auto", dtype: str = "auto",
                 attn_implementation: str = "sdpa", pipeline: Any = None, **_ignored: Any) -> None:
        super().__init__()
        if pipeline is None:
            if pretrained is None:
                raise ValueError("unitok_mllm needs model_args pretrained=<MLLM folder>,unitok=<UniTok checkpoint>")
            from evaluators.mllm.pipeline_loading import load_unified_pipeline
            pipeline = load_unified_pipeline(pretrained, unitok, tokenizer, device=device or "auto", dtype=dtype,
                                             attn_implementation=attn_implementation)
        self.pipeline = pipeline
        self.batch_size_per_gpu = int(batch_size)
        if self.batch_size_per_gpu < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")

    @property
    def device(self):
        return self.pipeline.device

    @property
    def batch_size(self) -> int:
        return self.batch_size_per_gpu

    def _doc(self, task: str, split: str, doc_id: int) -> Any:
        return self.task_dict[task][split][doc_id]

    def _progress(self, total: int, what: str):
        return tqdm(total=total, desc=f"unitok_mllm {what}", disable=self.rank != 0 or total < 2)

    # ------------------------------------------------------------------ generation
    def generate_until(self, requests) -> List[str]:
        answers: List[str] = [""] * len(requests)
        # Requests with the same generation settings go into the same batches.
        groups: dict = {}
        for index, request in enumerate(requests):
            groups.setdefault(json.dumps(request.args[1] or {}, sort_keys=True, default=str), []).append(index)
        with self._progress(len(requests), "generate_until") as progress:
            for indices in groups.values():
                gen_kwargs = dict(requests[indices[0]].args[1] or {})
                sampling = _sampling(gen_kwargs)
                for chunk in _batches(indices, self.batch_size_per_gpu):
                    images, conversations = [], []
                    for index in chunk:
                        context, _, doc_to_visual, doc_id, task, split = requests[index].args
                        images.append(_first_image(doc_to_visual(self._doc(task, split, doc_id))))
                        conversations.append(_turns(context))
                    texts = self.pipeline.converse(images, conversations, **sampling)
                    for index, text in zip(chunk, texts):
                        answers[index] = _cut_at_stop_strings(text, gen_kwargs.get("until"))
                    progress.update(len(chunk))
        return answers

    def generate_until_multi_round(self, requests) -> List[List[str]]:
        """lmms-eval's protocol: round 0 answers the request's context; for round k > 0 the task's
        doc_to_text(doc, previous_output=..., round_idx=k, previous_round_info=...) returns
        (visuals, context, terminal, round outputs, round info) and a terminal signal ends it."""
        results: List[List[str]] = []
        with self._progress(len(requests), "multi-round") as progress:
            for chunk in _batches(list(requests), self.batch_size_per_gpu):
                results += self._multi_round(chunk)
                progress.update(len(chunk))
        return results

    def _multi_round(self, chunk) -> List[List[str]]:
        state = []
        for request in chunk:
            context, gen_kwargs, doc_to_visual, doc_to_text, doc_id, task, split = request.args
            doc = self._doc(task, split, doc_id)
            state.append({"doc": doc, "doc_to_text": doc_to_text, "sampling": _sampling(dict(gen_kwargs or {})),
                          "until": (gen_kwargs or {}).get("until"), "image": _first_image(doc_to_visual(doc)),
                          "context": context, "outputs": [], "info": None, "done": False})
        round_idx = 0
        while True:
            active = [s for s in state if not s["done"]]
            if not active:
                return [s["outputs"] for s in state]
            for sampling in {json.dumps(s["sampling"], sort_keys=True) for s in active}:
                rows = [s for s in active if json.dumps(s["sampling"], sort_keys=True) == sampling]
                texts = self.pipeline.converse([s["image"] for s in rows], [_turns(s["context"]) for s in rows],
                                               **json.loads(sampling))
                for s, text in zip(rows, texts):
                    s["outputs"].append(_cut_at_stop_strings(text, s["until"]))
            round_idx += 1
            for s in active:
                visuals, context, terminal, outputs, info = s["doc_to_text"](
                    s["doc"], previous_output=list(s["outputs"]), round_idx=round_idx, previous_round_info=s["info"])
                s["outputs"] = list(outputs) if outputs is not None else s["outputs"]
                s["done"], s["context"], s["info"] = bool(terminal), context, info
                if visuals is not None:
                    s["image"] = _first_image(visuals)

    # ------------------------------------------------------------------ scoring
    def loglikelihood(self, requests) -> List[Any]:
        """Per request (-log P(continuation | context, image), whether greedy decoding yields it);
        the continuation is scored as the assistant's reply to the context.

        The first value is the negative log-likelihood summed over the continuation's tokens, the
        loss lmms-eval's own models return: its multiple-choice scoring takes the argmin. Each pair
        travels in a GenerationResult because lmms-eval 0.7.3 turns any other non-text output into
        its string (evaluator -> unwrap_generation_output)."""
        results: List[Tuple[float, bool]] = []
        with self._progress(len(requests), "loglikelihood") as progress:
            for chunk in _batches(list(requests), self.batch_size_per_gpu):
                images, questions, continuations = [], [], []
                for request in chunk:
                    context, continuation, doc_to_visual, doc_id, task, split = request.args
                    doc = self._doc(task, split, doc_id)
                    if callable(continuation):
                        continuation = continuation(doc)
                    images.append(_first_image(doc_to_visual(doc)))
                    questions.append(context.replace(IMAGE_PLACEHOLDER, "").strip())
                    continuations.append(str(continuation))
                scored = self.pipeline.loglikelihood(images, questions, continuations)
                results += [_pair(-s.logprob, s.is_greedy) for s in scored]
                progress.update(len(chunk))
        return results
