"""CFG generation against logits mixed by hand from two independent teacher-forced forwards."""
import pytest
import torch

from mllm.constants import IGNORE_INDEX, IMAGE_TOKEN_INDEX

COND = torch.tensor([[1, 17, 99, 243, 8, 3]])
UNCOND = torch.tensor([[1, 60, 61, 3]])      # shorter: the CFG batch left-pads it
POSITIONS = 6


def teacher_forced_image_logits(model, prompt: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
    """(1, 8, P, V) depth-head logits of `codes` after `prompt`, from the training forward alone."""
    ids = torch.cat([prompt, torch.tensor([[IMAGE_TOKEN_INDEX, 4]])], dim=1)
    labels = ids.clone()
    labels[:, :prompt.shape[1]] = IGNORE_INDEX
    with torch.no_grad():
        return model(input_ids=ids, labels=labels, image_codes=codes).image_logits


@pytest.mark.parametrize("scale", [3.0, -0.5])
def test_greedy_cfg_codes_are_the_argmax_of_hand_mixed_logits(tiny_model, scale):
    seen = {}
    codes = tiny_model.generate_image_codes(
        COND, uncond_input_ids=UNCOND, cfg_scale=scale, num_positions=POSITIONS, top_k=1, embedding="consistent",
        on_logits=lambda pos, step, mixed, raw: seen.setdefault((pos, step), mixed[0]))
    cond = teacher_forced_image_logits(tiny_model, COND, codes)[0]       # (8, P, V)
    uncond = teacher_forced_image_logits(tiny_model, UNCOND, codes)[0]
    by_hand = uncond + scale * (cond - uncond)
    used = torch.stack([torch.stack([seen[(p, s)] for p in range(POSITIONS)]) for s in range(8)])
    torch.testing.assert_close(used, by_hand, atol=1e-4, rtol=0)
    assert torch.equal(codes[0], by_hand.argmax(-1))
    # Guidance matters here: the conditional logits alone would have chosen other codes.
    assert not torch.equal(codes[0], cond.argmax(-1))
