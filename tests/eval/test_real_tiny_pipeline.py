"""Both entry scripts end to end with the real pipeline on the golden tiny MLLM + tiny UniTok."""
import importlib.util
import json
import sys
from pathlib import Path

import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "evaluators" / "mllm"))
from official_layouts import write_pope  # noqa: E402


def load_script(name):
    spec = importlib.util.spec_from_file_location(f"eval_{name}_real", REPO / "eval" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def checkpoints(golden_dir):
    return {"model": str(golden_dir / "mllm_tiny"), "unitok": str(golden_dir / "tokenizer_tiny" / "official_ckpt.pth")}


def test_vqa_script_with_real_pipeline_matches_direct_chat(tmp_path, checkpoints):
    from mllm.pipeline import UnifiedPipeline

    write_pope(tmp_path / "pope")
    out = tmp_path / "out"
    assert load_script("vqa").main(["--bench", "pope", "--model", checkpoints["model"], "--unitok",
                                    checkpoints["unitok"], "--data", str(tmp_path / "pope"), "--output", str(out),
                                    "--limit", "2", "--max-new-tokens", "4"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["counts"]["answered"] == 2 and summary["counts"]["failed"] == 0
    rows = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    pipeline = UnifiedPipeline.from_pretrained(checkpoints["model"], unitok_path=checkpoints["unitok"])
    image = Image.open(tmp_path / "pope" / "val2014" / "COCO_val2014_000000000001.jpg").convert("RGB")
    assert rows[0]["answer"] == pipeline.chat(image, rows[0]["prompt"], max_new_tokens=4)


def test_generation_script_with_real_pipeline(tmp_path, checkpoints):
    prompts = tmp_path / "genai_image.json"
    prompts.write_text(json.dumps({"00000": {"prompt": "a red cube"}, "00001": {"prompt": "a blue ball"}}))
    out = tmp_path / "out"
    assert load_script("generation").main(["--bench", "genai", "--model", checkpoints["model"], "--unitok",
                                           checkpoints["unitok"], "--prompts", str(prompts), "--output", str(out),
                                           "--cfg-scale", "2", "--batch-size", "2", "--num-positions", "4"]) == 0
    for name in ("00000.jpeg", "00001.jpeg"):
        with Image.open(out / name) as image:
            assert image.format == "JPEG" and image.mode == "RGB" and image.size == (32, 32)
