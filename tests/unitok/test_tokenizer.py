"""CLIP BPE tokenizer: ids of the official fixture, truncation, special cases, decode round trip."""
import json

import pytest
import torch
from safetensors import safe_open

from unitok.tokenizer import DEFAULT_VOCAB_PATH, ClipTokenizer, clean_text, default_tokenizer, tokenize

SOT, EOT = 49406, 49407


@pytest.fixture(scope="module")
def golden_text(golden_dir):
    with safe_open(str(golden_dir / "tokenizer_tiny" / "expected.safetensors"), "pt") as f:
        return json.loads(f.metadata()["captions"]), f.get_tensor("text_tokens")


def test_vocabulary_is_bundled_and_complete():
    assert DEFAULT_VOCAB_PATH.is_file()
    tok = default_tokenizer()
    assert tok.vocab_size == 49408
    assert (tok.sot_token_id, tok.eot_token_id) == (SOT, EOT)


def test_ids_match_official_fixture(golden_text):
    captions, expected = golden_text
    ids = tokenize(captions)
    assert ids.dtype == torch.long and ids.shape == expected.shape == (len(captions), 77)
    assert torch.equal(ids, expected)


def test_single_string_gives_one_row(golden_text):
    captions, expected = golden_text
    assert torch.equal(tokenize(captions[1]), expected[1:2])


def test_case_and_whitespace_are_normalised(golden_text):
    captions, expected = golden_text
    shouted = "  " + captions[0].upper().replace(" ", " \t\n ") + "  "
    assert torch.equal(tokenize(shouted)[0], expected[0])


def test_html_entities_are_unescaped_twice():
    assert tokenize("fish &amp;amp; chips").tolist() == tokenize("fish & chips").tolist()


def test_empty_string_is_sot_eot_then_padding():
    ids = tokenize("")[0]
    assert ids[:2].tolist() == [SOT, EOT]
    assert int(ids[2:].abs().sum()) == 0


def test_truncation_keeps_eot_last():
    long_text = " ".join(["word"] * 200)
    ids = tokenize(long_text, context_length=77)[0]
    assert ids.shape == (77,)
    assert ids[0] == SOT and ids[-1] == EOT
    assert (ids == EOT).sum() == 1
    # Everything before the forced EOT is the untruncated prefix.
    full = default_tokenizer().encode(long_text)
    assert ids[1:-1].tolist() == full[:75]


def test_custom_context_length_pads_and_truncates():
    short = tokenize(["a cat", "a dog " * 20], context_length=8)
    assert short.shape == (2, 8)
    assert short[0].tolist()[:4] == [SOT, *default_tokenizer().encode("a cat"), EOT]
    assert short[1, -1] == EOT
    with pytest.raises(ValueError, match="context_length"):
        tokenize("x", context_length=1)


def test_unicode_is_byte_level_and_lossless():
    tok = default_tokenizer()
    text = "café naïve 東京 🙂 ñandú"
    ids = tok.encode(text)
    assert all(0 <= i < tok.vocab_size for i in ids)
    assert tok.decode(ids) == text
    # A character never seen in merges still encodes through its UTF-8 bytes.
    assert len(tok.encode("\U0001f9ec")) >= 1


def test_ftfy_repairs_mojibake():
    assert default_tokenizer().encode("cafÃ©") == default_tokenizer().encode("café")


@pytest.mark.parametrize("text", ["A photo of an ASTRONAUT in a white space suit.",
                                  "it's the dog's ball, isn't it? 3.14 $100 #tag",
                                  "Ελληνικά Русский 한국어"])
def test_decode_round_trip(text):
    tok = default_tokenizer()
    row = tokenize(text)[0]
    decoded = tok.decode(row)
    # Decoding splits punctuation off words, which the pre-tokenizer does anyway: ids are stable.
    assert tokenize(decoded)[0].tolist() == row.tolist()
    assert decoded.replace(" ", "") == clean_text(text).replace(" ", "")


def test_decode_keeps_special_tokens_when_asked():
    tok = default_tokenizer()
    text = tok.decode([SOT, *tok.encode("hello"), EOT], skip_special_tokens=False)
    assert text.startswith("<start_of_text>") and "hello" in text and text.endswith("<end_of_text>")


def test_decode_rejects_unknown_ids():
    with pytest.raises(ValueError, match="outside the vocabulary"):
        default_tokenizer().decode([5, 60000])


def test_literal_special_token_text_maps_to_special_id():
    assert default_tokenizer().encode("<end_of_text>") == [EOT]


def test_missing_vocab_file_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="vocabulary"):
        ClipTokenizer(tmp_path / "nope.txt.gz")
