"""Small-scale reproduction of the UniTok ablations on Fashion-MNIST, as a markdown table.

    python benchmarks/ablations/fmnist.py --steps 200 --batch-size 64 --eval-images 2000 --seeds 0 1 2 3 4 \
        --out docs/ablations.md --results-json docs/ablations_results.json   (the run in docs/ablations.md)

Variants (same seeds, data order, optimiser and budget for all; with several --seeds the table shows
mean +- sample sd over seeds):
  (a) multi-codebook size at equal total entries (4096) and latent width (64):
      mcq-1x4096, mcq-2x2048, mcq-4x1024, mcq-8x512      (code_dim = 64 / num_codebooks)
  (b) multi-codebook vs residual quantization at the same code shape: mcq-8x512 vs rq-8x512
  (c) objectives at 8x512: both (= mcq-8x512) vs rec-only (no CLIP loss) vs clip-only (no pixel loss)

Training images are the 60k Fashion-MNIST train images (28x28 grey, padded with black to 32x32,
replicated to RGB), each captioned with a random template over its class name. Evaluation uses the
first K test images: PSNR / SSIM / L1 / L2 of the hard-code reconstruction (on the 28x28 content,
[-1, 1] scale for L1/L2), prompt-ensemble classification accuracy (encode_text of the training
templates vs encode_image), codebook usage and perplexity of the test codes; optionally a Frechet
distance on EfficientNet-Lite0 features (never called rFID). The loss is the repo's
unitok.losses.UnifiedLoss generator step (0.2 L1 + 1.0 L2 + VQ + CLIP; LPIPS and GAN off).
The results block of --out (between markers) is rewritten after every variant.
"""
from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from pathlib import Path
from typing import Dict, List

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from unitok import UniTok, UniTokConfig  # noqa: E402

DATA_DIR = Path("/usr/share/datasets/fashion-mnist")
CLASSES = ("t-shirt/top", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag",
           "ankle boot")
TEMPLATES = ("a photo of a {}.", "a {}.", "a picture of a {}.", "an image of a {}.", "a photo of the {}.",
             "a black and white photo of a {}.")
# "tiny" shrunk further for two shared CPU cores: one trunk block, one MBConv / upsampling block per stage.
MODEL = dict(stem_width=16, stage_widths=(16, 32), stage_depths=(1, 1), decoder_up_depths=(1, 1), depth=1,
             text_layers=1, img_size=32)
LATENT_WIDTH, TOTAL_ENTRIES = 64, 4096
BEGIN, END = "<!-- ablations:begin -->", "<!-- ablations:end -->"


def _variant(group: str, nc: int, qtype: str = "multi", rec: bool = True, clip: bool = True) -> Dict:
    return dict(group=group, num_codebooks=nc, codebook_size=TOTAL_ENTRIES // nc, code_dim=LATENT_WIDTH // nc,
                quantizer_type=qtype, rec=rec, clip=clip)


VARIANTS = {
    "mcq-1x4096": _variant("a", 1), "mcq-2x2048": _variant("a", 2), "mcq-4x1024": _variant("a", 4),
    "mcq-8x512": _variant("a,b,c", 8), "rq-8x512": _variant("b", 8, "residual"),
    "rec-only": _variant("c", 8, clip=False), "clip-only": _variant("c", 8, rec=False),
}


def load_idx(path: Path) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def load_split(data_dir: Path, split: str):
    if not (data_dir / f"{split}-images-idx3-ubyte.gz").is_file():
        raise SystemExit(f"Fashion-MNIST not found in {data_dir}: `apt-get install dataset-fashion-mnist` "
                         "(installs it in /usr/share/datasets/fashion-mnist) or pass --data-dir")
    images = load_idx(data_dir / f"{split}-images-idx3-ubyte.gz")
    labels = load_idx(data_dir / f"{split}-labels-idx1-ubyte.gz")
    return torch.from_numpy(images.copy()), torch.from_numpy(labels.astype(np.int64))


def to_pixels(images_u8: torch.Tensor) -> torch.Tensor:
    """(B, 28, 28) uint8 -> (B, 3, 32, 32) in [-1, 1], black (-1) padding of 2 px."""
    x = images_u8.float().div(127.5).sub(1).unsqueeze(1)
    return torch.nn.functional.pad(x, (2, 2, 2, 2), value=-1.0).expand(-1, 3, -1, -1).contiguous()


def content(x: torch.Tensor) -> torch.Tensor:
    return x[..., 2:30, 2:30]


def build_model(spec: Dict, seed: int) -> UniTok:
    torch.manual_seed(seed)
    cfg = UniTokConfig.from_preset("tiny", num_codebooks=spec["num_codebooks"], codebook_size=spec["codebook_size"],
                                   code_dim=spec["code_dim"], quantizer_type=spec["quantizer_type"], **MODEL)
    return UniTok(cfg)


