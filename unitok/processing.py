"""Image pre/post-processing matching the official UniTok inference pipelines, without torchvision.

Tokenizer path (inference.py): Resize(int(size * 1.125)) bilinear on the short side, CenterCrop(size),
ToTensor, x * 2 - 1. MLLM VQA path: pad to a square with the CLIP mean colour, squash-resize to
(size, size) bilinear, same normalisation. Both use PIL resampling, as torchvision does on PIL
images, so the pixels are bit-identical to the official preprocessing.
"""
from __future__ import annotations

import os
from typing import Sequence, Union

import numpy as np
import torch
from PIL import Image

# CLIP mean (0.48145466, 0.4578275, 0.40821073) * 255, truncated as LLaVA-style pipelines do.
PAD_COLOR = (122, 116, 104)

ImageInput = Union[Image.Image, np.ndarray, str, os.PathLike]


def to_rgb(image: ImageInput) -> Image.Image:
    """Load / convert any PIL mode (RGBA, LA, L, 1, P, CMYK, YCbCr, ...) or uint8 array to RGB.

    Alpha is dropped, not composited, like the official `Image.open(path).convert('RGB')`.
    """
    if isinstance(image, (str, os.PathLike)):
        with Image.open(image) as opened:
            opened.load()
            image = opened.copy()
    elif isinstance(image, np.ndarray):
        if image.dtype != np.uint8 or image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (1, 3, 4)):
            raise ValueError(f"numpy images must be uint8 (H, W), (H, W, 1), (H, W, 3) or (H, W, 4); "
                             f"got dtype {image.dtype} shape {image.shape}")
        image = Image.fromarray(image[..., 0] if image.ndim == 3 and image.shape[2] == 1 else image)
    if not isinstance(image, Image.Image):
        raise ValueError(f"expected a PIL image, a uint8 numpy array or a path, got {type(image).__name__}")
    if image.mode == "RGB":
        return image
    # Palette images may carry transparency in the palette; going through RGBA avoids PIL's warning.
    if image.mode == "P":
        image = image.convert("RGBA")
    return image.convert("RGB")


def resize_short_side(image: Image.Image, short_side: int) -> Image.Image:
    """Bilinear resize so the short side equals `short_side`; long side = int(short * long / short_orig)
    (torchvision's rule for an int size, truncating)."""
    width, height = image.size
    if width <= height:
        new_w, new_h = short_side, int(short_side * height / width)
    else:
        new_w, new_h = int(short_side * width / height), short_side
    if (new_w, new_h) == (width, height):
        return image
    return image.resize((new_w, new_h), Image.BILINEAR)


def center_crop(image: Image.Image, size: int) -> Image.Image:
    """Crop the central size x size window; offsets use torchvision's int(round((dim - size) / 2))
    (round half to even), which differs from floor division on odd margins."""
    width, height = image.size
    if width < size or height < size:
        raise ValueError(f"image {width}x{height} is smaller than the crop size {size}; resize it first")
    top = int(round((height - size) / 2.0))
    left = int(round((width - size) / 2.0))
    return image.crop((left, top, left + size, top + size))


def resize_center_crop(image: Image.Image, size: int) -> Image.Image:
    """Short side to `size` (bicubic), then the central square: training and evaluation crops."""
    width, height = image.size
    scale = size / min(width, height)
    image = image.resize((max(size, round(width * scale)), max(size, round(height * scale))), Image.BICUBIC)
    return center_crop(image, size)


