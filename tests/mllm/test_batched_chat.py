"""Batched understanding on the golden tiny MLLM + tiny UniTok: batched greedy answers equal
one-at-a-time answers, multi-round prompts, and log-likelihood scoring (hand-checked)."""
import math
import os

import pytest
import torch
from PIL import Image
from transformers import LlamaTokenizer

from mllm.batched_chat import conversation_ids, left_pad
from mllm.constants import IMAGE_TOKEN_INDEX
from mllm.pipeline import UnifiedPipeline


@pytest.fixture(scope="module")
def pipeline(golden_dir, mllm_golden_dir, golden_model):
    from unitok import UniTok
    unitok = UniTok.from_pretrained(str(golden_dir / "tokenizer_tiny" / "official_ckpt.pth"))
    return UnifiedPipeline(golden_model, unitok, LlamaTokenizer.from_pretrained(mllm_golden_dir))


@pytest.fixture(scope="module")
def images(golden_dir):
    folder = golden_dir / "tokenizer_tiny" / "inputs"
    return [Image.open(folder / name).convert("RGB") for name in sorted(os.listdir(folder))]


def test_left_pad():
    ids, mask = left_pad([[5, 6, 7], [9]], pad_id=0, device="cpu")
    assert ids.tolist() == [[5, 6, 7], [0, 0, 9]] and mask.tolist() == [[1, 1, 1], [0, 0, 1]]


def test_batched_answers_equal_single_answers(pipeline, images):
    questions = ["What is in the image?", "Describe it.", "How many people are there in this picture?",
                 "Is it red?", "What colour is the sky?"]
    rows = [(images[i % len(images)], questions[i % len(questions)]) for i in range(9)] + [(None, "Hello there")]
    single = [pipeline.chat(image, q, max_new_tokens=10) for image, q in rows]
    batched = pipeline.chat_batch([r[0] for r in rows], [r[1] for r in rows], max_new_tokens=10)
    assert batched == single
    assert len(set(single)) > 2  # the rows really differ


def test_encode_images_in_a_batch_equals_one_by_one(pipeline, images):
    together = pipeline.encode_images([images[0], None, images[1]])
    assert together[1] is None
    assert torch.equal(together[0], pipeline.encode_image(images[0])[0])
    assert torch.equal(together[2], pipeline.encode_image(images[1])[0])


def test_multi_round_prompt_and_answers(pipeline, images):
    tokenizer = pipeline.tokenizer
    turns = [("What is this?", "An astronaut."), ("Where is he?", None)]
    ids = conversation_ids(tokenizer, turns, with_image=True)
    assert ids.count(IMAGE_TOKEN_INDEX) == 1
    text = tokenizer.decode([i for i in ids if i >= 0])
    assert text.endswith("\nWhat is this? ASSISTANT: An astronaut.</s>USER: Where is he? ASSISTANT:")
    with pytest.raises(ValueError, match="reply is None"):
        conversation_ids(tokenizer, turns[:1], with_image=True)
    second = pipeline.converse([images[0], images[1]], [turns, [("Describe it.", None)]], max_new_tokens=8)
    alone = pipeline.converse([images[0]], [turns], max_new_tokens=8)
    assert second[0] == alone[0]
    assert second[1] == pipeline.chat(images[1], "Describe it.", max_new_tokens=8)


def test_loglikelihood_matches_a_direct_forward(pipeline, images):
    question, answer = "What is in the image?", "an astronaut in space"
    scored = pipeline.loglikelihood([images[0], None], [question, question], [answer, answer])
    tokenizer, model = pipeline.tokenizer, pipeline.model
    codes = pipeline.encode_image(images[0])
    prompt = conversation_ids(tokenizer, [(question, None)], True)
    full = conversation_ids(tokenizer, [(question, None)], True, reply=answer)
    n = len(full) - len(prompt)
    assert full[:len(prompt)] == prompt and scored[0].num_tokens == n
    logits = model(input_ids=torch.tensor([full]), image_codes=codes).logits[0].float()
    logprobs = torch.log_softmax(logits[-n - 1:-1], dim=-1)
    targets = torch.tensor(full[-n:])
    expected = logprobs.gather(-1, targets[:, None]).sum().item()
    assert scored[0].logprob == pytest.approx(expected, abs=1e-4)
    assert scored[0].is_greedy == bool((logits[-n - 1:-1].argmax(-1) == targets).all())
    assert scored[1].logprob != pytest.approx(scored[0].logprob)  # the image matters


def test_loglikelihood_hand_checked(tiny_model):
    """Logits that ignore the input: lm_head bias b with b[7] = ln 3, b[8] = ln 2, 0 elsewhere,
    so P(7) = 3 / (V + 3) and P(8) = 2 / (V + 3) at every position."""
    from mllm.batched_chat import BatchedChat

    model = tiny_model
    vocab, hidden = model.config.vocab_size, model.config.hidden_size
    original = model.lm_head
    head = torch.nn.Linear(hidden, vocab, bias=True)
    with torch.no_grad():
        head.weight.zero_()
        head.bias.zero_()
        head.bias[7], head.bias[8] = math.log(3), math.log(2)
    model.lm_head = head

    class Tok:
        pad_token_id, eos_token_id = 0, 2

    try:
        chat = BatchedChat(model, Tok())
        codes = torch.randint(0, model.config.codebook_size, (model.config.num_codebooks, 16))
        prompts = [[1, 20, IMAGE_TOKEN_INDEX, 21], [1, 22]]
        out = chat.loglikelihood(prompts, [[7, 7], [7, 8, 7]], [codes, None])
    finally:
        model.lm_head = original
    z = math.log(vocab + 3)
    assert out[0].logprob == pytest.approx(2 * (math.log(3) - z), abs=1e-5) and out[0].is_greedy
    assert out[1].logprob == pytest.approx(2 * (math.log(3) - z) + math.log(2) - z, abs=1e-5)
    assert not out[1].is_greedy and out[1].num_tokens == 3