def train(model: UniTok, spec: Dict, data, caption_tokens: torch.Tensor, args, seed: int) -> Dict:
    from unitok.losses import UnifiedLoss, UniTokLossConfig
    from trainers.tokenizer.config import OptimConfig
    from trainers.tokenizer.optim import build_optimizers, build_scheduler, clamp_logit_scale

    images, labels = data
    optim_cfg = OptimConfig(lr=args.lr, warmup_frac=args.warmup_frac)
    loss_cfg = UniTokLossConfig(l1=0.2 if spec["rec"] else 0.0, l2=1.0 if spec["rec"] else 0.0, lpips=0.0,
                                clip=1.0 if spec["clip"] else 0.0, gan=0.0)
    objective = UnifiedLoss(loss_cfg)
    opt, _ = build_optimizers(model, None, optim_cfg)
    sched = build_scheduler(opt, args.steps, optim_cfg.warmup_frac, optim_cfg.lr_end_ratio)
    gen = torch.Generator().manual_seed(seed)  # same data order and captions for every variant
    perm, pos, tail, start = torch.randperm(len(images), generator=gen), 0, [], time.time()
    model.train()
    for step in range(args.steps):
        if pos + args.batch_size > len(perm):
            perm, pos = torch.randperm(len(images), generator=gen), 0
        idx = perm[pos: pos + args.batch_size]
        pos += args.batch_size
        templ = torch.randint(len(TEMPLATES), (len(idx),), generator=gen)
        x = to_pixels(images[idx])
        out = model(x)
        if spec["clip"]:  # encode each distinct caption of the batch once
            cap = labels[idx] * len(TEMPLATES) + templ
            uniq, inverse = cap.unique(return_inverse=True)
            out["clip_text_features"] = model.encode_text(caption_tokens[uniq], normalize=True)[inverse]
        loss = objective.generator_step(out, x)
        total, metrics = loss.total, {k: v for k, v in loss.terms.items() if k not in ("entropy", "total")}
        opt.zero_grad(set_to_none=True)
        total.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), optim_cfg.grad_clip)
        opt.step()
        sched.step()
        clamp_logit_scale(model, optim_cfg.logit_scale_max)
        row = {k: float(v.detach()) if torch.is_tensor(v) else float(v) for k, v in metrics.items()}
        row["train_usage"] = float(out["codebook_usages"])
        tail.append(row)
        tail = tail[-50:]
        if args.log_every and (step + 1) % args.log_every == 0:
            print(f"  step {step + 1}/{args.steps} " + " ".join(f"{k}={v:.4g}" for k, v in row.items())
                  + f" ({time.time() - start:.0f}s)", flush=True)
    return {"train_s": time.time() - start,
            "final": {k: sum(r[k] for r in tail) / len(tail) for k in tail[-1]}}


@torch.no_grad()
def evaluate(model: UniTok, data, caption_tokens: torch.Tensor, args, fd_cache: Dict) -> Dict:
    from evaluators.tokenizer.codebook import CodeCounter
    from evaluators.tokenizer.metrics import psnr, ssim

    model.eval()
    images, labels = data
    start = time.time()
    text = model.encode_text(caption_tokens, normalize=True).float().view(len(CLASSES), len(TEMPLATES), -1).mean(1)
    classifier = torch.nn.functional.normalize(text, dim=-1).T  # open_clip prompt ensemble
    counter = CodeCounter(model.config.num_codebooks, model.config.codebook_size)
    sums = {"psnr": [], "ssim": [], "l1": [], "l2": []}
    correct, recs = 0, []
    for s in range(0, len(images), args.eval_batch):
        x = to_pixels(images[s: s + args.eval_batch])
        codes = model.img_to_idx(x)
        counter.update(codes)
        rec = model.idx_to_img(codes)
        a, b = content(rec), content(x)
        sums["psnr"].append(psnr(a, b))
        sums["ssim"].append(ssim(a, b))
        sums["l1"].append((a - b).abs().flatten(1).mean(1))
        sums["l2"].append((a - b).square().flatten(1).mean(1))
        feats = model.encode_image(x, normalize=True).float()
        correct += int(((feats @ classifier).argmax(1) == labels[s: s + args.eval_batch]).sum())
        if s < args.fd_images:
            recs.append(rec[: args.fd_images - s])
    res = {k: float(torch.cat(v).mean()) for k, v in sums.items()}
    res["zero_shot_top1"] = correct / len(images)
    codes_summary = counter.summary()
    res["usage"], res["perplexity"] = codes_summary["mean_usage"], codes_summary["mean_perplexity"]
    if args.fd_images:
        from evaluators.tokenizer.effnet_lite0 import default_weights_path, load_efficientnet_lite0
        from evaluators.tokenizer.frechet import feature_frechet_distance
        if "net" not in fd_cache:
            fd_cache["net"] = load_efficientnet_lite0(default_weights_path()).eval()
            fd_cache["real"] = torch.cat([fd_cache["net"].features(to_pixels(images[s: s + 100]))
                                          for s in range(0, args.fd_images, 100)])
        fake = torch.cat([fd_cache["net"].features(r) for r in torch.cat(recs).split(100)])
        res["fd_effnet"] = feature_frechet_distance(fd_cache["real"], fake)
    res["eval_s"] = time.time() - start
    return res


