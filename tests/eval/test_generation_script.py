"""The `eval/generation.py` entry script, with a fake pipeline in place of the model."""
import importlib.util
import json
from pathlib import Path

import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[2]


def load_script():
    spec = importlib.util.spec_from_file_location("eval_generation_script", REPO / "eval" / "generation.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class FakePipeline:
    def __init__(self):
        self.kwargs = []

    def generate_images(self, prompts, **kwargs):
        self.kwargs.append(kwargs)
        return [Image.new("RGB", (8, 8), (40 * i, 10, 200)) for i, _ in enumerate(prompts)], None


def test_mjhq_generation_records_sampling_settings(tmp_path, monkeypatch):
    prompts = tmp_path / "meta_data.json"
    prompts.write_text(json.dumps({"a": {"category": "animals", "prompt": "a fox"},
                                   "b": {"category": "food", "prompt": "a pie"},
                                   "c": {"category": "food", "prompt": "a cake"}}))
    script, pipeline = load_script(), FakePipeline()
    monkeypatch.setattr(script, "load_unified_pipeline", lambda model, unitok, tokenizer, **runtime: pipeline)
    out = tmp_path / "out"
    assert script.main(["--bench", "mjhq", "--model", "m", "--unitok", "u", "--prompts", str(prompts),
                        "--output", str(out), "--cfg-scale", "5", "--top-k", "2048", "--top-p", "0.96",
                        "--temperature", "0.9", "--seed", "3", "--limit", "2", "--batch-size", "2"]) == 0
    assert (out / "animals" / "a.png").is_file() and (out / "food" / "b.png").is_file()
    assert not (out / "food" / "c.png").exists()
    assert pipeline.kwargs == [{"cfg_scale": 5.0, "temperature": 0.9, "top_k": 2048, "top_p": 0.96, "seed": 3}]
    recorded = json.loads((out / "generation_settings.json").read_text())
    assert recorded["sampling"]["top_p"] == 0.96 and recorded["model"] == "m" and recorded["images"] == 2


def test_fid_only_run_labels_the_distance(tmp_path, capsys):
    import torch

    class Mean(torch.nn.Module):
        def forward(self, x):
            return x.mean(dim=(2, 3))

    net = tmp_path / "MeanRGB.pt2"
    batch = torch.export.Dim("batch", min=1)
    torch.export.save(torch.export.export(Mean(), (torch.rand(2, 3, 4, 4),), dynamic_shapes=({0: batch},)), str(net))
    for folder in ("gen", "ref"):
        (tmp_path / folder).mkdir()
        for i, colour in enumerate([(0, 0, 0), (90, 30, 10), (10, 90, 30)]):
            Image.new("RGB", (4, 4), colour).save(tmp_path / folder / f"{i}.png")
    prompts = tmp_path / "p.json"
    prompts.write_text("{}")
    assert load_script().main(["--bench", "mjhq", "--prompts", str(prompts), "--output", str(tmp_path / "gen"),
                               "--skip-generation", "--fid-ref", str(tmp_path / "ref"), "--feature-net", str(net),
                               "--feature-size", "4"]) == 0
    result = json.loads((tmp_path / "gen" / "frechet_distance.json").read_text())
    assert result["FD-MeanRGB"] == pytest.approx(0.0, abs=1e-9)


def test_fid_reference_needs_a_feature_network(tmp_path):
    with pytest.raises(SystemExit):
        load_script().main(["--bench", "genai", "--prompts", "p", "--output", str(tmp_path), "--skip-generation",
                            "--fid-ref", str(tmp_path)])
