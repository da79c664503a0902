"""The training run: set-up, the step loop, checkpoints, resume and export."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch
import torch.distributed as dist

from mllm.token_layout import TokenLayout
from unitok.devices import resolve_attn_implementation

from . import checkpoint

from .build import Trainable, count_parameters, load_llm, load_mllm, new_mllm, set_trainable
from .config import TrainConfig
from .data import StepBatches, ensure_pretokenized, packed_rows_as_one, to_device
from .engine import build_engine, current_lr, deepspeed_config, init_distributed, use_bf16
from .evaluation import DemoEvaluator
from .export import export
from .metrics import FlopCounter, MetricsLogger, device_peak
from .perplexity import heldout_ids, heldout_text, log_perplexity
from .text_tokenizer import load_or_build_tokenizer

REPO = Path(__file__).resolve().parents[2]
IGNORE = -100


def ensure_unitok(cfg: TrainConfig, rank: int) -> None:
    """The demo UniTok is trained by train/tokenizer.py when its export is missing (rank 0)."""
    if rank == 0 and not Path(cfg.unitok).exists():
        script = REPO / "train" / "tokenizer.py"
        if cfg.unitok != TrainConfig.unitok or not script.exists():
            raise FileNotFoundError(f"UniTok not found at {cfg.unitok}; pass --unitok PATH "
                                    "(a save_pretrained folder or an official .pth)")
        print(f"[setup] {cfg.unitok} missing: running {script} to train the demo tokenizer", flush=True)
        subprocess.run([sys.executable, str(script)], check=True, cwd=os.getcwd())
        if not Path(cfg.unitok).exists():
            raise FileNotFoundError(f"{script} finished but {cfg.unitok} does not exist")
    dist.barrier()


def load_text_side(cfg: TrainConfig, rank: int):
    """(pretrained LLM or None, text tokenizer). A new model on `--llm_path` uses that LLM's own
    tokenizer (unless --text_tokenizer names one); otherwise the tokenizer folder, where rank 0
    first builds the demo tokenizer when it is missing."""
    if cfg.llm_path and not cfg.init_from:
        llm, tokenizer = load_llm(cfg.llm_path)
        if cfg.text_tokenizer:
            from transformers import AutoTokenizer
            tokenizer = AutoTokenizer.from_pretrained(cfg.text_tokenizer)
        return llm, tokenizer
    if rank == 0:
        load_or_build_tokenizer(cfg.tokenizer_path)
    dist.barrier()
    return None, load_or_build_tokenizer(cfg.tokenizer_path)


def build_model(cfg: TrainConfig, tokenizer, rank: int, attn_implementation: str = "sdpa", llm=None):
    """The model to train; a new one built on `llm` takes its token layout from `tokenizer`
    (which may get <boi>/<eoi> added). The tokenizer must match the model's layout."""
    from data_recipes.recipe import load_recipe
    from unitok import UniTok

    if cfg.init_from:
        model = load_mllm(cfg.init_from)
    else:
        unitok = UniTok.from_pretrained(cfg.unitok)
        model = new_mllm(cfg.model_preset, unitok, len(tokenizer), load_recipe(cfg.recipe).image_positions,
                         llm, tokenizer, cfg.seed)
    if len(tokenizer) > model.config.vocab_size:
        raise ValueError(f"text tokenizer has {len(tokenizer)} tokens but the model only {model.config.vocab_size}")
    TokenLayout.of(model.config).check_tokenizer(tokenizer)
    model.set_attn_implementation(attn_implementation)
    if cfg.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model.config.use_cache = False
    parts = Trainable(cfg.train_llm and not cfg.lora, cfg.train_projection, cfg.train_projector, cfg.train_depth_head)
    if cfg.lora:
        from .lora import apply_lora, enable_adapters_grad
        model = apply_lora(model, cfg.lora_r, cfg.lora_alpha, cfg.lora_dropout)
        set_trainable(model, parts)
        enable_adapters_grad(model)
    else:
        set_trainable(model, parts)
    return model