def fmt(values, spec="{:.2f}", scale=1.0):
    """One value, or mean +- sample sd over seeds."""
    values = [scale * v for v in values if v is not None]
    if not values:
        return "-"
    mean = sum(values) / len(values)
    if len(values) == 1:
        return spec.format(mean)
    sd = (sum((v - mean) ** 2 for v in values) / (len(values) - 1)) ** 0.5
    return f"{spec.format(mean)} ± {spec.format(sd)}"


def render(results: Dict[str, Dict], args, command: str) -> str:
    fd = args.fd_images > 0
    head = ["variant", "ablation", "quantizer", "codes", "objective", "PSNR (dB)", "SSIM", "L1", "L2",
            *(["FD-EffNetLite0"] if fd else []), "top-1 (%)", "usage (%)", "perplexity", "train L2",
            "train CLIP", "train s"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name in (n for n in VARIANTS if n in results):  # canonical order, whatever the run order
        runs = list(results[name].values())
        s = VARIANTS[name]
        m = {k: [r["metrics"].get(k) for r in runs] for k in runs[0]["metrics"]}
        m["fd_effnet"] = [r["metrics"].get("fd_effnet") for r in runs]
        f = {k: [r["train"]["final"].get(k) for r in runs] for k in ("l2", "clip")}
        obj = "+".join(k for k in ("rec", "clip") if s[k])
        width = s["code_dim"] if s["quantizer_type"] == "multi" else LATENT_WIDTH
        cells = [f"`{name}`", s["group"], s["quantizer_type"], f"{s['num_codebooks']}x{s['codebook_size']}x{width}d",
                 obj, fmt(m["psnr"]), fmt(m["ssim"], "{:.3f}"), fmt(m["l1"], "{:.4f}"), fmt(m["l2"], "{:.4f}"),
                 *([fmt(m["fd_effnet"], "{:.1f}")] if fd else []), fmt(m["zero_shot_top1"], "{:.1f}", 100),
                 fmt(m["usage"], "{:.1f}", 100), fmt(m["perplexity"], "{:.0f}"), fmt(f["l2"], "{:.4f}"),
                 fmt(f["clip"], "{:.3f}"), fmt([r["train"]["train_s"] for r in runs], "{:.0f}")]
        lines.append("| " + " | ".join(cells) + " |")
    seeds = sorted({sd for runs in results.values() for sd in runs})
    if len(seeds) > 1:  # the spread behind the means: one cell per run
        lines += ["", "Per run (PSNR dB / top-1 % / test-code perplexity):", "",
                  "| variant | " + " | ".join(f"seed {sd}" for sd in seeds) + " |", "|---|" + "---|" * len(seeds)]
        for name in (n for n in VARIANTS if n in results):
            cells = [(f"{r['metrics']['psnr']:.2f} / {100 * r['metrics']['zero_shot_top1']:.1f} / "
                      f"{r['metrics']['perplexity']:.0f}") if (r := results[name].get(sd)) else "-" for sd in seeds]
            lines.append(f"| `{name}` | " + " | ".join(cells) + " |")
    missing = [f"{v} seed {sd}" for v in args.variants for sd in args.seeds if sd not in results.get(v, {})]
    budget = (f"- Command: `{command}`\n- Budget per variant: {args.steps} steps x batch {args.batch_size} "
              f"({args.steps * args.batch_size / 60000:.2f} epochs of the 60k train images), AdamW lr {args.lr} "
              f"(betas 0.9/0.95, wd 0.02, eps 1e-6), warm-up {args.warmup_frac:.0%} then cosine to 0.1x, grad clip 10; "
              f"seeds {', '.join(map(str, args.seeds))} (model init, data order and caption templates; one run per seed and "
              f"variant, cells are mean ± sample sd over seeds when there are several); torch threads {args.threads}.\n"
              f"- Model: preset `tiny` with overrides `{json.dumps(MODEL)}`, latent width {LATENT_WIDTH}, "
              f"{TOTAL_ENTRIES} entries in total, 32x32 input (28x28 + black padding) -> 2x2 = 4 positions per image.\n"
              f"- Evaluation: first {args.eval_images} Fashion-MNIST test images; PSNR/SSIM/L1/L2 on the 28x28 content of "
              f"the hard-code reconstruction (`idx_to_img(img_to_idx(x))`, L1/L2 on the [-1, 1] scale); top-1 = "
              f"prompt-ensemble classifier over the {len(TEMPLATES)} TRAINING templates (classes seen in training: "
              f"not zero-shot in the paper's sense); usage = share of entries used by the test codes, mean over "
              f"sub-codebooks; perplexity = exp(entropy) per sub-codebook, mean. train L2 / CLIP = mean over the last "
              f"50 steps (L2 is logged even when its weight is 0; CLIP only when the loss is on).\n")
    if fd:
        budget += (f"- FD-EffNetLite0: Frechet distance of EfficientNet-Lite0 pooled features (input upsampled to 224) "
                   f"between the first {args.fd_images} test images and their reconstructions; NOT rFID.\n")
    if missing:
        budget += f"- Not (yet) run: {', '.join(missing)}.\n"
    total = sum(r["train"]["train_s"] + r["metrics"]["eval_s"] for runs in results.values() for r in runs.values())
    budget += (f"- Wall time of the runs shown: {total / 60:.1f} min (train + eval) on a 2-core CPU shared with other "
               f"jobs: `train s` measures the machine's load more than the variant's cost.\n")
    return f"{BEGIN}\n" + "\n".join(lines) + "\n\n" + budget + END


def write_out(path: Path, block: str) -> None:
    text = path.read_text() if path.exists() else ""
    if BEGIN in text and END in text:
        text = text[: text.index(BEGIN)] + block + text[text.index(END) + len(END):]
    else:
        text = "# UniTok ablations at small scale (Fashion-MNIST)\n\n" + block + "\n" + text
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def main(argv: List[str] | None = None) -> Dict[str, Dict[int, Dict]]:
    """Runs (or reuses) every variant x seed; returns {variant: {seed: {settings, train, metrics}}}."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--warmup-frac", type=float, default=0.05)
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    p.add_argument("--eval-images", type=int, default=2000)
    p.add_argument("--eval-batch", type=int, default=500)
    p.add_argument("--fd-images", type=int, default=0, help="Frechet distance on EfficientNet-Lite0 features (0 = off)")
    p.add_argument("--out", type=Path, default=Path("docs/ablations.md"))
    p.add_argument("--results-json", type=Path, default=None,
                   help="cache of finished variants: reused when their settings match (resume)")
    p.add_argument("--data-dir", type=Path, default=DATA_DIR)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--log-every", type=int, default=50)
    args = p.parse_args(argv)
    if args.steps < 1 or args.batch_size < 1 or args.eval_images < 1:
        p.error("--steps, --batch-size and --eval-images must be >= 1")
    args.fd_images = min(args.fd_images, args.eval_images)
    torch.set_num_threads(args.threads)
    command = "python benchmarks/ablations/fmnist.py " + " ".join(sys.argv[1:] if argv is None else argv)
    from unitok.tokenizer import tokenize
    train_data = load_split(args.data_dir, "train")
    test_images, test_labels = load_split(args.data_dir, "t10k")
    test_data = (test_images[: args.eval_images], test_labels[: args.eval_images])
    caption_tokens = tokenize([t.format(c) for c in CLASSES for t in TEMPLATES])  # row = class * T + template
    settings = {k: v for k, v in vars(args).items()
                if k in ("steps", "batch_size", "lr", "warmup_frac", "eval_images", "fd_images")}
    settings["model"] = json.loads(json.dumps(MODEL))
    cache = json.loads(args.results_json.read_text()) if args.results_json and args.results_json.exists() else {}
    results, fd_cache = {}, {}
    for seed in args.seeds:
        for name in args.variants:
            key, run = f"{name}@seed{seed}", None
            if key in cache and cache[key]["settings"] == settings:
                print(f"[{key}] reused from {args.results_json}", flush=True)
                run = cache[key]
            else:
                spec = VARIANTS[name]
                model = build_model(spec, seed)
                print(f"[{key}] {spec} ({sum(q.numel() for q in model.parameters()) / 1e6:.2f}M params)", flush=True)
                tr = train(model, spec, train_data, caption_tokens, args, seed)
                metrics = evaluate(model, test_data, caption_tokens, args, fd_cache)
                print(f"[{key}] {json.dumps({k: round(v, 4) for k, v in metrics.items()})}", flush=True)
                run = cache[key] = {"settings": settings, "train": tr, "metrics": metrics}
                if args.results_json:
                    args.results_json.write_text(json.dumps(cache, indent=1))
            results.setdefault(name, {})[seed] = run
            write_out(args.out, render(results, args, command))
    return results


if __name__ == "__main__":
    main()
