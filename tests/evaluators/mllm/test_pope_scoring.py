import pytest

from evaluators.mllm.scoring.pope import POPEItem, answer_to_yes_no, score_pope


@pytest.mark.parametrize("answer, expected", [
    ("Yes", "yes"), ("No", "no"), ("no.", "no"), ("There is not a dog.", "no"),
    ("Yes. No other objects.", "yes"),   # only the first sentence counts
    ("No, there is none", "no"),         # commas removed before splitting
    ("Nope", "yes"), ("I don't know", "yes")])  # LLaVA rule: anything without no/not is yes
def test_llava_yes_no_mapping(answer, expected):
    assert answer_to_yes_no(answer) == expected


def test_metrics_per_split():
    items = [POPEItem("Yes", "yes", "adversarial"), POPEItem("yes", "no", "adversarial"),
             POPEItem("no", "no", "adversarial"), POPEItem("no", "yes", "adversarial"),
             POPEItem("yes", "yes", "adversarial"),
             POPEItem("No", "no", "random"), POPEItem(None, "yes", "random")]
    result = score_pope(items)
    adversarial = result["splits"]["adversarial"]
    # TP=2 FP=1 TN=1 FN=1
    assert (adversarial["tp"], adversarial["fp"], adversarial["tn"], adversarial["fn"]) == (2, 1, 1, 1)
    assert adversarial["accuracy"] == pytest.approx(60.0)
    assert adversarial["precision"] == pytest.approx(200 / 3)
    assert adversarial["recall"] == pytest.approx(200 / 3)
    assert adversarial["f1"] == pytest.approx(200 / 3)
    assert adversarial["yes_ratio"] == pytest.approx(60.0)
    random = result["splits"]["random"]  # the failed answer is counted wrong (a false "no")
    assert (random["tp"], random["fn"], random["tn"], random["accuracy"]) == (0, 1, 1, 50.0)


def test_bad_label_is_rejected():
    with pytest.raises(ValueError, match="yes or no"):
        score_pope([POPEItem("yes", "maybe", "random")])
