"""MJHQ-30K: prompts from `meta_data.json` (dict id -> {"category", "prompt"}); FID is computed
per category and overall, so images go to <out>/<category>/<id>.png like the reference set."""
from __future__ import annotations

import json
from pathlib import Path

from evaluators.mllm.generation.jobs import GenerationJob, PromptFileError


def mjhq_jobs(prompts_file: Path) -> list[GenerationJob]:
    data = json.loads(prompts_file.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise PromptFileError(f"{prompts_file}: expected a dict id -> {{category, prompt}}")
    jobs = []
    for image_id, entry in data.items():
        try:
            jobs.append(GenerationJob(entry["prompt"], f"{entry['category']}/{image_id}.png"))
        except (KeyError, TypeError) as error:
            raise PromptFileError(f"{prompts_file}: entry {image_id!r} lacks {error}") from error
    return jobs
