import math

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn.functional as F

from unitok.losses.contrastive import ClipLoss

WORLD, LOCAL_N, DIM, SCALE = 2, 3, 8, 7.5


def _global_batch():
    gen = torch.Generator().manual_seed(1234)
    image = F.normalize(torch.randn(WORLD * LOCAL_N, DIM, generator=gen), dim=-1)
    text = F.normalize(torch.randn(WORLD * LOCAL_N, DIM, generator=gen), dim=-1)
    return image, text


def _hand_clip_loss(image, text, scale):
    """Symmetric InfoNCE written out with explicit log-sum-exp loops."""
    n = image.shape[0]
    sims = [[scale * float(image[i] @ text[j]) for j in range(n)] for i in range(n)]
    img_to_txt = sum(math.log(sum(math.exp(s) for s in sims[i])) - sims[i][i] for i in range(n)) / n
    txt_to_img = sum(math.log(sum(math.exp(sims[j][i]) for j in range(n))) - sims[i][i] for i in range(n)) / n
    return (img_to_txt + txt_to_img) / 2


def test_single_process_loss_matches_hand_formula():
    image, text = _global_batch()
    loss = ClipLoss()(image, text, torch.tensor(SCALE))
    assert loss.item() == pytest.approx(_hand_clip_loss(image, text, SCALE), rel=1e-5)
    out = ClipLoss()(image, text, torch.tensor(SCALE), output_dict=True)
    assert set(out) == {"contrastive_loss"} and torch.allclose(out["contrastive_loss"], loss)


def test_matched_pairs_give_lower_loss_than_shuffled():
    image, _ = _global_batch()
    aligned = ClipLoss()(image, image, torch.tensor(SCALE))
    shuffled = ClipLoss()(image, image.roll(1, dims=0), torch.tensor(SCALE))
    assert aligned < shuffled


def test_rejects_mismatched_features():
    with pytest.raises(ValueError, match="image/text"):
        ClipLoss()(torch.zeros(3, 4), torch.zeros(2, 4), torch.tensor(1.0))
    with pytest.raises(ValueError, match="local_loss"):
        ClipLoss(local_loss=False, gather_with_grad=False)


def _worker(rank: int, store: str, out_dir: str):
    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=WORLD)
    try:
        image, text = _global_batch()
        rows = slice(rank * LOCAL_N, (rank + 1) * LOCAL_N)
        for local_loss in (True, False):
            img = image[rows].clone().requires_grad_()
            txt = text[rows].clone().requires_grad_()
            loss = ClipLoss(local_loss=local_loss)(img, txt, torch.tensor(SCALE))
            loss.backward()
            torch.save({"loss": loss.detach(), "img_grad": img.grad, "txt_grad": txt.grad},
                       f"{out_dir}/rank{rank}_local{int(local_loss)}.pt")
    finally:
        dist.destroy_process_group()


@pytest.fixture(scope="module")
def two_rank_results(tmp_path_factory):
    """One 2-process gloo run (process start-up dominates the cost) for both loss modes."""
    out = tmp_path_factory.mktemp("clip_ranks")
    mp.spawn(_worker, args=(str(out / "store"), str(out)), nprocs=WORLD, join=True)
    return out


@pytest.mark.parametrize("local_loss", [True, False])
def test_two_ranks_match_single_process_on_gathered_batch(two_rank_results, local_loss):
    results = [torch.load(two_rank_results / f"rank{r}_local{int(local_loss)}.pt", weights_only=True)
               for r in range(WORLD)]

    image, text = _global_batch()
    image.requires_grad_(), text.requires_grad_()
    reference = ClipLoss()(image, text, torch.tensor(SCALE))
    reference.backward()

    # DDP averages gradients over ranks, so the effective objective is the mean of the rank losses.
    mean_loss = sum(r["loss"] for r in results) / WORLD
    assert mean_loss.item() == pytest.approx(reference.item(), rel=1e-5)
    for rank, r in enumerate(results):
        rows = slice(rank * LOCAL_N, (rank + 1) * LOCAL_N)
        # The gather's backward sums every rank's contribution into the local rows: WORLD x the
        # gradient of the mean objective, which DDP's 1/WORLD averaging then cancels.
        torch.testing.assert_close(r["img_grad"] / WORLD, image.grad[rows], rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(r["txt_grad"] / WORLD, text.grad[rows], rtol=1e-5, atol=1e-6)
