"""The lmms-eval adapter on the golden tiny MLLM: batched generate_until equals one-at-a-time chat,
multi-round follows lmms-eval's round protocol, and loglikelihood is checked by hand. (Runs with or
without lmms-eval installed; tests/evaluators/mllm/test_lmms_eval_cli.py runs lmms-eval itself.)"""
import json
import math
from dataclasses import dataclass

import pytest
import torch
from PIL import Image

from evaluators.mllm.lmms_eval_plugin.models.unitok_mllm import UniTokMLLM, _turns
from mllm.batched_chat import conversation_ids
from mllm.pipeline import UnifiedPipeline


@dataclass
class Request:  # lmms-eval's Instance carries its arguments in .args
    args: tuple


@pytest.fixture(scope="module")
def pipeline(golden_dir):
    return UnifiedPipeline.from_pretrained(str(golden_dir / "mllm_tiny"), device="cpu", dtype="float32",
                                           unitok_path=str(golden_dir / "tokenizer_tiny" / "official_ckpt.pth"))


@pytest.fixture(scope="module")
def docs(golden_dir):
    folder = golden_dir / "tokenizer_tiny" / "inputs"
    return {i: {"image": Image.open(path).convert("RGB")} for i, path in enumerate(sorted(folder.iterdir()))}


def model_for(pipeline, docs, batch_size):
    model = UniTokMLLM(pipeline=pipeline, batch_size=batch_size)
    model.task_dict = {"t": {"test": {**docs, 99: {}}}}
    return model


def visual(doc):
    return [doc["image"]] if "image" in doc else []


def test_generate_until_in_batches_equals_single_chat(pipeline, docs):
    greedy = {"max_new_tokens": 6, "temperature": 0, "do_sample": False, "until": ["\n\n"]}
    other = {"max_new_tokens": 3}
    requests = [Request((f"<image>\nQuestion {i}?", greedy if i % 3 else other, visual, i % len(docs), "t", "test"))
                for i in range(7)] + [Request(("Say something.", greedy, visual, 99, "t", "test"))]
    answers = model_for(pipeline, docs, batch_size=3).generate_until(requests)
    for request, answer in zip(requests, answers):
        context, kwargs, _, doc_id, _, _ = request.args
        image = docs[doc_id]["image"] if doc_id in docs else None
        expected = pipeline.chat(image, context.replace("<image>", "").strip(), max_new_tokens=kwargs["max_new_tokens"])
        assert answer == expected.split("\n\n")[0]
    with pytest.raises(ValueError, match="beam"):
        model_for(pipeline, docs, 1).generate_until([Request(("x", {"num_beams": 3}, visual, 0, "t", "test"))])


def test_multi_round_follows_the_round_protocol(pipeline, docs):
    def doc_to_text(doc, previous_output=None, round_idx=None, previous_round_info=None):
        if round_idx == 2:
            return None, None, True, previous_output, None
        return None, f"You said '{previous_output[-1]}'. Why?", False, previous_output, {"round": round_idx}

    kwargs = {"max_new_tokens": 5}
    requests = [Request(("<image>\nWhat is this?", kwargs, visual, doc_to_text, i, "t", "test")) for i in (0, 1)]
    outputs = model_for(pipeline, docs, batch_size=2).generate_until_multi_round(requests)
    for (context, *_rest), rounds, doc_id in zip([r.args for r in requests], outputs, (0, 1)):
        image = docs[doc_id]["image"]
        first = pipeline.chat(image, "What is this?", max_new_tokens=5)
        second = pipeline.chat(image, f"You said '{first}'. Why?", max_new_tokens=5)
        assert rounds == [first, second]


def test_conversational_contexts_become_turns(pipeline, docs):
    context = json.dumps([{"from": "human", "value": "<image>\nWhat is this?"}, {"from": "gpt", "value": "A cat."},
                          {"from": "human", "value": "What colour?"}])
    assert _turns(context) == [("What is this?", "A cat."), ("What colour?", None)]
    answer = model_for(pipeline, docs, 1).generate_until([Request((context, {"max_new_tokens": 5}, visual, 0, "t",
                                                                   "test"))])
    assert answer == pipeline.converse([docs[0]["image"]], [_turns(context)], max_new_tokens=5)


def test_loglikelihood_hand_checked(pipeline, docs):
    """lm_head replaced by a bias-only layer: every position predicts P(t) = 3 / (V + 2) for the
    one token of " yes" and 1 / (V + 2) for any other token, whatever the input."""
    tokenizer, model = pipeline.tokenizer, pipeline.model
    prompt = conversation_ids(tokenizer, [("Is it a cat?", None)], with_image=True)
    yes = conversation_ids(tokenizer, [("Is it a cat?", None)], with_image=True, reply="yes")[len(prompt):]
    no = conversation_ids(tokenizer, [("Is it a cat?", None)], with_image=True, reply="no")[len(prompt):]
    assert len(yes) == len(no) == 1 and tokenizer.decode(yes).strip() == "yes"
    vocab = model.config.vocab_size
    head = torch.nn.Linear(model.config.hidden_size, vocab, bias=True)
    with torch.no_grad():
        head.weight.zero_()
        head.bias.zero_()
        head.bias[yes[0]] = math.log(3)
    original, model.lm_head = model.lm_head, head
    try:
        requests = [Request(("<image>\nIs it a cat?", " yes", visual, 0, "t", "test")),
                    Request(("<image>\nIs it a cat?", lambda doc: " no", visual, 0, "t", "test"))]
        scored = model_for(pipeline, docs, batch_size=2).loglikelihood(requests)
    finally:
        model.lm_head = original
    # lmms-eval's convention: the negative log-likelihood (a loss; multiple choice takes the argmin)
    scored = [getattr(s, "text", s) for s in scored]  # unwrapped as lmms-eval's evaluator does
    assert scored[0][0] == pytest.approx(math.log(vocab + 2) - math.log(3), abs=1e-4) and scored[0][1] is True
    assert scored[1][0] == pytest.approx(math.log(vocab + 2), abs=1e-4) and scored[1][1] is False


def test_missing_checkpoint_argument_is_explained():
    with pytest.raises(ValueError, match="pretrained="):
        UniTokMLLM()
