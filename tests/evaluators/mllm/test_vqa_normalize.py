import pytest

from evaluators.mllm.scoring.vqa_normalize import CONTRACTIONS, normalize_vqa_answer


@pytest.mark.parametrize("raw, expected", [
    ("two", "2"), ("Two", "2"), ("none", "0"), ("ten dogs", "10 dogs"),      # number words
    ("a dog", "dog"), ("The Dog", "dog"), ("an apple", "apple"),             # articles
    ("dont", "don't"), ("isnt", "isn't"), ("couldnt've", "couldn't've"),     # contractions
    ("couldn'tve", "couldn't've"), ("don't", "don't"),
    ("dog.", "dog"), ("3.5", "3.5"), ("1.", "1"),                            # periods
    ("10,000", "10000"), ("black-and-white", "black and white"),            # digit separator vs hyphen
    ("yes !", "yes"), ("left, right", "left right"),                         # mark next to a space is deleted
    ("left,right", "left right"),                                           # otherwise it becomes a space
    ("  Yes\n", "yes"), ("hot\tdog", "hot dog"),
])
def test_official_normalisation_rules(raw, expected):
    assert normalize_vqa_answer(raw) == expected


def test_ordinary_words_are_not_taken_for_contractions():
    # "well", "its", "were", "id" are words; rewriting them would corrupt correct answers.
    for word in ("well", "its", "were", "id", "shell", "hell"):
        assert word not in CONTRACTIONS
        assert normalize_vqa_answer(word) == word


def test_digit_comma_removes_all_other_punctuation_too():
    # The official rule is global: one "1,000" in the answer turns every mark into a deletion.
    assert normalize_vqa_answer("1,000-2,000") == "10002000"