def _batch_counts(batch: dict, image_len: int) -> tuple[list[int], int, int, int]:
    ids, labels = batch["input_ids"], batch["labels"]
    is_image = ids == -200
    if "cu_seqlens" in batch:  # packed: attention stays inside each sample, so count per sample
        cu = batch["cu_seqlens"].long()
        lengths = (cu[1:] - cu[:-1]).tolist()
    else:
        lengths = (batch["attention_mask"].sum(1) + is_image.sum(1) * (image_len - 1)).tolist()
    generated = int((is_image & (labels == -200)).sum()) * image_len
    text_targets = int((labels[:, 1:] >= 0).sum())
    return lengths, int(is_image.sum()) * image_len, generated, text_targets


def add_masked_image(batch: dict, num_codebooks: int, image_len: int) -> dict:
    """Give an image-free padded micro-batch one fully masked image slot at the end of row 0
    (attention mask 0, label IGNORE): it changes no output and no loss, but every rank then runs
    the same code path as with images. ZeRO-3 gathers parameters module by module, and ranks that
    diverge (seen with LoRA under ZeRO-3 even with the model's own dummy embedder pass) deadlock."""
    if batch["image_codes"] is not None or batch["attention_mask"].ndim != 2:
        return batch
    pad = lambda x, v: torch.nn.functional.pad(x, (0, 1), value=v)  # noqa: E731
    ids, labels, mask = pad(batch["input_ids"], 0), pad(batch["labels"], IGNORE), pad(batch["attention_mask"], 0)
    ids[0, -1] = -200
    codes = torch.zeros(1, num_codebooks, image_len, dtype=torch.long)
    return {**batch, "input_ids": ids, "labels": labels, "attention_mask": mask, "image_codes": codes}


def _write_pictures(out: Path, evaluator: DemoEvaluator) -> None:
    from .curves import plot_run
    print(f"[done] learning curves -> {plot_run(out)}", flush=True)
    grid = evaluator.write_grid(out / "samples.png")
    if grid is not None:
        print(f"[done] generated images of the last evaluation -> {grid}", flush=True)


