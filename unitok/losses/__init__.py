"""Training losses of the UniTok tokenizer: pixel, LPIPS, CLIP contrastive, DINO-GAN, combined."""
from .config import UniTokLossConfig
from .contrastive import ClipLoss
from .diffaug import DiffAug, DiffAugConfig
from .discriminator import DinoDiscriminator, DiscriminatorConfig
from .gan import adaptive_gan_weight, bcr_loss, disc_schedules, generator_loss, hinge_d_loss
from .lpips import LPIPS
from .pixel import l1_loss, l2_loss
from .unified import LossOutput, UnifiedLoss

__all__ = [
    "UniTokLossConfig", "ClipLoss", "DiffAug", "DiffAugConfig", "DinoDiscriminator", "DiscriminatorConfig",
    "adaptive_gan_weight", "bcr_loss", "disc_schedules", "generator_loss", "hinge_d_loss", "LPIPS",
    "l1_loss", "l2_loss", "LossOutput", "UnifiedLoss",
]
