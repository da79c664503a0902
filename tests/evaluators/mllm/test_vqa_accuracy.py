import pytest

from evaluators.mllm.scoring.vqa_accuracy import VQAItem, score_vqa, soft_accuracy


@pytest.mark.parametrize("matching_humans, expected", [
    # leave-one-out over 10 humans: k matching -> (k*min((k-1)/3,1) + (10-k)*min(k/3,1)) / 10
    (0, 0.0), (1, 0.3), (2, 0.6), (3, 0.9), (4, 1.0), (10, 1.0)])
def test_leave_one_out_average(matching_humans, expected):
    humans = ["red"] * matching_humans + ["blue"] * (10 - matching_humans)
    assert soft_accuracy("red", humans) == pytest.approx(expected)


def test_number_word_matches_digit_answers():
    humans = ["2"] * 3 + ["3"] * 7
    assert soft_accuracy("two", humans) == pytest.approx(0.9)


def test_article_and_contraction_normalised_on_both_sides():
    assert soft_accuracy("a dog", ["dog"] * 10) == pytest.approx(1.0)
    assert soft_accuracy("dont know", ["don't know"] * 2 + ["no"] * 8) == pytest.approx(0.6)


def test_failed_answer_scores_zero_and_no_humans_is_an_error():
    assert soft_accuracy(None, ["dog"] * 10) == 0.0
    with pytest.raises(ValueError):
        soft_accuracy("dog", [])


def test_score_vqa_means_in_percent_per_answer_type():
    result = score_vqa([VQAItem("2", ["2"] * 10, "number"),
                        VQAItem("cat", ["cat"] * 2 + ["dog"] * 8, "other"),
                        VQAItem("yes", ["no"] * 10, "yes/no")])
    assert result["accuracy"] == pytest.approx(100 * (1.0 + 0.6 + 0.0) / 3)
    assert result["per_answer_type"] == pytest.approx({"number": 100.0, "other": 60.0, "yes/no": 0.0})
