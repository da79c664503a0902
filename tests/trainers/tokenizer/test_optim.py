import math

import pytest
import torch

from unitok import UniTok, UniTokConfig
from trainers.tokenizer.config import OptimConfig, TrainConfig
from trainers.tokenizer.optim import build_optimizers, build_scheduler, clamp_logit_scale, lr_factor, param_groups


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return UniTok(UniTokConfig.from_preset("tiny", codebook_size=64))


def test_no_weight_decay_for_vectors_norms_biases_and_logit_scale(model):
    decay, no_decay = param_groups(model, 0.02)
    names = {id(p): n for n, p in model.named_parameters()}
    no_decay_names = {names[id(p)] for p in no_decay["params"]}
    decay_names = {names[id(p)] for p in decay["params"]}
    assert "logit_scale" in no_decay_names and "fc_norm.weight" in no_decay_names
    assert "projection.bias" in no_decay_names and "projection.weight" in decay_names
    # Official: the codebooks are 2-D and match no key, so they DO get weight decay.
    assert "quantizer.codebooks.0.codebook.weight" in decay_names
    assert all(p.ndim >= 2 for p in decay["params"])
    assert len(decay_names) + len(no_decay_names) == sum(1 for p in model.parameters() if p.requires_grad)
    assert decay["weight_decay"] == 0.02 and no_decay["weight_decay"] == 0.0


def test_official_optimizer_settings(model):
    disc = torch.nn.Sequential(torch.nn.Conv1d(4, 4, 1), torch.nn.GroupNorm(2, 4))
    opt, disc_opt = build_optimizers(model, disc, OptimConfig())
    g = opt.param_groups[0]
    assert (g["lr"], g["betas"], g["eps"]) == (5e-4, (0.9, 0.95), 1e-6)
    d = disc_opt.param_groups[0]
    assert (d["lr"], d["betas"], d["weight_decay"]) == (2e-5, (0.5, 0.9), 0.2)


def test_warmup_then_cosine_to_a_tenth():
    total, warmup = 100, 10
    f = [lr_factor(s, total, warmup, 0.1) for s in range(total)]
    assert f[0] == pytest.approx(0.1) and f[9] == pytest.approx(1.0)
    assert all(a < b for a, b in zip(f[:9], f[1:10]))
    assert all(a >= b for a, b in zip(f[10:], f[11:]))
    assert f[10] == pytest.approx(1.0) and f[-1] == pytest.approx(0.1)
    assert f[10 + 45] == pytest.approx(0.55, abs=0.02)   # cosine midpoint


def test_scheduler_drives_the_optimizer_lr(model):
    opt, _ = build_optimizers(model, None, OptimConfig(lr=1.0))
    sched = build_scheduler(opt, total=20, warmup_frac=0.1, end_ratio=0.1)
    lrs = []
    for _ in range(20):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs[0] == pytest.approx(0.5) and lrs[1] == pytest.approx(1.0) and lrs[-1] == pytest.approx(0.1)


def test_logit_scale_is_clamped_to_ln_100(model):
    with torch.no_grad():
        model.logit_scale.fill_(10.0)
    clamp_logit_scale(model, math.log(100))
    assert float(model.logit_scale.detach()) == pytest.approx(math.log(100))
    with torch.no_grad():
        model.logit_scale.fill_(-3.0)
    clamp_logit_scale(model, math.log(100))
    assert float(model.logit_scale.detach()) == 0.0


def test_train_config_presets_and_validation():
    demo = TrainConfig.from_preset("demo")
    assert demo.data.source == "scenes" and demo.output_dir == "outputs/tokenizer_demo"
    assert TrainConfig.from_preset("official").optim.lr == 5e-4
    with pytest.raises(ValueError, match="unknown training preset"):
        TrainConfig.from_preset("huge")
    bad = TrainConfig()
    bad.data.image_size = 40
    with pytest.raises(ValueError, match="multiple of 16"):
        bad.validate()
