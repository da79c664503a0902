"""Learning curves of a training run: loss parts and held-out scores against steps, as one PNG.

    python -m trainers.mllm.curves plot RUN_DIR [--out PNG]

Reads RUN_DIR/metrics.jsonl (any run of trainers.mllm); held-out panels appear when the run
evaluated during training (keys "eval/vqa_<kind>", "eval/t2i_<check>"), each with its chance
level dashed in the same colour.
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Optional

from data_recipes.demo.language import CHANCE
from evaluators.mllm.demo_skills import T2I_CHANCE

from .metrics import read_metrics

LOSSES = ("loss", "text_loss", "image_loss")


def _series(records: list[dict], key: str) -> tuple[list[int], list[float]]:
    rows = [(r["step"], r[key]) for r in records if r.get(key) is not None]
    return [s for s, _ in rows], [v for _, v in rows]


def plot_run(run_dir: str | Path, out: Optional[str | Path] = None) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    run_dir = Path(run_dir)
    records = read_metrics(run_dir / "metrics.jsonl")
    if not records:
        raise ValueError(f"{run_dir / 'metrics.jsonl'} has no records")
    keys = sorted({k for r in records for k in r})
    vqa = [k for k in keys if k.startswith("eval/vqa_")]
    t2i = [k for k in keys if k.startswith("eval/t2i_")]
    panels = 1 + bool(vqa) + bool(t2i)
    fig, axes = plt.subplots(1, panels, figsize=(5.5 * panels, 4), squeeze=False)
    ax = axes[0][0]
    for key in LOSSES:
        steps, values = _series(records, key)
        if steps:
            ax.plot(steps, values, label=key, linewidth=1)
    ax.set(xlabel="step", ylabel="loss", title=f"{run_dir.name}: training loss")
    ax.set_yscale("log")
    ax.legend(fontsize=8)
    for ax, group, chance, title in ((axes[0][1], vqa, CHANCE, "held-out VQA accuracy") if vqa else (None,) * 4,
                                     (axes[0][-1], t2i, T2I_CHANCE, "held-out T2I checks") if t2i else (None,) * 4):
        if ax is None:
            continue
        for i, key in enumerate(group):
            colour = f"C{i % 10}"
            steps, values = _series(records, key)
            name = key.split("_", 1)[1]
            ax.plot(steps, values, marker="o", markersize=3, linewidth=1, color=colour, label=name)
            if name in chance:
                ax.axhline(chance[name], color=colour, linestyle="--", linewidth=0.7)
        ax.set(xlabel="step", ylabel="accuracy (dashed: chance)", title=title, ylim=(0, 1.02))
        ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    path = Path(out) if out else run_dir / "curves.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    plot = sub.add_parser("plot", help="write RUN_DIR/curves.png (or --out)")
    plot.add_argument("run_dir", type=Path)
    plot.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    print(f"wrote {plot_run(args.run_dir, args.out)}")


if __name__ == "__main__":
    main()
