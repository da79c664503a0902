"""Zero-shot classification on the official tiny tokenizer, whose answer is known from the official
code: with the captions as class names and the bare "{}" template, the class embeddings are the
official caption embeddings, so the logits must be 100 x (official image embeds) @ (official caption
embeds)^T and the predictions their argmax."""
import json
import shutil

import pytest
import torch
from safetensors.torch import load_file

from evaluators.tokenizer.runner import EvalConfig, evaluate
from evaluators.tokenizer.zero_shot import build_classifier, zero_shot_logits
from unitok import UniTok

FOLDER_OF_IMAGE = {"astronaut": 0, "coffee": 1, "chelsea": 2, "rocket": 2}   # caption index = class


@pytest.fixture(scope="module")
def official(golden_dir):
    root = golden_dir / "tokenizer_tiny"
    expected = load_file(str(root / "expected.safetensors"))
    with open(root / "expected.safetensors", "rb") as f:   # safetensors metadata: the caption list
        header = json.loads(f.read(int.from_bytes(f.read(8), "little")))["__metadata__"]
    known = 100.0 * expected["image_embeds"] @ expected["text_embeds"].T
    return root, expected, json.loads(header["captions"]), json.loads(header["images"]), known


def test_logits_are_the_official_embedding_similarities(official):
    root, expected, captions, _, known = official
    model = UniTok.from_pretrained(root / "official_ckpt.pth")
    logits = zero_shot_logits(model, expected["input_images"], build_classifier(model, captions, ["{}"]))
    torch.testing.assert_close(logits, known, atol=1e-3, rtol=0)
    assert logits.argmax(1).tolist() == known.argmax(1).tolist() == [1, 1, 1, 2]
    top2 = known.topk(2, dim=1).values
    assert (top2[:, 0] - top2[:, 1]).min() > 0.5   # no near-tie: the answer is decided


def test_eval_runner_reports_the_known_accuracy(official, tmp_path):
    root, _, captions, images, known = official
    data = tmp_path / "data"
    for name in images:   # the official 256 px crops: the runner's resize + crop leaves them unchanged
        folder = data / captions[FOLDER_OF_IMAGE[name]].replace(" ", "_")
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(root / "inputs" / f"{name}.png", folder / f"{name}.png")
    cfg = EvalConfig(model=str(root / "official_ckpt.pth"), data=str(data), output=str(tmp_path / "out"),
                     templates=["{}"], save_reconstructions=False, batch_size=4)
    zero_shot = evaluate(cfg)["metrics"]["zero_shot"]
    assert zero_shot["classnames"] == captions   # folder order = caption order
    labels = torch.tensor([FOLDER_OF_IMAGE[name] for name in images])
    assert zero_shot["top1"] == pytest.approx(float((known.argmax(1) == labels).double().mean()))
    assert zero_shot["top1"] == pytest.approx(0.5)
