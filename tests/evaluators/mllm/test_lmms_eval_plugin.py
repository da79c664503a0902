"""The lmms-eval adapter imports without lmms-eval and answers lmms-eval-shaped requests."""
import importlib
from dataclasses import dataclass

import pytest
from PIL import Image

PLUGIN = "evaluators.mllm.lmms_eval_plugin"


@dataclass
class FakeRequest:  # lmms-eval's Instance carries its arguments in .args
    args: tuple


class RecordingAnswerer:
    def __init__(self, reply):
        self.reply, self.calls = reply, []

    def answer(self, images, prompts, max_new_tokens):
        self.calls.append((images, prompts, max_new_tokens))
        return [self.reply] * len(prompts)


def load_like_lmms_eval(name):
    """What lmms-eval's LMMS_EVAL_PLUGINS loader does with our package."""
    table = importlib.import_module(f"{PLUGIN}.models").AVAILABLE_MODELS
    return getattr(importlib.import_module(f"{PLUGIN}.models.{name}"), table[name])


def test_generate_until_answers_with_the_document_image():
    cls = load_like_lmms_eval("unitok_mllm")
    answerer = RecordingAnswerer("Yes.\nUSER: and more")
    model = cls(answerer=answerer)
    picture = Image.new("L", (5, 5))
    model.task_dict = {"pope": {"test": {7: {"image": picture}}}}
    request = FakeRequest(("<image>\nIs there a dog?", {"until": ["\nUSER:"], "max_new_tokens": 16},
                           lambda doc: [doc["image"]], 7, "pope", "test"))
    assert model.generate_until([request]) == ["Yes."]
    images, prompts, max_new_tokens = answerer.calls[0]
    assert prompts == ["Is there a dog?"] and max_new_tokens == 16
    assert images[0].mode == "RGB" and images[0].size == (5, 5)


def test_text_only_documents_and_unsupported_modes():
    model = load_like_lmms_eval("unitok_mllm")(answerer=RecordingAnswerer("4"))
    model.task_dict = {"t": {"s": {0: {}}}}
    assert model.generate_until([FakeRequest(("2+2?", {}, lambda doc: [], 0, "t", "s"))]) == ["4"]
    with pytest.raises(ValueError, match="greedy"):
        model.generate_until([FakeRequest(("x", {"temperature": 0.7}, lambda doc: [], 0, "t", "s"))])
    with pytest.raises(NotImplementedError):
        model.loglikelihood([])


def test_missing_checkpoint_argument_is_explained():
    with pytest.raises(ValueError, match="pretrained="):
        load_like_lmms_eval("unitok_mllm")()
