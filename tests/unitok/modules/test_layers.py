"""The decoder's upsampling: the sub-pixel form used at inference equals upsample-then-conv."""
import pytest
import torch
import torch.nn.functional as F

from unitok.modules.layers import Upsample2d


@pytest.mark.parametrize("shape", [(2, 8, 5, 7), (1, 16, 4, 4)])
def test_subpixel_upsample_equals_nearest_upsample_then_conv(shape):
    torch.manual_seed(0)
    module = Upsample2d(shape[1], 6)
    x = torch.randn(shape)
    official = module.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))
    with torch.no_grad():
        fast = module(x)
    assert fast.shape == official.shape == (shape[0], 6, 2 * shape[2], 2 * shape[3])
    torch.testing.assert_close(fast, official, atol=1e-5, rtol=0)
    # Training (gradients on) runs the official form itself.
    assert torch.equal(module(x), official)
    module.subpixel = False
    with torch.no_grad():
        assert torch.equal(module(x), official)