def train(cfg: TrainConfig) -> None:
    rank, world, device = init_distributed()
    torch.manual_seed(cfg.seed)
    out = Path(cfg.out)
    if rank == 0:
        out.mkdir(parents=True, exist_ok=True)
        (out / "train_config.json").write_text(cfg.to_json())
        print(f"[setup] {world} process(es) on {device}; config -> {out / 'train_config.json'}", flush=True)
    ensure_unitok(cfg, rank)
    llm, tokenizer = load_text_side(cfg, rank)
    ensure_pretokenized(cfg, rank)

    bf16 = use_bf16(cfg.bf16)
    attn = resolve_attn_implementation(cfg.attn_implementation, device, torch.bfloat16 if bf16 else torch.float32)
    model = build_model(cfg, tokenizer, rank, attn, llm)
    del llm
    layout = TokenLayout.of(model.config)
    batches = StepBatches(cfg, tokenizer, rank, world, layout)
    evaluator = DemoEvaluator(cfg, batches.recipe, tokenizer)
    accumulation = cfg.grad_accumulation(world)
    ds_config = deepspeed_config(str(cfg.deepspeed_json()), cfg.micro_batch, accumulation, world, cfg.grad_clip, bf16)
    flops = FlopCounter(model)
    total_params, trainable_params = count_parameters(model)
    engine, optimizer, _ = build_engine(model, ds_config, cfg.lr, cfg.weight_decay, cfg.warmup_steps, cfg.steps,
                                        cfg.min_lr_ratio)
    if rank == 0:
        print(f"[setup] params {total_params / 1e6:.2f}M, trainable {trainable_params / 1e6:.2f}M; "
              f"ZeRO-{engine.zero_optimization_stage()} from {cfg.deepspeed_json()}; bf16={bf16}; attention {attn}; "
              f"global batch {cfg.global_batch} = {cfg.micro_batch} x {accumulation} x {world}", flush=True)

    start = 0
    if cfg.resume:
        state = checkpoint.load_latest(engine, out)
        if state is not None:
            start = batches.check_state(state["data"])
            if rank == 0:
                print(f"[resume] from checkpoint step {start} ({checkpoint.latest_complete(out)[1]})", flush=True)
    peak = device_peak(device, cfg.peak_tflops) * world
    logger = MetricsLogger(out, enabled=rank == 0)
    model_config = engine.module.get_base_model().config if cfg.lora else engine.module.config
    image_len, num_codebooks = model_config.image_positions, model_config.num_codebooks

    ppl_ids = heldout_ids(tokenizer, heldout_text(cfg.ppl_text), cfg.ppl_tokens) if cfg.ppl_text else None
    if ppl_ids and start == 0:
        log_perplexity(logger, 0, engine.module, ppl_ids, layout.bos)
    engine.train()
    for step in range(start, cfg.steps):
        t0, lr = time.perf_counter(), current_lr(optimizer)   # the lr this step uses
        # loss, text loss x targets, image loss x targets, tokens, flops, text targets, image targets
        sums = torch.zeros(7, dtype=torch.float64)
        for micro in range(accumulation):
            batch = batches.micro_batch(step, micro)
            lengths, image_pos, generated, _ = _batch_counts(batch, image_len)
            if attn == "flash_attention_2" and "cu_seqlens" in batch:
                batch = packed_rows_as_one(batch)   # the varlen kernel instead of the 4-D mask
            batch.pop("cu_seqlens", None)
            batch = add_masked_image(batch, num_codebooks, image_len)
            outputs = engine(**to_device(batch, device))
            engine.backward(outputs.loss)
            engine.step()
            parts = outputs.loss_parts
            nt, ni = parts.num_text_targets, parts.num_image_targets
            sums += torch.tensor([outputs.loss.item(), parts.text_loss.item() * nt, parts.image_loss.item() * ni,
                                  sum(lengths), flops.step_flops(lengths, image_pos, generated), nt, ni],
                                 dtype=torch.float64)
        elapsed = time.perf_counter() - t0
        dist.all_reduce(sums)
        n = accumulation * world
        done = step + 1
        held_out = evaluator(engine.module) if evaluator.due(done) else {}
        if done % cfg.log_every == 0 or done == cfg.steps or held_out:
            logger.log({**held_out, "step": done, "loss": sums[0].item() / n, "text_loss": sums[1].item() / max(1, sums[5].item()),
                        "image_loss": sums[2].item() / max(1, sums[6].item()), "lr": lr,
                        "tokens": int(sums[3]), "tokens_per_s": sums[3].item() / elapsed,
                        "flops_per_s": sums[4].item() / elapsed, "mfu": sums[4].item() / elapsed / peak,
                        "step_time_s": elapsed})
        if done % cfg.save_every == 0 or done == cfg.steps:
            checkpoint.save(engine, out, done, {"data": batches.state_dict(done)}, cfg.keep_checkpoints, rank)
        if cfg.crash_after_step is not None and done == cfg.crash_after_step and rank == 0:
            print(f"[test] SIGKILL after step {done}", flush=True)
            os.kill(os.getpid(), signal.SIGKILL)

    if ppl_ids:
        log_perplexity(logger, cfg.steps, engine.module, ppl_ids, layout.bos)
    lora = dict(r=cfg.lora_r, alpha=cfg.lora_alpha, dropout=cfg.lora_dropout) if cfg.lora else None
    path = export(engine.module, model_config, out / "export", tokenizer, cfg.unitok, rank, lora,
                  info={"stage": cfg.stage, "steps": cfg.steps, "recipe": cfg.recipe})
    logger.close()
    if rank == 0:
        print(f"[done] exported to {path}", flush=True)
        _write_pictures(out, evaluator)
    dist.barrier()
