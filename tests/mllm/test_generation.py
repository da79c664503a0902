"""Image-code generation: caches agree with recomputation, CFG, padding and sampling behave."""
import torch

from mllm.constants import IGNORE_INDEX, IMAGE_TOKEN_INDEX

PROMPT = torch.tensor([[1, 17, 99, 243, 8, 3]])


def test_projection_kv_cache_matches_full_recompute(tiny_model):
    embedder = tiny_model.embedder
    codes = torch.randint(0, tiny_model.config.codebook_size, (2, 8, 12))
    with torch.no_grad():
        full = embedder(codes)
        cache, steps = [], []
        steps.append(embedder(codes[:, :, :5], past_kv=cache))  # a chunk, then one position at a time
        steps += [embedder(codes[:, :, t:t + 1], past_kv=cache) for t in range(5, 12)]
    torch.testing.assert_close(torch.cat(steps, dim=1), full, atol=1e-5, rtol=0)
    # Causality: the first positions do not depend on later codes.
    changed = codes.clone()
    changed[:, :, 6:] = (changed[:, :, 6:] + 1) % tiny_model.config.codebook_size
    with torch.no_grad():
        torch.testing.assert_close(embedder(changed)[:, :6], full[:, :6], atol=1e-6, rtol=0)
        assert not torch.allclose(embedder(changed)[:, 6:], full[:, 6:])


def test_cached_depth_head_equals_recompute_reference(tiny_model):
    uncond = torch.tensor([[1, 60, 61, 3]])
    kwargs = dict(num_positions=6, top_k=1, cfg_scale=2.5, uncond_input_ids=uncond)
    logits = {True: [], False: []}
    for cached in (True, False):
        codes = tiny_model.generate_image_codes(PROMPT, depth_cache=cached,
                                                on_logits=lambda p, s, mixed, raw, c=cached: logits[c].append(mixed),
                                                **kwargs)
        if cached:
            fast = codes
    assert torch.equal(fast, codes)
    torch.testing.assert_close(torch.stack(logits[True]), torch.stack(logits[False]), atol=1e-5, rtol=0)


def test_consistent_codes_are_the_training_argmax(tiny_model):
    """Teacher forcing generated codes through the training forward predicts them again."""
    codes = tiny_model.generate_image_codes(PROMPT, num_positions=8, temperature=0, embedding="consistent")
    ids = torch.cat([PROMPT, torch.tensor([[IMAGE_TOKEN_INDEX, 4]])], dim=1)
    labels = ids.clone()
    labels[:, :PROMPT.shape[1]] = IGNORE_INDEX
    with torch.no_grad():
        out = tiny_model(input_ids=ids, labels=labels, image_codes=codes)
    assert out.loss_parts.num_image_targets == 8 * 8
    assert torch.equal(out.image_logits.argmax(-1), codes)


def test_left_padded_batch_matches_single_prompts(tiny_model):
    short = torch.tensor([[1, 40, 3]])
    batch = torch.cat([PROMPT, torch.cat([torch.zeros(1, 3, dtype=torch.long), short], dim=1)])
    mask = (torch.arange(batch.shape[1]) >= torch.tensor([[0], [3]])).long()
    together = tiny_model.generate_image_codes(batch, attention_mask=mask, num_positions=5, top_k=1)
    assert together.shape == (2, 8, 5)
    assert torch.equal(together[:1], tiny_model.generate_image_codes(PROMPT, num_positions=5, top_k=1))
    assert torch.equal(together[1:], tiny_model.generate_image_codes(short, num_positions=5, top_k=1))


def test_cfg_scale_one_is_plain_conditional_generation(tiny_model):
    plain = tiny_model.generate_image_codes(PROMPT, num_positions=4, top_k=1)
    assert torch.equal(plain, tiny_model.generate_image_codes(PROMPT, num_positions=4, top_k=1, cfg_scale=1.0,
                                                              uncond_input_ids=torch.tensor([[1, 3]])))
    guided = tiny_model.generate_image_codes(PROMPT, num_positions=4, top_k=1, cfg_scale=8.0,
                                             uncond_input_ids=torch.tensor([[1, 3]]))
    assert guided.shape == plain.shape


def test_sampling_is_seeded_and_greedy_modes_agree(tiny_model):
    def run(seed, **kw):
        g = torch.Generator().manual_seed(seed)
        return tiny_model.generate_image_codes(PROMPT, num_positions=4, generator=g, **kw)
    assert torch.equal(run(0), run(0))
    assert not torch.equal(run(0), run(1))
    assert torch.equal(run(0, top_k=1), run(5, temperature=0))
    top2 = run(3, top_k=2, temperature=5.0)
    assert top2.min() >= 0 and top2.max() < tiny_model.config.codebook_size


def test_text_generation_with_image_placeholder_in_batch(tiny_model):
    """Rows with different numbers of images are left padded so generation continues each row."""
    ids = torch.tensor([[1, 7, IMAGE_TOKEN_INDEX, 9, 10], [1, 7, 8, 9, 10]])
    codes = [torch.randint(0, 64, (8, 6)), None]
    both = tiny_model.generate(ids, image_codes=codes, max_new_tokens=3, do_sample=False)
    first = tiny_model.generate(ids[:1], image_codes=codes[:1], max_new_tokens=3, do_sample=False)
    second = tiny_model.generate(ids[1:], max_new_tokens=3, do_sample=False)
    assert torch.equal(both[0], first[0])
    assert torch.equal(both[1], second[0, ids.shape[1]:])
