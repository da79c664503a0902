"""GenAI-Bench: prompts from `genai_image.json` (dict id -> {"prompt", skills ...}, or a list of
{"id", "prompt"}); VQAScore tooling looks images up as <out>/<id>.jpeg."""
from __future__ import annotations

import json
from pathlib import Path

from evaluators.mllm.generation.jobs import GenerationJob, PromptFileError


def genai_jobs(prompts_file: Path) -> list[GenerationJob]:
    data = json.loads(prompts_file.read_text(encoding="utf-8"))
    entries = data.items() if isinstance(data, dict) else ((row.get("id"), row) for row in data)
    jobs = []
    for prompt_id, entry in entries:
        if prompt_id is None or not isinstance(entry, dict) or "prompt" not in entry:
            raise PromptFileError(f"{prompts_file}: entry {prompt_id!r} needs an id and a prompt")
        jobs.append(GenerationJob(entry["prompt"], f"{prompt_id}.jpeg"))
    return jobs
