"""UniTok tokenizer trainer: one process per rank (torchrun / deepspeed launcher / plain python).

Setup -> automatic resume from the newest complete checkpoint -> steps (generator update, logit
scale clamp, optional discriminator update) -> periodic logs, grids and checkpoints -> export of
a `UniTok.from_pretrained` folder and a summary.json.
"""
from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from pathlib import Path
from typing import Dict, Optional

import torch
from torch.nn.parallel import DistributedDataParallel as DDP
from tqdm import tqdm

from unitok import UniTok

from . import checkpoint as ckpt
from .config import TrainConfig
from .data import ShardedLoader
from .distributed import all_reduce_mean, barrier, cleanup, gather_objects, init_distributed
from .monitor import Monitor
from .objective import build_loss, make_adversary
from .optim import build_optimizers, build_scheduler, clamp_logit_scale
from .preview import heldout_images, reconstruct, reconstruction_metrics
from .sources import build_source


class TokenizerTrainer:
    def __init__(self, cfg: TrainConfig):
        cfg.validate()
        self.cfg = cfg
        self.dist = init_distributed()
        if cfg.num_threads > 0:
            torch.set_num_threads(cfg.num_threads)
        self.out = Path(cfg.output_dir)
        self.ckpt_dir = self.out / "checkpoints"
        if self.dist.is_main:
            self.ckpt_dir.mkdir(parents=True, exist_ok=True)
        dev = self.dist.device
        self.bf16 = cfg.precision == "bf16" or (cfg.precision == "auto" and dev.type == "cuda")

        torch.manual_seed(cfg.seed)                      # identical initial weights on every rank
        self.model = UniTok(cfg.model_config()).to(dev).train()
        if cfg.grad_ckpt:
            self.model.gradient_checkpointing_enable()
        self.loss, self.lpips_status = build_loss(cfg.loss, cfg.data.image_size)
        self.loss.to(dev)
        self.adv = make_adversary(cfg.loss, cfg.steps, dev)
        torch.manual_seed(cfg.seed + 1 + self.dist.rank)  # per-rank stream for augmentation
        self.ddp = self.model
        if self.dist.distributed:
            self.ddp = DDP(self.model, device_ids=[dev.index] if dev.type == "cuda" else None)
            if self.adv is not None:
                self.adv.wrapped = DDP(self.adv.disc, device_ids=[dev.index] if dev.type == "cuda" else None)
        self.opt, self.disc_opt = build_optimizers(self.model, self.adv.disc if self.adv else None, cfg.optim)
        o = cfg.optim
        self.sched = build_scheduler(self.opt, cfg.steps, o.warmup_frac, o.lr_end_ratio)
        self.disc_sched = (build_scheduler(self.disc_opt, max(1, cfg.steps - self.adv.start), o.warmup_frac,
                                           o.lr_end_ratio) if self.adv else None)

        from unitok.tokenizer import tokenize
        self.source = build_source(cfg.data)
        ctx = self.model.config.text_context_length
        self.loader = ShardedLoader(self.source, cfg.data, cfg.batch_size, lambda t: tokenize(t, ctx),
                                    cfg.seed, self.dist.rank, self.dist.world_size)
        self.preview = heldout_images(cfg.data, self.source)
        self.step = 0
        self.resumed_from: Optional[str] = None
        self.heldout_before: Optional[Dict] = None     # held-out metrics of the initial weights
        self._resume()
        self.monitor = Monitor(self.out, self.dist.is_main, self.step)

    # ------------------------------------------------------------------ checkpoints
    def _usage_counters(self) -> Dict[str, int]:
        return {n: m.vocab_usage_record_times for n, m in self.model.named_modules()
                if hasattr(m, "vocab_usage_record_times")}

    def save_checkpoint(self) -> None:
        data_states = gather_objects(self.loader.state_dict())
        rng_states = gather_objects(ckpt.rng_state())
        if self.dist.is_main:
            state = {"step": self.step, "config": self.cfg.to_dict(), "world_size": self.dist.world_size,
                     "model": self.model.state_dict(), "optimizer": self.opt.state_dict(),
                     "scheduler": self.sched.state_dict(), "usage_counters": self._usage_counters(),
                     "disc": self.adv.disc.state_dict() if self.adv else None,
                     "disc_optimizer": self.disc_opt.state_dict() if self.adv else None,
                     "disc_scheduler": self.disc_sched.state_dict() if self.adv else None,
                     "data": data_states, "rng": rng_states, "heldout_before": self.heldout_before}
            ckpt.atomic_save(state, ckpt.checkpoint_path(self.ckpt_dir, self.step))
            ckpt.prune(self.ckpt_dir, self.cfg.keep_ckpts)
        barrier()

    def _resume(self) -> None:
        state = ckpt.load_latest(self.ckpt_dir)
        if state is None:
            return
        if state["world_size"] != self.dist.world_size:
            raise RuntimeError(f"{state['path']} was written by {state['world_size']} ranks, this run has "
                               f"{self.dist.world_size}: exact resume needs the same world size")
        self.model.load_state_dict(state["model"])
        self.opt.load_state_dict(state["optimizer"])
        self.sched.load_state_dict(state["scheduler"])
        for name, module in self.model.named_modules():
            if name in state["usage_counters"]:
                module.vocab_usage_record_times = state["usage_counters"][name]
        if self.adv is not None:
            if state["disc"] is None:
                raise RuntimeError(f"{state['path']} has no discriminator but this run trains with a GAN")
            self.adv.disc.load_state_dict(state["disc"])
            self.disc_opt.load_state_dict(state["disc_optimizer"])
            self.disc_sched.load_state_dict(state["disc_scheduler"])
        self.loader.load_state_dict(state["data"][self.dist.rank])
        ckpt.set_rng_state(state["rng"][self.dist.rank])
        self.step = state["step"]
        self.heldout_before = state.get("heldout_before")
        self.resumed_from = state["path"]
        if self.dist.is_main:
            print(f"[train] resumed from {state['path']} at step {self.step}")

    # ------------------------------------------------------------------ one step
    def train_step(self) -> Dict[str, torch.Tensor]:
        dev = self.dist.device
        images, tokens, _ = self.loader.next_batch()
        images, tokens = images.to(dev), tokens.to(dev)
        autocast = torch.autocast(dev.type, dtype=torch.bfloat16) if self.bf16 else contextlib.nullcontext()
        with autocast:
            out = self.ddp(images, text=tokens)
        ramp, blur = self.adv.schedule(self.step) if self.adv is not None else (0.0, 0.0)
        gen = self.loss.generator_step(out, images, discriminator=self.adv.disc if self.adv else None,
                                       last_layer=self.model.decoder.up_conv4.conv2.weight,
                                       gan_ramp=ramp, blur_schedule=blur)
        total, metrics = gen.total, dict(gen.terms)
        self.opt.zero_grad(set_to_none=True)
        total.backward()
        metrics["grad_norm"] = torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.optim.grad_clip)
        self.opt.step()
        self.sched.step()
        clamp_logit_scale(self.model, self.cfg.optim.logit_scale_max)
        if ramp > 0:
            with autocast:
                disc = self.loss.discriminator_step(self.adv.wrapped, images, out["img_rec"].detach().float(), blur)
            self.disc_opt.zero_grad(set_to_none=True)
            disc.total.backward()
            torch.nn.utils.clip_grad_norm_(self.adv.disc.parameters(), self.cfg.optim.grad_clip)
            self.disc_opt.step()
            self.disc_sched.step()
            metrics.update({f"disc_{k}": v for k, v in disc.terms.items()})
        metrics["loss"] = metrics.pop("total")
        metrics["codebook_usage_pct"] = out["codebook_usages"]
        return {k: v.detach().float() if torch.is_tensor(v) else torch.tensor(float(v)) for k, v in metrics.items()}

    # ------------------------------------------------------------------ loop
    def train(self) -> Dict:
        cfg, main = self.cfg, self.dist.is_main
        if main:
            n_params = sum(p.numel() for p in self.model.parameters())
            print(f"[train] {n_params / 1e6:.2f}M params, {self.dist.world_size} rank(s), {len(self.source)} samples, "
                  f"{cfg.steps} steps x {cfg.batch_size}/rank, {'bf16' if self.bf16 else 'fp32'}, "
                  f"LPIPS {self.lpips_status}, GAN {self.adv.status if self.adv else cfg.gan_note}")
        if self.step == 0:
            self.heldout_before = reconstruction_metrics(self.model, self.preview)
        bar = tqdm(total=cfg.steps, initial=self.step, disable=not main, desc="train", dynamic_ncols=True)
        t0, last = time.time(), {}
        while self.step < cfg.steps:
            metrics = self.train_step()
            self.step += 1
            bar.update(1)
            if self.step % cfg.log_every == 0 or self.step == cfg.steps:
                keys = sorted(metrics)
                reduced = all_reduce_mean(torch.stack([metrics[k] for k in keys]))
                last = {k: float(v) for k, v in zip(keys, reduced)}
                last.update(lr=self.sched.get_last_lr()[0], logit_scale=float(self.model.logit_scale.detach().exp()),
                            skipped_images=self.loader.skipped_total(), epoch=self.loader.state.epoch,
                            elapsed_s=round(time.time() - t0, 2))
                self.monitor.log(self.step, last)
                bar.set_postfix(loss=f"{last['loss']:.4f}", l2=f"{last['l2']:.4f}")
            if main and (self.step % cfg.grid_every == 0 or self.step == cfg.steps):
                self.monitor.grid(self.step, self.preview[:8], reconstruct(self.model, self.preview[:8]))
            if self.step % cfg.ckpt_every == 0 or self.step == cfg.steps:
                self.save_checkpoint()
            if self.step == cfg.crash_after_step:
                print(f"[test] SIGKILL after step {self.step}", flush=True)
                os.kill(os.getpid(), signal.SIGKILL)
        bar.close()
        summary = self._finish(self.heldout_before, last)
        cleanup()
        return summary

    def _finish(self, before: Optional[Dict], last: Dict) -> Dict:
        summary: Dict = {}
        if self.dist.is_main:
            after = reconstruction_metrics(self.model, self.preview)
            summary = {"steps": self.step, "world_size": self.dist.world_size, "resumed_from": self.resumed_from,
                       "heldout_before": before, "heldout_after": after, "last_metrics": last,
                       "skipped_images": dict(self.loader.state.skipped), "lpips": self.lpips_status,
                       "gan": self.adv.status if self.adv else self.cfg.gan_note, "config": self.cfg.to_dict()}
            if self.cfg.export:
                export = self.out / "export"
                self.model.save_pretrained(export)
                summary["export"] = str(export)
            (self.out / "summary.json").write_text(json.dumps(summary, indent=2))
            self.monitor.close()
            print(f"[train] done: held-out PSNR {before['heldout_psnr'] if before else float('nan'):.2f} -> "
                  f"{after['heldout_psnr']:.2f} dB; outputs in {self.out}")
        barrier()
        return summary
