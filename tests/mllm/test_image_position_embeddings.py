"""The optional learned image-position embedding: off by default (release layout), and when on,
embedding an image one position at a time (generation) equals embedding it whole (training)."""
import pytest
import torch

from mllm import UniTokMLLMConfig
from mllm.embedder import ImageCodeEmbedder


def _embedder(**overrides):
    torch.manual_seed(0)
    config = UniTokMLLMConfig.from_preset("tiny", vocab_size=64, codebook_size=32, projection_width=64,
                                          projection_heads=4, image_positions=9, **overrides)
    return ImageCodeEmbedder(config).eval()


def test_off_by_default():
    assert _embedder().position_embedding is None
    assert not UniTokMLLMConfig().image_position_embeddings


def test_positions_change_embeddings_and_incremental_matches_whole():
    plain, with_pos = _embedder(), _embedder(image_position_embeddings=True)
    with torch.no_grad():
        with_pos.position_embedding.normal_()
    codes = torch.randint(0, 32, (2, 8, 9))
    whole = with_pos(codes)
    assert torch.allclose(whole - plain(codes), with_pos.position_embedding.expand(2, -1, -1), atol=1e-5)
    cache = []
    steps = torch.cat([with_pos(codes[:, :, i:i + 1], past_kv=cache) for i in range(9)], dim=1)
    assert torch.allclose(steps, whole, atol=1e-5)
    with pytest.raises(ValueError, match="position embeddings for 9"):
        with_pos(torch.randint(0, 32, (1, 8, 10)))
