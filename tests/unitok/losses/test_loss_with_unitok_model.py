"""The losses wired to the real (tiny) UniTok model, as the tokenizer trainer will use them."""
import torch

from unitok import UniTok, UniTokConfig
from unitok.losses import DinoDiscriminator, UnifiedLoss, UniTokLossConfig, disc_schedules


def test_one_generator_and_discriminator_step_on_tiny_unitok(lpips_vgg_weights):
    torch.manual_seed(0)
    model = UniTok(UniTokConfig.from_preset("tiny", img_size=64, codebook_size=64,
                                            text_context_length=8, text_vocab_size=100))
    loss = UnifiedLoss(UniTokLossConfig(lpips_weights=str(lpips_vgg_weights)))
    disc = DinoDiscriminator()
    images = torch.rand(2, 3, 64, 64) * 2 - 1
    out = model(images, text=torch.randint(0, 100, (2, 8)))
    last_layer = model.decoder.up_conv4.conv2.weight
    ramp, blur = disc_schedules(iteration=12, start_iter=10, warmup_iters=4)

    gen = loss.generator_step(out, images, discriminator=disc, last_layer=last_layer, gan_ramp=ramp, blur_schedule=blur)
    gen.total.backward()
    assert set(gen.terms) >= {"l1", "l2", "lpips", "vq", "clip", "gan", "gan_weight", "total"}
    assert torch.isfinite(gen.total) and last_layer.grad is not None
    assert model.logit_scale.grad is not None  # the CLIP term reaches the model
    assert all(p.grad is None for p in disc.parameters())  # the generator step leaves D alone

    d = loss.discriminator_step(disc, images, out["img_rec"], blur)
    model.zero_grad()
    d.total.backward()
    assert torch.isfinite(d.total) and all(p.grad is not None for p in disc.parameters())
    assert all(p.grad is None for p in model.parameters())  # reconstructions are detached
