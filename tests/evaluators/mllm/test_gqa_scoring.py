import pytest

from evaluators.mllm.scoring.gqa import GQAItem, normalize_gqa_answer, score_gqa


def test_light_normalisation_only():
    assert normalize_gqa_answer(" Yes. ") == "yes"
    assert normalize_gqa_answer("Table") == "table"
    # GQA is exact match: no article or number-word rules as in VQA
    assert normalize_gqa_answer("a table") != normalize_gqa_answer("table")


def test_exact_match_accuracy_with_types():
    result = score_gqa([GQAItem("Yes.", "yes", "verify"), GQAItem("the table", "table", "query"),
                        GQAItem("chair", "chair", "query"), GQAItem(None, "no", "verify")])
    assert result["accuracy"] == pytest.approx(50.0)
    assert result["per_structural_type"] == pytest.approx({"query": 50.0, "verify": 50.0})
