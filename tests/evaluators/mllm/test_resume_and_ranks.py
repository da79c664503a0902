"""A killed run resumes without recomputing or duplicating answers; ranks split the work and
rank 0 merges."""
import json

import pytest

from evaluators.mllm.benchmarks import get_benchmark
from evaluators.mllm.predictions_store import read_prediction_file
from evaluators.mllm.ranks import RankInfo
from evaluators.mllm.runner import RunSettings, run_benchmark
from official_layouts import FakeAnswerer, write_pope

ANSWERS = {"Is there a dog in the image?": "Yes", "Is there a cat in the image?": "No"}


class Killed(Exception):
    pass


class DiesAfter(FakeAnswerer):
    def __init__(self, answers, allowed):
        super().__init__(answers)
        self.allowed = allowed

    def answer(self, images, prompts, max_new_tokens):
        if len(self.prompts) + len(prompts) > self.allowed:
            raise Killed
        return super().answer(images, prompts, max_new_tokens)


def merged_ids(out):
    return [json.loads(line)["question_id"] for line in (out / "predictions.jsonl").read_text().splitlines()]


def test_killed_run_resumes_without_repeating(tmp_path):
    write_pope(tmp_path / "d")
    out = tmp_path / "o"
    benchmark = get_benchmark("pope")
    with pytest.raises(Killed):
        run_benchmark(benchmark, tmp_path / "d", out, DiesAfter(ANSWERS, 4), RunSettings(), RankInfo())
    # the kill also cut the next record in half
    with (out / "predictions.rank0.jsonl").open("a") as handle:
        handle.write('{"question_id": "adversarial/1", "prom')
    assert len(read_prediction_file(out / "predictions.rank0.jsonl")) == 4

    second = FakeAnswerer(ANSWERS)
    summary = run_benchmark(benchmark, tmp_path / "d", out, second, RunSettings(), RankInfo())
    assert len(second.prompts) == 2  # only the questions the first run did not finish
    ids = merged_ids(out)
    assert len(ids) == len(set(ids)) == 6
    assert summary["counts"]["answered"] == 6 and summary["complete"]
    assert not list(out.glob("predictions.rank*.jsonl"))

    third = FakeAnswerer(ANSWERS)  # a rerun of a finished run only rescores
    assert run_benchmark(benchmark, tmp_path / "d", out, third, RunSettings(), RankInfo())["counts"]["answered"] == 6
    assert third.prompts == []


def test_two_ranks_split_and_rank0_merges(tmp_path):
    write_pope(tmp_path / "d")
    out = tmp_path / "o"
    benchmark = get_benchmark("pope")
    rank1 = FakeAnswerer(ANSWERS)
    assert run_benchmark(benchmark, tmp_path / "d", out, rank1, RunSettings(), RankInfo(1, 2)) is None
    assert list(read_prediction_file(out / "predictions.rank1.jsonl")) == [
        "random/2", "popular/2", "adversarial/2"]  # interleaved shard of the 6 questions
    rank0 = FakeAnswerer(ANSWERS)
    summary = run_benchmark(benchmark, tmp_path / "d", out, rank0, RunSettings(merge_timeout_s=5), RankInfo(0, 2))
    assert len(rank0.prompts) == len(rank1.prompts) == 3
    ids = merged_ids(out)
    assert len(ids) == len(set(ids)) == 6 and summary["complete"]
    assert summary["settings"]["world_size"] == 2


def test_rank0_stops_waiting_for_a_dead_rank(tmp_path):
    write_pope(tmp_path / "d")
    summary = run_benchmark(get_benchmark("pope"), tmp_path / "d", tmp_path / "o", FakeAnswerer(ANSWERS),
                            RunSettings(merge_timeout_s=0), RankInfo(0, 2))
    assert summary["complete"] is False and summary["counts"]["missing"] == 3


def test_limit_takes_the_first_questions(tmp_path):
    write_pope(tmp_path / "d")
    answerer = FakeAnswerer(ANSWERS)
    summary = run_benchmark(get_benchmark("pope"), tmp_path / "d", tmp_path / "o", answerer,
                            RunSettings(limit=2), RankInfo())
    assert summary["counts"]["questions"] == 2 and merged_ids(tmp_path / "o") == ["random/1", "random/2"]


def test_damaged_line_in_the_middle_is_an_error(tmp_path):
    path = tmp_path / "predictions.jsonl"
    path.write_text('{"question_id": "1", "answer": "a"}\nnot json\n{"question_id": "2", "answer": "b"}\n')
    with pytest.raises(ValueError, match="predictions.jsonl:2"):
        read_prediction_file(path)


def test_rank_info_from_torchrun_environment(monkeypatch):
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "3")
    ranks = RankInfo.from_env()
    assert (ranks.rank, ranks.world_size, ranks.is_main) == (1, 3, False)
    assert ranks.shard(list(range(7))) == [1, 4]
    monkeypatch.setenv("RANK", "3")
    with pytest.raises(ValueError, match="outside WORLD_SIZE"):
        RankInfo.from_env()
