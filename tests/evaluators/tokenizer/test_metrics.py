import numpy as np
import pytest
import skimage.data
import torch
from skimage.metrics import structural_similarity

from evaluators.tokenizer.metrics import gaussian_window, psnr, ssim


def _photo(size=96):
    img = skimage.data.astronaut()[100:100 + size, 150:150 + size]
    return torch.from_numpy(img).permute(2, 0, 1)[None].float() / 127.5 - 1


def test_psnr_of_a_known_offset():
    a = torch.zeros(2, 3, 16, 16)
    b = a + 0.1                       # 0.05 on the [0, 1] scale -> mse 0.0025 -> 26.0206 dB
    assert psnr(a, b).tolist() == pytest.approx([26.0206] * 2, abs=1e-3)
    assert torch.isinf(psnr(a, a)).all()


def test_gaussian_window_is_normalised_and_peaked():
    w = gaussian_window()
    assert w.shape == (11, 11) and float(w.sum()) == pytest.approx(1.0)
    assert w[5, 5] == w.max() and w[0, 0] == w.min()


def test_ssim_matches_scikit_image_on_a_real_photo():
    x = _photo()
    noisy = (x + 0.1 * torch.randn(x.shape, generator=torch.Generator().manual_seed(0))).clamp(-1, 1)
    ours = float(ssim(noisy, x))
    a, b = ((t[0].permute(1, 2, 0).numpy() + 1) / 2 for t in (noisy, x))
    ref = structural_similarity(a.astype(np.float64), b.astype(np.float64), gaussian_weights=True, sigma=1.5,
                                use_sample_covariance=False, data_range=1.0, channel_axis=2)
    assert ours == pytest.approx(ref, abs=1e-5)
    assert float(ssim(x, x)) == pytest.approx(1.0, abs=1e-6)
    worse = (x + 0.3 * torch.randn(x.shape, generator=torch.Generator().manual_seed(1))).clamp(-1, 1)
    assert float(ssim(worse, x)) < ours < 1.0


def test_ssim_rejects_images_smaller_than_the_window():
    with pytest.raises(ValueError, match="SSIM window"):
        ssim(torch.zeros(1, 3, 8, 8), torch.zeros(1, 3, 8, 8))
