"""Generate every missing image of a benchmark, batch by batch, so that a rerun continues."""
from __future__ import annotations

import json
import os
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from tqdm import tqdm

from evaluators.mllm.generation.jobs import GenerationJob
from evaluators.mllm.generation.sampling import ImageGenerator, SamplingSettings
from evaluators.mllm.provenance import code_version, sha256_of
from evaluators.mllm.ranks import RankInfo

SETTINGS_FILE = "generation_settings.json"


def _save_atomically(image, path: Path) -> None:
    # A kill mid-write must not leave a file that a rerun would take as finished.
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".tmp-{path.name}")
    image.save(temporary, format="JPEG" if path.suffix.lower() in (".jpg", ".jpeg") else "PNG")
    os.replace(temporary, path)


def _write_sidecars(output_dir: Path, jobs: list[GenerationJob]) -> None:
    for job in jobs:
        for relative, content in job.sidecar_files.items():
            target = output_dir / relative
            if not target.is_file():
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(content, encoding="utf-8")


def generate_benchmark(bench: str, jobs: list[GenerationJob], output_dir: Path, generator: ImageGenerator,
                       settings: SamplingSettings, batch_size: int = 1, ranks: RankInfo | None = None,
                       prompts_file: Path | None = None, recorded: dict[str, Any] | None = None) -> int:
    """Returns how many images this rank generated. Seeds are settings.seed + the index of a batch's
    first job, so a resumed run draws the same noise as an uninterrupted one with the same batch size."""
    ranks = ranks or RankInfo.from_env()
    output_dir.mkdir(parents=True, exist_ok=True)
    if ranks.is_main:
        _write_sidecars(output_dir, jobs)
        record = {"bench": bench, "sampling": asdict(settings), "batch_size": batch_size,
                  "seed_rule": "settings.seed + index of the batch's first image", "images": len(jobs),
                  "prompts_file": str(prompts_file) if prompts_file else None,
                  "prompts_sha256": sha256_of(prompts_file) if prompts_file else None,
                  "code_version": code_version(), "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                  **(recorded or {})}
        (output_dir / SETTINGS_FILE).write_text(json.dumps(record, indent=2), encoding="utf-8")

    # Batches (not images) are split over ranks so each batch keeps its seed whatever the world size.
    batches = [list(range(start, min(start + batch_size, len(jobs)))) for start in range(0, len(jobs), batch_size)]
    mine = ranks.shard(batches)
    todo = [batch for batch in mine if not all((output_dir / jobs[i].image_path).is_file() for i in batch)]
    made = 0
    with tqdm(total=sum(map(len, todo)), desc=f"{bench} rank {ranks.rank}", unit="img",
              position=ranks.rank) as progress:
        for batch in todo:
            images = generator.generate([jobs[i].prompt for i in batch], settings, settings.seed + batch[0])
            if len(images) != len(batch):
                raise RuntimeError(f"generator returned {len(images)} images for {len(batch)} prompts")
            for index, image in zip(batch, images):
                _save_atomically(image, output_dir / jobs[index].image_path)
            made += len(batch)
            progress.update(len(batch))
    return made