def pad_to_square_resize(image: ImageInput, size: int = 256, background: Sequence[int] = PAD_COLOR) -> Image.Image:
    """expand2square with `background` (image centred, margin split with floor on the top/left),
    then a bilinear squash-resize to (size, size): the image preprocessing of the MLLM VQA path."""
    image = to_rgb(image)
    width, height = image.size
    if width != height:
        side = max(width, height)
        canvas = Image.new("RGB", (side, side), tuple(int(c) for c in background))
        canvas.paste(image, ((side - width) // 2, (side - height) // 2))
        image = canvas
    if image.size != (size, size):
        image = image.resize((size, size), Image.BILINEAR)
    return image


def pil_to_tensor_pm1(image: Image.Image) -> torch.Tensor:
    """(3, H, W) float32 in [-1, 1]: uint8 / 255 (as ToTensor) then * 2 - 1."""
    array = np.asarray(image, dtype=np.uint8)
    return torch.from_numpy(array.copy()).permute(2, 0, 1).float().div(255.0).mul(2.0).sub(1.0)


def tensor_to_pil(images: torch.Tensor) -> list[Image.Image]:
    """Images in [-1, 1], (3, H, W) or (B, 3, H, W) -> RGB PIL images via round((x + 1) * 127.5)."""
    if images.ndim == 3:
        images = images.unsqueeze(0)
    if images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"expected images of shape (B, 3, H, W) or (3, H, W), got {tuple(images.shape)}")
    pixels = ((images.detach().float().cpu() + 1.0) * 127.5).round().clamp(0, 255).to(torch.uint8)
    return [Image.fromarray(p.permute(1, 2, 0).numpy()) for p in pixels]


class UniTokImageProcessor:
    """Turns images into the (B, 3, size, size) [-1, 1] batches UniTok expects, and back.

    mode="center_crop": the tokenizer inference pipeline (resize short side to int(size * resize_ratio),
    center crop). mode="pad": the MLLM VQA pipeline (pad to square with PAD_COLOR, squash-resize).
    """

    def __init__(self, size: int = 256, resize_ratio: float = 1.125, mode: str = "center_crop"):
        if size <= 0 or size % 16:
            raise ValueError(f"size must be a positive multiple of 16 (the UniTok patch size), got {size}")
        if resize_ratio < 1.0:
            raise ValueError(f"resize_ratio must be >= 1 so the crop fits, got {resize_ratio}")
        if mode not in ("center_crop", "pad"):
            raise ValueError(f"mode must be 'center_crop' or 'pad', got {mode!r}")
        self.size = size
        self.resize_ratio = resize_ratio
        self.mode = mode

    @classmethod
    def from_config(cls, config, **overrides) -> "UniTokImageProcessor":
        """Processor for a UniTokConfig (img_size, resize_ratio)."""
        kwargs = dict(size=config.img_size, resize_ratio=config.resize_ratio)
        kwargs.update(overrides)
        return cls(**kwargs)

    def process_one(self, image: ImageInput) -> torch.Tensor:
        """(3, size, size) float tensor in [-1, 1] for one image."""
        return pil_to_tensor_pm1(self.resized(image))

    def resized(self, image: ImageInput) -> Image.Image:
        """The RGB image after resizing/cropping (or padding), before the conversion to floats."""
        if self.mode == "pad":
            return pad_to_square_resize(image, self.size)
        return center_crop(resize_short_side(to_rgb(image), int(self.size * self.resize_ratio)), self.size)

    def process_uint8(self, image: ImageInput) -> np.ndarray:
        """(size, size, 3) uint8: what worker processes send back (a quarter of the float bytes);
        `uint8_to_pm1` on a stack of them equals stacking `process_one` outputs exactly."""
        return np.asarray(self.resized(image), dtype=np.uint8)

    @staticmethod
    def uint8_to_pm1(pixels: np.ndarray) -> torch.Tensor:
        """(B, H, W, 3) uint8 -> (B, 3, H, W) float32 in [-1, 1], the arithmetic of pil_to_tensor_pm1."""
        return torch.from_numpy(np.ascontiguousarray(pixels)).permute(0, 3, 1, 2).float().div(255.0).mul(2.0).sub(1.0)

    def __call__(self, images: ImageInput | Sequence[ImageInput]) -> torch.Tensor:
        """(B, 3, size, size) float tensor in [-1, 1]."""
        if isinstance(images, (Image.Image, np.ndarray, str, os.PathLike)):
            images = [images]
        if len(images) == 0:
            raise ValueError("no images given")
        return torch.stack([self.process_one(image) for image in images])

    @staticmethod
    def postprocess(images: torch.Tensor) -> list[Image.Image]:
        """Decoded [-1, 1] tensors -> list of RGB PIL images."""
        return tensor_to_pil(images)
