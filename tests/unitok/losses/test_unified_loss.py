import pytest
import torch
import torch.nn.functional as F
from torch import nn

from unitok.losses.config import UniTokLossConfig
from unitok.losses.diffaug import DiffAug, DiffAugConfig
from unitok.losses.lpips import LPIPS
from unitok.losses.unified import UnifiedLoss


def test_official_defaults():
    cfg = UniTokLossConfig()
    assert (cfg.l1, cfg.l2, cfg.lpips, cfg.vq, cfg.clip, cfg.gan, cfg.entropy) == (0.2, 1.0, 1.0, 1.0, 1.0, 0.4, 0.0)
    assert cfg.gan_adaptive and cfg.bcr == 4.0 and cfg.lpips_min_resolution == 48
    assert (cfg.disc_start_epoch, cfg.disc_warmup_epoch) == (0.375, 0.03)
    assert cfg.disc_iters(1000) == (375, 30)
    with pytest.raises(ValueError, match="l2"):
        UniTokLossConfig(l2=-1.0)


def test_lpips_weights_are_required_when_lpips_is_on():
    with pytest.raises(ValueError, match="lpips_weights"):
        UnifiedLoss(UniTokLossConfig())


class _Decoder(nn.Module):
    """Stand-in for the UniTok decoder: its conv is the adaptive weight's "last layer"."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(4, 3, 3, padding=1)

    def forward(self, z):
        return torch.tanh(self.conv(z))


def _outputs(decoder, size, batch=2, seed=0):
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(batch, 4, size, size, generator=gen)
    vq = torch.tensor(0.3, requires_grad=True)
    return {"img_rec": decoder(z), "vq_loss": vq * 1.0, "entropy_loss": torch.tensor(0.7),
            "clip_image_features": F.normalize(torch.randn(batch, 8, generator=gen), dim=-1),
            "clip_text_features": F.normalize(torch.randn(batch, 8, generator=gen), dim=-1),
            "logit_scale": torch.tensor(10.0)}


def _clip_by_hand(img, txt, scale):
    logits = scale * img @ txt.T
    labels = torch.arange(img.shape[0])
    return (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2


@pytest.mark.parametrize("size,uses_lpips", [(48, True), (32, False)])
def test_generator_total_is_weighted_sum_without_gan(size, uses_lpips):
    torch.manual_seed(0)
    cfg = UniTokLossConfig(l1=0.3, l2=0.9, lpips=1.5, vq=1.1, entropy=0.05, clip=0.8)
    lpips = LPIPS()
    loss = UnifiedLoss(cfg, lpips=lpips)
    out = _outputs(_Decoder(), size)
    images = torch.rand(3, 3, size, size) * 2 - 1  # one more image than reconstructions
    result = loss.generator_step(out, images)
    rec, tgt = out["img_rec"], images[:2]
    expected = (0.3 * (rec - tgt).abs().mean() + 0.9 * (rec - tgt).pow(2).mean()
                + (1.5 * lpips(tgt, rec) if uses_lpips else 0.0) + 1.1 * 0.3 + 0.05 * 0.7
                + 0.8 * _clip_by_hand(out["clip_image_features"], out["clip_text_features"], 10.0))
    assert result.total.item() == pytest.approx(expected.item(), rel=1e-5)
    assert ("lpips" in result.terms) == uses_lpips and "gan" not in result.terms
    result.total.backward()  # the total is differentiable end to end


def test_generator_gan_term_uses_ramped_adaptive_weight():
    torch.manual_seed(1)
    cfg = UniTokLossConfig(lpips=0.0, disc_aug_prob=0.0)  # no augmentation: deterministic D input
    loss = UnifiedLoss(cfg)
    decoder = _Decoder()
    disc = nn.Sequential(nn.Conv2d(3, 1, 3), nn.Flatten())
    out = _outputs(decoder, 16)
    images = torch.rand(2, 3, 16, 16) * 2 - 1
    result = loss.generator_step(out, images, discriminator=disc, last_layer=decoder.conv.weight, gan_ramp=0.5)

    rec = out["img_rec"]
    nll = 0.2 * (rec - images).abs().mean() + 1.0 * (rec - images).pow(2).mean()
    g = -disc(rec).mean()
    gn = torch.autograd.grad(nll, decoder.conv.weight, retain_graph=True)[0].norm()
    gg = torch.autograd.grad(g, decoder.conv.weight, retain_graph=True)[0].norm()
    weight = 0.5 * 0.4 * (gn / (gg + 1e-6)).clamp(0.015, 1e4)
    clip = _clip_by_hand(out["clip_image_features"], out["clip_text_features"], 10.0)
    expected = nll + 0.3 + 0.0 * 0.7 + clip + weight * g
    assert result.terms["gan_weight"].item() == pytest.approx(weight.item(), rel=1e-5)
    assert result.total.item() == pytest.approx(expected.item(), rel=1e-5)
    assert all(p.grad is None for p in disc.parameters()) and all(p.requires_grad for p in disc.parameters())


def test_generator_gan_needs_discriminator_and_last_layer():
    loss = UnifiedLoss(UniTokLossConfig(lpips=0.0))
    out = _outputs(_Decoder(), 8)
    with pytest.raises(ValueError, match="discriminator"):
        loss.generator_step(out, torch.zeros(2, 3, 8, 8), gan_ramp=1.0)
    with pytest.raises(ValueError, match="last_layer"):
        loss.generator_step(out, torch.zeros(2, 3, 8, 8), discriminator=nn.Flatten(), gan_ramp=1.0)


def test_discriminator_step_is_hinge_plus_weighted_bcr():
    cfg = UniTokLossConfig(lpips=0.0, disc_aug_prob=0.0, bcr=4.0)
    loss = UnifiedLoss(cfg)
    disc = nn.Sequential(nn.Conv2d(3, 2, 3), nn.Flatten())
    real = torch.rand(2, 3, 12, 12) * 2 - 1
    fake = (torch.rand(2, 3, 12, 12) * 2 - 1).requires_grad_()
    torch.manual_seed(5)
    result = loss.discriminator_step(disc, real, fake)

    torch.manual_seed(5)  # replay the strong augmentation draws in the same order
    strong = DiffAug(DiffAugConfig(prob=1.0, cutout=0.2))
    strong_real, strong_fake = disc(strong(real)), disc(strong(fake.detach()))
    lr, lf = disc(real), disc(fake.detach())
    hinge = F.relu(1 - lr).mean() + F.relu(1 + lf).mean()
    bcr = F.mse_loss(strong_real, lr) + F.mse_loss(strong_fake, lf)
    assert result.terms["hinge"].item() == pytest.approx(hinge.item(), rel=1e-6)
    assert result.total.item() == pytest.approx((hinge + 4.0 * bcr).item(), rel=1e-6)
    assert result.terms["acc_real"].item() == pytest.approx((lr > 0).float().mean().item() * 100)
    result.total.backward()
    assert fake.grad is None and all(p.grad is not None for p in disc.parameters())


def test_lpips_samples_scores_the_first_rows_only():
    torch.manual_seed(0)
    lpips = LPIPS()
    out = _outputs(_Decoder(), 48, batch=4)
    images = torch.rand(4, 3, 48, 48) * 2 - 1
    some = UnifiedLoss(UniTokLossConfig(lpips_samples=2), lpips=lpips).generator_step(out, images)
    every = UnifiedLoss(UniTokLossConfig(), lpips=lpips).generator_step(out, images)
    rec = out["img_rec"]
    assert some.terms["lpips"].item() == pytest.approx(lpips(images[:2], rec[:2]).item(), rel=1e-6)
    assert every.terms["lpips"].item() == pytest.approx(lpips(images, rec).item(), rel=1e-6)
    assert some.terms["l2"].item() == every.terms["l2"].item()   # the pixel terms still see the whole batch
    with pytest.raises(ValueError, match="lpips_samples"):
        UniTokLossConfig(lpips_samples=-1)
