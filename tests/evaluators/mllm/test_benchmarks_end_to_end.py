"""Each benchmark run end to end on a tiny data set in its official layout, with a fake answerer
whose answers are chosen so that the expected scores can be worked out by hand."""
import json

import pytest

from mllm.constants import SHORT_ANSWER_INSTRUCTION
from evaluators.mllm.benchmarks import BENCHMARKS, LayoutError, get_benchmark
from evaluators.mllm.ranks import RankInfo
from evaluators.mllm.runner import RunSettings, run_benchmark
from official_layouts import (FakeAnswerer, write_gqa, write_mme, write_mmvet, write_pope,
                              write_textvqa, write_vqav2)


def run(name, data, out, answers):
    answerer = FakeAnswerer(answers)
    summary = run_benchmark(get_benchmark(name), data, out, answerer, RunSettings(batch_size=2), RankInfo())
    return summary, answerer


def test_gqa(tmp_path):
    write_gqa(tmp_path / "d")
    summary, answerer = run("gqa", tmp_path / "d", tmp_path / "o",
                            {"Is the sky blue?": "Yes.", "What is under the cup?": "chair"})
    assert summary["scores"]["accuracy"] == pytest.approx(100 / 3)   # 201 right, 202 wrong, 203 no image
    assert summary["counts"] == {"questions": 3, "answered": 2, "failed": 1, "missing": 0, "malformed_entries": 1}
    assert summary["malformed_entries"][0]["entry_id"] == "204"
    assert "n_missing.jpg" in summary["failed_questions"][0]["error"]
    assert answerer.prompts[0] == f"Is the sky blue?\n{SHORT_ANSWER_INSTRUCTION}"
    assert answerer.image_sizes[0] == (24, 16)  # the original image: preprocessing is the pipeline's job
    assert list(summary["data"]["files_sha256"]) == ["testdev_balanced_questions.json"]
    lines = (tmp_path / "o" / "predictions.jsonl").read_text().splitlines()
    assert [json.loads(line)["question_id"] for line in lines] == ["201", "202", "203"]


def test_vqav2_scored_with_annotations(tmp_path):
    write_vqav2(tmp_path / "d")
    summary, _ = run("vqav2", tmp_path / "d", tmp_path / "o",
                     {"How many dogs?": "two", "What animal is it?": "a dog"})
    # 420: "two" == 10 x "2" -> 1.0; 421: "dog" given by 2 humans -> 0.6; 70: corrupt image -> 0
    assert summary["scores"]["accuracy"] == pytest.approx(100 * 1.6 / 3)
    assert summary["scores"]["per_answer_type"] == pytest.approx({"number": 100, "other": 60, "yes/no": 0})
    assert summary["counts"]["failed"] == 1 and summary["counts"]["malformed_entries"] == 1
    assert set(summary["data"]["files_sha256"]) == {"v2_OpenEnded_mscoco_val2014_questions.json",
                                                    "v2_mscoco_val2014_annotations.json"}


def test_vqav2_test_dev_writes_server_submission(tmp_path):
    write_vqav2(tmp_path / "d", split="test-dev2015", with_annotations=False)
    summary, _ = run("vqav2", tmp_path / "d", tmp_path / "o", {"How many dogs?": "2"})
    assert summary["scores"]["accuracy"] is None
    rows = json.loads((tmp_path / "o" / "answers_vqav2_submission.json").read_text())
    assert {r["question_id"]: r["answer"] for r in rows} == {420: "2", 421: "maybe", 70: ""}


def test_textvqa(tmp_path):
    write_textvqa(tmp_path / "d")
    summary, _ = run("textvqa", tmp_path / "d", tmp_path / "o",
                     {"what brand is this?": "Nike", "what does the sign say?": "dont walk."})
    # q1: 3 of 10 humans -> 0.9; q2: "dont walk." normalises to "don't walk" -> 1.0
    assert summary["scores"]["accuracy"] == pytest.approx(95.0)
    assert summary["malformed_entries"][0]["entry_id"] == "3"


def test_pope_splits_keep_their_repeated_ids_apart(tmp_path):
    write_pope(tmp_path / "d")
    summary, answerer = run("pope", tmp_path / "d", tmp_path / "o", {
        "Is there a dog in the image?": "Yes", "Is there a cat in the image?": "No",
        "Is there a car in the image?": "yes", "Is there a bowl in the image?": "Yes, there is a bowl."})
    assert len(answerer.prompts) == 6
    splits = summary["scores"]["splits"]
    assert splits["random"]["accuracy"] == 100.0 and splits["random"]["yes_ratio"] == 50.0
    assert splits["popular"]["accuracy"] == 50.0 and splits["popular"]["yes_ratio"] == 100.0
    assert splits["adversarial"]["precision"] == 50.0 and splits["adversarial"]["recall"] == 100.0
    assert summary["scores"]["mean_accuracy"] == pytest.approx(200 / 3)


def test_mme_reads_both_official_layouts(tmp_path):
    write_mme(tmp_path / "d")
    answers = {"Is this existence a one? Please answer yes or no.": "Yes",
               "Is this existence a two? Please answer yes or no.": "No",
               "Is this existence b one? Please answer yes or no.": "Yes",
               "Is this existence b two? Please answer yes or no.": "Yes",
               "Is this artwork a one? Please answer yes or no.": "Yes",
               "Is this artwork a two? Please answer yes or no.": "No, it is not.",
               "Is this code_reasoning a one? Please answer yes or no.": "yes"}
    summary, answerer = run("mme", tmp_path / "d", tmp_path / "o", answers)
    scores = summary["scores"]
    assert summary["counts"]["questions"] == 2 * 15  # 14 subtasks, existence has two images
    assert scores["subtasks"]["existence"]["score"] == 125.0   # acc 75 + acc+ 50
    assert scores["subtasks"]["artwork"]["score"] == 200.0
    assert scores["perception"] == pytest.approx(325.0)
    assert scores["cognition"] == pytest.approx(50.0)          # code_reasoning: acc 50, acc+ 0
    assert scores["missing_subtasks"] == []
    assert answerer.prompts[0].endswith(f"Please answer yes or no.\n{SHORT_ANSWER_INSTRUCTION}")


def test_mmvet_writes_grader_answers_without_instruction(tmp_path):
    write_mmvet(tmp_path / "d")
    summary, answerer = run("mmvet", tmp_path / "d", tmp_path / "o", {"Describe the image.": "A red square."})
    assert answerer.prompts == ["What is x in the equation?", "Describe the image."]
    answers = json.loads((tmp_path / "o" / "answers_mmvet.json").read_text())
    assert answers == {"v1_0": "maybe", "v1_1": "A red square."}
    assert summary["scores"]["graded"] is False


@pytest.mark.parametrize("name, expected", [
    ("gqa", "testdev_balanced_questions.json"), ("textvqa", "TextVQA_0.5.1_val.json"),
    ("pope", "coco_pope_random.json"), ("mme", "existence"), ("mmvet", "mm-vet.json"),
    ("vqav2", "v2_OpenEnded_mscoco_<split>_questions.json")])
def test_missing_layout_file_is_named(tmp_path, name, expected):
    with pytest.raises(LayoutError, match=expected.replace("<", ".").replace(">", ".")):
        get_benchmark(name).load(tmp_path)


def test_every_benchmark_is_covered():
    assert set(BENCHMARKS) == {"gqa", "vqav2", "textvqa", "pope", "mme", "mmvet"}
