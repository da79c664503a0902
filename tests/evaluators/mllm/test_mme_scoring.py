import pytest

from evaluators.mllm.scoring.mme import MMEItem, parse_yes_no, score_mme


@pytest.mark.parametrize("answer, expected", [
    ("Yes", "yes"), ("no", "no"), ("Yes, it is.", "yes"), ("No.", "no"),
    ("not sure", "no"),          # "no" within the first four characters
    ("The answer is yes", "other"), ("maybe", "other")])
def test_answer_parsing(answer, expected):
    assert parse_yes_no(answer) == expected


def test_accuracy_plus_needs_both_questions_of_an_image():
    items = [MMEItem("yes", "Yes", "existence", "a"), MMEItem("no", "No", "existence", "a"),
             MMEItem("yes", "Yes", "existence", "b"), MMEItem("yes", "No", "existence", "b"),
             MMEItem("yes", "Yes", "artwork", "c"), MMEItem("no", "No", "artwork", "c"),
             MMEItem("yes", "Yes", "code_reasoning", "d"), MMEItem(None, "No", "code_reasoning", "d")]
    result = score_mme(items)
    existence = result["subtasks"]["existence"]
    assert (existence["accuracy"], existence["accuracy_plus"], existence["score"]) == (75.0, 50.0, 125.0)
    assert result["subtasks"]["artwork"]["score"] == 200.0
    assert result["subtasks"]["code_reasoning"]["score"] == 50.0
    assert result["perception"] == pytest.approx(325.0)
    assert result["cognition"] == pytest.approx(50.0)
    assert "count" in result["missing_subtasks"] and "existence" not in result["missing_subtasks"]
