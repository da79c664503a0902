"""GenEval: prompts from `evaluation_metadata.jsonl` (one JSON object per line with "prompt",
"tag", "include"); the scorer reads <out>/<index:05d>/metadata.jsonl (that line, unchanged)
and <out>/<index:05d>/samples/<k:04d>.png."""
from __future__ import annotations

import json
from pathlib import Path

from evaluators.mllm.generation.jobs import GenerationJob, PromptFileError


def geneval_jobs(prompts_file: Path, samples_per_prompt: int = 4) -> list[GenerationJob]:
    jobs = []
    lines = [line for line in prompts_file.read_text(encoding="utf-8").splitlines() if line.strip()]
    for index, line in enumerate(lines):
        try:
            prompt = json.loads(line)["prompt"]
        except (json.JSONDecodeError, KeyError, TypeError) as error:
            raise PromptFileError(f"{prompts_file}: line {index + 1} is not a GenEval entry ({error!r})") from error
        folder = f"{index:05d}"
        for k in range(samples_per_prompt):
            jobs.append(GenerationJob(prompt, f"{folder}/samples/{k:04d}.png",
                                      {f"{folder}/metadata.jsonl": line.strip() + "\n"}))
    return jobs
