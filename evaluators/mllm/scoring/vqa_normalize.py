"""Answer normalisation of the VQA evaluation (VQAv2 and TextVQA share it).

The official evaluator compares answers only after this clean-up, so "Two dogs." and "2 dogs"
are the same answer. The rules, in the order the official evaluator applies them:

1. newlines and tabs become spaces, surrounding whitespace is stripped;
2. punctuation: a punctuation mark that touches a space, or any punctuation at all in an answer
   that contains a digit-separator comma such as "1,000", is deleted; otherwise it becomes a
   space (so "black-and-white" -> "black and white" but "10,000" -> "10000");
3. a period is deleted unless a digit follows it (so "3.5" survives, "dog." -> "dog");
4. lower-case words; number words zero..ten (and "none") become digits; the articles
   a / an / the are dropped; contractions written without their apostrophe get it back.
"""
from __future__ import annotations

import re

_PUNCTUATION = (";", "/", "[", "]", '"', "{", "}", "(", ")", "=", "+", "\\", "_", "-",
                ">", "<", "@", "`", ",", "?", "!")
_DIGIT_SEPARATOR = re.compile(r"(\d)(,)(\d)")
# The official pattern intended "not preceded by a digit" but as written only checks the
# following character; published scores were computed with the as-written behaviour.
_PERIOD_NOT_BEFORE_DIGIT = re.compile(r"\.(?!\d)")

NUMBER_WORDS = {"none": "0", "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4",
                "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9", "ten": "10"}
ARTICLES = frozenset({"a", "an", "the"})

# Canonical spellings; the map below accepts them with any apostrophe left out. Forms whose
# apostrophe-free spelling is an ordinary word ("we'll" -> "well", "it's" -> "its", "i'd" -> "id")
# are deliberately absent, as in the official map, so real words are never rewritten.
_CANONICAL_CONTRACTIONS = (
    "ain't", "aren't", "can't", "could've", "couldn't", "couldn't've", "didn't", "doesn't",
    "don't", "hadn't", "hadn't've", "hasn't", "haven't", "he'd", "he'd've", "he's", "how'd",
    "how'll", "how's", "i'd've", "i'm", "i've", "isn't", "it'd", "it'd've", "it'll", "ma'am",
    "mightn't", "mightn't've", "might've", "mustn't", "must've", "needn't", "not've", "o'clock",
    "oughtn't", "shan't", "she'd've", "she's", "should've", "shouldn't", "shouldn't've",
    "somebody'd", "somebody'd've", "somebody'll", "somebody's", "someone'd", "someone'd've",
    "someone'll", "someone's", "something'd", "something'd've", "something'll", "that's",
    "there'd", "there'd've", "there're", "there's", "they'd", "they'd've", "they'll", "they're",
    "they've", "'twas", "wasn't", "we'd've", "we've", "weren't", "what'll", "what're", "what's",
    "what've", "when's", "where'd", "where's", "where've", "who'd", "who'd've", "who'll",
    "who's", "who've", "why'll", "why're", "why's", "won't", "would've", "wouldn't",
    "wouldn't've", "y'all", "y'all'll", "y'all'd've", "you'd", "you'd've", "you'll", "you're",
    "you've",
)


def _apostrophe_dropped_variants(word: str) -> set[str]:
    """Every spelling of `word` with one or more of its apostrophes left out."""
    positions = [i for i, ch in enumerate(word) if ch == "'"]
    variants = set()
    for mask in range(1, 2 ** len(positions)):
        dropped = {positions[bit] for bit in range(len(positions)) if mask >> bit & 1}
        variants.add("".join(ch for i, ch in enumerate(word) if i not in dropped))
    return variants


CONTRACTIONS = {variant: canonical for canonical in _CANONICAL_CONTRACTIONS
                for variant in _apostrophe_dropped_variants(canonical)}


def _process_punctuation(text: str) -> str:
    delete_all = _DIGIT_SEPARATOR.search(text) is not None
    for mark in _PUNCTUATION:
        if delete_all or (mark + " ") in text or (" " + mark) in text:
            text = text.replace(mark, "")
        else:
            text = text.replace(mark, " ")
    return _PERIOD_NOT_BEFORE_DIGIT.sub("", text)


def _process_words(text: str) -> str:
    words = []
    for word in text.lower().split():
        word = NUMBER_WORDS.get(word, word)
        if word in ARTICLES:
            continue
        words.append(CONTRACTIONS.get(word, word))
    return " ".join(words)


def normalize_vqa_answer(answer: str) -> str:
    text = answer.replace("\n", " ").replace("\t", " ").strip()
    return _process_words(_process_punctuation(text))
