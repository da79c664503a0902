import numpy as np
import pytest
import skimage.data
import torch

from evaluators.tokenizer.codebook import CodeCounter
from evaluators.tokenizer.effnet_lite0 import SameConv2d, default_weights_path, load_efficientnet_lite0
from evaluators.tokenizer.zero_shot import topk_accuracy


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


def test_tf_same_padding_puts_the_odd_pixel_right_and_bottom():
    torch.manual_seed(0)
    conv = SameConv2d(1, 1, 3, stride=2, bias=False)
    with torch.no_grad():
        # TF "SAME": output ceil(n / 2); total padding (out - 1) * 2 + 3 - n, the odd pixel after.
        for size, out, before, after in ((224, 112, 0, 1), (7, 4, 1, 1)):
            x = torch.randn(1, 1, size, size)
            expected = torch.nn.functional.conv2d(torch.nn.functional.pad(x, [before, after, before, after]),
                                                  conv.weight, stride=2)
            assert conv(x).shape[-1] == out
            torch.testing.assert_close(conv(x), expected, atol=0, rtol=0)
        x = torch.randn(1, 1, 224, 224)   # differs from PyTorch's symmetric padding
        assert not torch.allclose(conv(x), torch.nn.functional.conv2d(x, conv.weight, stride=2, padding=1))


def test_efficientnet_lite0_classifies_real_photos():
    path = default_weights_path()
    assert path is not None, "EfficientNet-Lite0 weights missing: run `bash scripts/setup_venv.sh dev`"
    net = load_efficientnet_lite0(path)
    images = torch.cat([torch.nn.functional.interpolate(
        torch.from_numpy(getattr(skimage.data, n)()).permute(2, 0, 1)[None].float() / 127.5 - 1, size=(224, 224),
        mode="bilinear", antialias=True) for n in ("chelsea", "coffee")])
    top1 = net(images).argmax(dim=1).tolist()
    assert top1[0] in (281, 282, 283, 284, 285), top1   # ImageNet domestic cats
    assert top1[1] == 967, top1                         # espresso
    assert net.features(images).shape == (2, 1280)
