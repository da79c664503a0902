"""`python -m mllm.plan`'s prediction against a measured training step on this machine (fp32, one
process, AdamW: the plan's ZeRO-0 case), for small presets and several workloads.

    python benchmarks/plan_vs_measured.py [--presets tiny cpu-small] [--json runs/plan_vs_measured.json]

Measured: the peak of live tensor bytes during a steady-state step (mllm/plan/measure.py), and the
bytes the forward pass leaves for backward.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from mllm import UniTokMLLMConfig, UniTokMLLMForCausalLM  # noqa: E402
from mllm.plan import TrainSetup, plan_training  # noqa: E402
from mllm.plan.measure import measure_training_step, synthetic_training_batch  # noqa: E402

# (rows, seq, images, generated, gradient checkpointing)
WORKLOADS = [(2, 512, 1, 1, False), (2, 512, 1, 0, False), (2, 512, 0, 0, False), (2, 512, 1, 1, True)]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--presets", nargs="+", default=["tiny", "cpu-small"])
    p.add_argument("--json", type=Path, default=Path("runs/plan_vs_measured.json"))
    args = p.parse_args(argv)
    mib, rows = 1024 ** 2, []
    print(f"{'preset':>9} {'rows x seq':>10} {'img':>3} {'gen':>3} {'ckpt':>4} | {'activations MiB':>22} | "
          f"{'peak MiB':>22}")
    print(f"{'':>34} | {'plan':>7} {'meas.':>7} {'diff':>6} | {'plan':>7} {'meas.':>7} {'diff':>6}")
    for preset in args.presets:
        config = UniTokMLLMConfig.from_preset(preset)
        for batch_rows, seq, images, generated, checkpointing in WORKLOADS:
            torch.manual_seed(0)
            model = UniTokMLLMForCausalLM(config)
            model.model.multi_embedder.quantizer.requires_grad_(False)
            if checkpointing:
                model.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": False})
            measured = measure_training_step(model, synthetic_training_batch(config, batch_rows, seq, images, generated))
            plan = plan_training(config, TrainSetup(gpus=1, zero=0, precision="fp32", micro_batch=batch_rows, seq=seq,
                                                    images=images, generated=generated,
                                                    gradient_checkpointing=checkpointing))
            row = {"preset": preset, "rows": batch_rows, "seq": seq, "images": images, "generated": generated,
                   "gradient_checkpointing": checkpointing, "plan_activations": plan.activations.total,
                   "measured_activations": measured.activations, "plan_peak": plan.peak, "measured_peak": measured.peak}
            rows.append(row)
            act_diff = plan.activations.total / measured.activations - 1
            peak_diff = plan.peak / measured.peak - 1
            print(f"{preset:>9} {f'{batch_rows}x{seq}':>10} {images:>3} {generated:>3} {'on' if checkpointing else 'off':>4} | "
                  f"{plan.activations.total / mib:>7.1f} {measured.activations / mib:>7.1f} {act_diff:>+6.1%} | "
                  f"{plan.peak / mib:>7.1f} {measured.peak / mib:>7.1f} {peak_diff:>+6.1%}", flush=True)
            del model
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"rows": rows, "load_average": os.getloadavg()}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
