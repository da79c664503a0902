import pytest
import torch

from unitok.losses.pixel import l1_loss, l2_loss


def test_pixel_losses_match_hand_computation():
    rec = torch.tensor([[0.5, -1.0], [0.0, 0.25]]).view(1, 1, 2, 2)
    target = torch.tensor([[0.0, 1.0], [0.0, -0.25]]).view(1, 1, 2, 2)
    # |diffs| = 0.5, 2, 0, 0.5
    assert l1_loss(rec, target).item() == pytest.approx((0.5 + 2 + 0 + 0.5) / 4)
    assert l2_loss(rec, target).item() == pytest.approx((0.25 + 4 + 0 + 0.25) / 4)


def test_pixel_losses_reject_shape_mismatch():
    with pytest.raises(ValueError, match="shape"):
        l1_loss(torch.zeros(1, 3, 4, 4), torch.zeros(1, 3, 4, 5))
