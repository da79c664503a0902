"""Generated images land in each benchmark's expected layout; reruns only fill the gaps."""
import json

import pytest
from PIL import Image

from evaluators.mllm.generation.genai_bench import genai_jobs
from evaluators.mllm.generation.geneval import geneval_jobs
from evaluators.mllm.generation.jobs import PromptFileError
from evaluators.mllm.generation.mjhq import mjhq_jobs
from evaluators.mllm.generation.runner import SETTINGS_FILE, generate_benchmark
from evaluators.mllm.generation.sampling import SamplingSettings
from evaluators.mllm.ranks import RankInfo


class FakeGenerator:
    def __init__(self):
        self.calls = []

    def generate(self, prompts, settings, seed):
        self.calls.append((list(prompts), seed))
        return [Image.new("RGB", (8, 8), (seed % 256, len(p) % 256, 0)) for p in prompts]


GENEVAL_LINES = [{"tag": "single_object", "include": [{"class": "bench", "count": 1}], "prompt": "a photo of a bench"},
                 {"tag": "two_object", "include": [{"class": "cat", "count": 1}, {"class": "dog", "count": 1}],
                  "prompt": "a photo of a cat and a dog"}]


def test_geneval_layout_and_metadata(tmp_path):
    prompts = tmp_path / "evaluation_metadata.jsonl"
    prompts.write_text("\n".join(json.dumps(line) for line in GENEVAL_LINES) + "\n")
    generator = FakeGenerator()
    made = generate_benchmark("geneval", geneval_jobs(prompts, samples_per_prompt=2), tmp_path / "out",
                              generator, SamplingSettings(seed=10), batch_size=3, ranks=RankInfo(), prompts_file=prompts)
    assert made == 4
    for index, line in enumerate(GENEVAL_LINES):
        folder = tmp_path / "out" / f"{index:05d}"
        assert json.loads((folder / "metadata.jsonl").read_text()) == line
        assert sorted(p.name for p in (folder / "samples").iterdir()) == ["0000.png", "0001.png"]
    assert [seed for _, seed in generator.calls] == [10, 13]  # seed + index of the batch's first image
    recorded = json.loads((tmp_path / "out" / SETTINGS_FILE).read_text())
    assert recorded["sampling"] == {"cfg_scale": 7.0, "temperature": 1.0, "top_k": 0, "top_p": 1.0, "seed": 10,
                                   "num_positions": None}
    assert len(recorded["prompts_sha256"]) == 64


def test_genai_names_images_by_prompt_id(tmp_path):
    prompts = tmp_path / "genai_image.json"
    prompts.write_text(json.dumps({"00000": {"prompt": "a red cube", "basic_skills": []},
                                   "00001": {"prompt": "two birds"}}))
    generate_benchmark("genai", genai_jobs(prompts), tmp_path / "out", FakeGenerator(), SamplingSettings(),
                       ranks=RankInfo())
    assert sorted(p.name for p in (tmp_path / "out").glob("*.jpeg")) == ["00000.jpeg", "00001.jpeg"]
    with Image.open(tmp_path / "out" / "00000.jpeg") as image:
        assert image.format == "JPEG"


def test_mjhq_category_folders_and_resume(tmp_path):
    prompts = tmp_path / "meta_data.json"
    prompts.write_text(json.dumps({"a1": {"category": "animals", "prompt": "a fox"},
                                   "p1": {"category": "people", "prompt": "a chef"},
                                   "p2": {"category": "people", "prompt": "a pilot"}}))
    jobs = mjhq_jobs(prompts)
    out = tmp_path / "out"
    generate_benchmark("mjhq", jobs[:1], out, FakeGenerator(), SamplingSettings(), ranks=RankInfo())  # "killed"
    (out / "people").mkdir()
    (out / "people" / ".tmp-p1.png").write_bytes(b"half")  # an interrupted write does not count
    second = FakeGenerator()
    assert generate_benchmark("mjhq", jobs, out, second, SamplingSettings(), ranks=RankInfo()) == 2
    assert [prompts for prompts, _ in second.calls] == [["a chef"], ["a pilot"]]
    assert sorted(str(p.relative_to(out)) for p in out.rglob("[!.]*.png")) == [
        "animals/a1.png", "people/p1.png", "people/p2.png"]


def test_ranks_split_batches(tmp_path):
    prompts = tmp_path / "meta_data.json"
    prompts.write_text(json.dumps({f"i{n}": {"category": "c", "prompt": f"p{n}"} for n in range(5)}))
    jobs, out = mjhq_jobs(prompts), tmp_path / "out"
    rank1 = FakeGenerator()
    generate_benchmark("mjhq", jobs, out, rank1, SamplingSettings(), batch_size=2, ranks=RankInfo(1, 2))
    assert rank1.calls == [(["p2", "p3"], 2)]
    assert not (out / SETTINGS_FILE).exists()  # rank 0 records the settings


@pytest.mark.parametrize("maker, content", [
    (geneval_jobs, "not json\n"), (genai_jobs, json.dumps({"1": {"text": "no prompt key"}})),
    (mjhq_jobs, json.dumps({"1": {"prompt": "no category"}}))])
def test_bad_prompt_files_are_reported(tmp_path, maker, content):
    path = tmp_path / "prompts"
    path.write_text(content)
    with pytest.raises(PromptFileError, match=str(path.name)):
        maker(path)
