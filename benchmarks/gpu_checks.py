"""The GPU checks in one go, for a machine with a CUDA GPU (it also runs on the CPU, where the
flash-attention check reports why it is skipped):

1. bf16 training steps through the trainer's DeepSpeed path (ZeRO-2, client AdamW): losses finite
   and falling, step time, peak memory against `python -m mllm.plan`'s prediction;
2. flash-attention 2 on packed batches (the varlen kernel, rows joined as the trainer does) against
   SDPA with the block-diagonal mask: same loss, time of forward + backward;
3. batched evaluation: questions/s at several batch sizes and answers identical to batch size 1;
4. text-to-image generation with CFG: images/s per batch size, and seeded runs reproducing.

    python benchmarks/gpu_checks.py [--preset cpu-small] [--model MLLM --unitok UNITOK] [--device auto]

Without --model the tiny official-format MLLM of the parity fixtures (tests/fixtures) is the
evaluation model, with its tokenizer fixture.
Prints a table and writes --json (default runs/gpu_checks.json).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import torch  # noqa: E402

from mllm import UniTokMLLMConfig, UniTokMLLMForCausalLM  # noqa: E402
from unitok.devices import activate, flash_attention_2_usable, resolve_device, resolve_dtype  # noqa: E402

FIXTURES = REPO / "tests" / "fixtures"   # official-format tiny MLLM and UniTok, and photos


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _peak_reset(device):
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def _peak(device):
    return torch.cuda.max_memory_allocated(device) if device.type == "cuda" else None


def check_training(args, device):
    from mllm.plan import TrainSetup, plan_training
    from mllm.plan.measure import synthetic_training_batch
    from trainers.mllm.engine import build_engine, deepspeed_config, init_distributed

    init_distributed()
    torch.manual_seed(0)
    config = UniTokMLLMConfig.from_preset(args.preset)
    model = UniTokMLLMForCausalLM(config).to(device)
    model.model.multi_embedder.quantizer.requires_grad_(False)
    ds = deepspeed_config(str(REPO / "train" / "configs" / "zero2.json"), args.micro_batch, 1, 1, 1.0, bf16=True)
    engine, _, _ = build_engine(model, ds, lr=1e-3, weight_decay=0.0, warmup=1, total_steps=args.train_steps,
                                min_lr_ratio=0.1)
    batch = synthetic_training_batch(config, args.micro_batch, args.seq, device=device)
    losses, times = [], []
    _peak_reset(device)
    for _ in range(args.train_steps):
        _sync(device)
        start = time.perf_counter()
        loss = engine(**batch).loss
        engine.backward(loss)
        engine.step()
        _sync(device)
        times.append(time.perf_counter() - start)
        losses.append(loss.item())
    plan = plan_training(config, TrainSetup(gpus=1, zero=2, micro_batch=args.micro_batch, seq=args.seq))
    peak = _peak(device)
    ok = all(map(torch.isfinite, torch.tensor(losses))) and losses[-1] < losses[0]
    detail = (f"{args.preset}, {args.micro_batch}x{args.seq}, loss {losses[0]:.3f} -> {losses[-1]:.3f}, "
              f"{sorted(times)[len(times) // 2] * 1e3:.0f} ms/step")
    if peak is not None:
        detail += f", peak {peak / 2**30:.2f} GiB (plan {plan.peak / 2**30:.2f} GiB)"
    del engine, model
    return "bf16 training (DeepSpeed ZeRO-2)", detail, ok


def check_flash_attention(args, device):
    from data_recipes.collator import PackedCollator
    from data_recipes.sequences import TokenizedSample
    from trainers.mllm.data import packed_rows_as_one

    reason = flash_attention_2_usable(device, torch.bfloat16)
    if reason is not None:
        return "flash-attention 2, packed batches", f"skipped: {reason}", None
    torch.manual_seed(0)
    config = UniTokMLLMConfig.from_preset(args.preset)
    generator = torch.Generator().manual_seed(0)
    samples = []
    for i in range(8):
        text = torch.randint(5, 30000, (40 + 13 * i,), generator=generator).tolist()
        samples.append(TokenizedSample([1, *text], [-100, *text], [], "text"))
    batch = PackedCollator(max_length=args.seq, mask_dtype=torch.bfloat16)(samples)
    inputs = {k: batch[k] for k in ("input_ids", "labels", "position_ids", "attention_mask")}
    results = {}
    for attn in ("sdpa", "flash_attention_2"):
        torch.manual_seed(0)
        model = UniTokMLLMForCausalLM(config).to(device, torch.bfloat16)
        model.set_attn_implementation(attn)
        feed = packed_rows_as_one({**inputs, "cu_seqlens": batch["cu_seqlens"]}) if attn != "sdpa" else inputs
        feed = {k: v.to(device) for k, v in feed.items()}
        model(**feed).loss.backward()   # warm-up
        _sync(device)
        start = time.perf_counter()
        loss = model(**feed).loss
        loss.backward()
        _sync(device)
        results[attn] = (loss.item(), time.perf_counter() - start)
    diff = abs(results["sdpa"][0] - results["flash_attention_2"][0])
    detail = (f"loss sdpa {results['sdpa'][0]:.4f} vs varlen {results['flash_attention_2'][0]:.4f} "
              f"(|diff| {diff:.1e}); fwd+bwd {results['sdpa'][1] * 1e3:.1f} vs "
              f"{results['flash_attention_2'][1] * 1e3:.1f} ms")
    return "flash-attention 2, packed batches", detail, diff < 2e-2


def _pipeline(args, device, dtype):
    from mllm.pipeline import UnifiedPipeline

    model = args.model or str(FIXTURES / "mllm_tiny")
    unitok = args.unitok or (str(Path(model) / "unitok") if args.model else
                             str(FIXTURES / "tokenizer_tiny" / "official_ckpt_slim.pth"))
    return UnifiedPipeline.from_pretrained(model, unitok_path=unitok, device=device, dtype=dtype)


def check_batched_evaluation(args, device, dtype):
    from PIL import Image

    pipeline = _pipeline(args, device, dtype)
    folder = FIXTURES / "tokenizer_tiny" / "inputs"
    images = [Image.open(p).convert("RGB") for p in sorted(folder.iterdir())]
    questions = [f"What is in the image? ({i})" for i in range(args.questions)]
    rows = [images[i % len(images)] for i in range(args.questions)]
    answers, rates = {}, {}
    for batch in args.batch_sizes:
        pipeline.chat_batch(rows[:batch], questions[:batch], max_new_tokens=4)   # warm-up
        _sync(device)
        start = time.perf_counter()
        out = []
        for i in range(0, len(rows), batch):
            out += pipeline.chat_batch(rows[i:i + batch], questions[i:i + batch], max_new_tokens=args.max_new_tokens)
        _sync(device)
        rates[batch], answers[batch] = len(rows) / (time.perf_counter() - start), out
    first = args.batch_sizes[0]
    same = {b: sum(a == r for a, r in zip(answers[b], answers[first])) for b in args.batch_sizes}
    detail = ", ".join(f"b{b}: {rates[b]:.1f} q/s ({same[b]}/{len(rows)} = b{first})" for b in args.batch_sizes)
    return f"batched evaluation ({str(dtype).replace('torch.', '')})", detail, all(
        same[b] == len(rows) for b in args.batch_sizes)


def check_generation(args, device, dtype):
    pipeline = _pipeline(args, device, dtype)
    prompts = [f"a photo of object number {i}" for i in range(max(args.gen_batch_sizes))]
    parts, reproducible = [], True
    for batch in args.gen_batch_sizes:
        kwargs = dict(cfg_scale=3.0, seed=0, num_positions=args.positions, batch_size=batch)
        pipeline.generate_images(prompts[:batch], **{**kwargs, "num_positions": 4})   # warm-up
        _sync(device)
        start = time.perf_counter()
        _, codes = pipeline.generate_images(prompts[:batch], **kwargs)
        _sync(device)
        elapsed = time.perf_counter() - start
        _, again = pipeline.generate_images(prompts[:batch], **kwargs)
        reproducible &= bool(torch.equal(codes, again))
        parts.append(f"b{batch}: {batch / elapsed:.2f} img/s ({batch * args.positions / elapsed:.0f} positions/s)")
    return (f"text-to-image, CFG 3 ({str(dtype).replace('torch.', '')})",
            ", ".join(parts) + f", seeded runs equal: {reproducible}", reproducible)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="auto")
    p.add_argument("--preset", default="cpu-small", choices=UniTokMLLMConfig.presets(),
                   help="model for the training and flash-attention checks")
    p.add_argument("--micro-batch", type=int, default=4)
    p.add_argument("--seq", type=int, default=1024)
    p.add_argument("--train-steps", type=int, default=10)
    p.add_argument("--model", default=None, help="MLLM folder for evaluation / generation (default: the fixture)")
    p.add_argument("--unitok", default=None)
    p.add_argument("--questions", type=int, default=64)
    p.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 8, 32])
    p.add_argument("--max-new-tokens", type=int, default=16)
    p.add_argument("--gen-batch-sizes", type=int, nargs="+", default=[1, 8])
    p.add_argument("--positions", type=int, default=256)
    p.add_argument("--dtypes", nargs="+", default=["bfloat16", "float32"], help="for evaluation and generation")
    p.add_argument("--skip", nargs="*", default=[], choices=["training", "flash", "evaluation", "generation"])
    p.add_argument("--json", type=Path, default=REPO / "runs" / "gpu_checks.json")
    args = p.parse_args(argv)
    device = activate(resolve_device(args.device))
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    dtypes = [resolve_dtype(d) for d in args.dtypes]
    checks = []
    if "training" not in args.skip:
        checks.append(check_training(args, device))
    if "flash" not in args.skip:
        checks.append(check_flash_attention(args, device))
    for dtype in dtypes:
        if "evaluation" not in args.skip:
            checks.append(check_batched_evaluation(args, device, dtype))
        if "generation" not in args.skip:
            checks.append(check_generation(args, device, dtype))
    print(f"\nGPU checks on {name} ({device}), torch {torch.__version__}, load average {os.getloadavg()[0]:.2f}")
    print(f"{'check':<40} {'status':<8} result")
    for check, detail, ok in checks:
        status = "skipped" if ok is None else ("ok" if ok else "FAILED")
        print(f"{check:<40} {status:<8} {detail}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"device": name, "checks": [
        {"check": c, "result": d, "ok": ok} for c, d, ok in checks]}, indent=2))
    return 0 if all(ok is not False for _, _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
