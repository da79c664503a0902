"""The `eval/vqa.py` entry script: help text, argument wiring, layout errors before model load."""
import importlib.util
import json
from pathlib import Path

import pytest
from PIL import Image

from evaluators.mllm.benchmarks import LayoutError
from evaluators.mllm.pipeline_answerer import PipelineAnswerer

REPO = Path(__file__).resolve().parents[2]


def load_script():
    spec = importlib.util.spec_from_file_location("eval_vqa_script", REPO / "eval" / "vqa.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class EchoPipeline:
    """Stands in for UnifiedPipeline: answers 'yes' about the sky, 'no' otherwise."""
    preprocessing_description = "echo preprocessing"

    def chat_batch(self, images, questions, max_new_tokens):
        return ["yes" if "sky" in question else "no" for question in questions]


def test_help_names_the_files_of_every_benchmark(capsys):
    with pytest.raises(SystemExit) as exit_info:
        load_script().main(["--help"])
    assert exit_info.value.code == 0
    help_text = capsys.readouterr().out
    for name in ("testdev_balanced_questions.json", "v2_OpenEnded_mscoco_<split>_questions.json",
                 "TextVQA_0.5.1_val.json", "coco_pope_{random,popular,adversarial}.json",
                 "questions_answers_YN", "mm-vet.json"):
        assert name in help_text


def test_main_runs_a_benchmark_and_records_settings(tmp_path, monkeypatch, capsys):
    data = tmp_path / "gqa"
    (data / "images").mkdir(parents=True)
    Image.new("RGB", (8, 8)).save(data / "images" / "i1.jpg")
    (data / "testdev_balanced_questions.json").write_text(json.dumps({
        "1": {"imageId": "i1", "question": "Is the sky blue?", "answer": "yes"},
        "2": {"imageId": "i1", "question": "Is it night?", "answer": "yes"}}))
    script = load_script()
    seen = {}

    def fake_loader(model, unitok, tokenizer, **runtime):
        seen.update(model=model, unitok=unitok, tokenizer=tokenizer, **runtime)
        return PipelineAnswerer(EchoPipeline())

    monkeypatch.setattr(script, "load_pipeline_answerer", fake_loader)
    assert script.main(["--bench", "gqa", "--model", "m/", "--unitok", "u.pth", "--data", str(data),
                        "--output", str(tmp_path / "out"), "--batch-size", "2"]) == 0
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["scores"]["accuracy"] == 50.0
    assert seen == {"model": "m/", "unitok": "u.pth", "tokenizer": None, "device": "auto", "dtype": "auto",
                    "attn_implementation": "sdpa"}
    assert summary["settings"]["model"] == "m/" and "USER: <image>\n{prompt} ASSISTANT:" in summary["settings"]["prompt_template"]
    assert summary["settings"]["decoding"]["strategy"] == "greedy"
    assert summary["settings"]["preprocessing"] == "echo preprocessing"
    assert len(summary["data"]["files_sha256"]["testdev_balanced_questions.json"]) == 64
    assert "gqa:" in capsys.readouterr().out


def test_wrong_layout_fails_before_loading_the_model(tmp_path, monkeypatch):
    script = load_script()
    monkeypatch.setattr(script, "load_pipeline_answerer", lambda *a: pytest.fail("model loaded"))
    with pytest.raises(LayoutError, match="mm-vet.json"):
        script.main(["--bench", "mmvet", "--model", "m", "--data", str(tmp_path), "--output", str(tmp_path / "o")])
