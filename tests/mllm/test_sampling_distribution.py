"""Temperature / top-k / top-p sampling draws from the filtered, renormalised distribution, written
out here from the definitions, and generation samples only codes inside that filter."""
import pytest
import torch

from mllm.sampling import SamplingConfig, filter_logits, sample_codes

# Probabilities at temperature 1, in order of the values: .561 .206 .125 .076 .028 .004; shuffled so
# that a filter that forgets to map sorted positions back to vocabulary ids is caught.
LOGITS = torch.tensor([0.0, 2.0, -3.0, 1.0, -1.0, 0.5])


def reference(logits: torch.Tensor, temperature: float, top_k: int, top_p: float) -> torch.Tensor:
    """The target distribution: keep the k most likely ids, renormalise, keep the most likely ids
    until their mass reaches top_p (the id that crosses it included), renormalise."""
    probs = torch.softmax(logits.double() / temperature, dim=-1)
    order = probs.argsort(descending=True).tolist()
    kept = order[:top_k] if top_k else order
    mass = probs[kept] / probs[kept].sum()
    nucleus, total = [], 0.0
    for token, p in zip(kept, mass.tolist()):
        if total >= top_p:
            break
        nucleus.append(token)
        total += p
    target = torch.zeros_like(probs)
    target[nucleus] = probs[nucleus] / probs[nucleus].sum()
    return target


CASES = [(1.0, 3, 1.0), (1.0, 0, 0.7), (1.0, 0, 0.5), (2.0, 4, 0.9), (0.5, 0, 0.95), (1.0, 0, 1.0)]


@pytest.mark.parametrize("temperature,top_k,top_p", CASES)
def test_filter_keeps_exactly_the_reference_support(temperature, top_k, top_p):
    target = reference(LOGITS, temperature, top_k, top_p)
    filtered = filter_logits(LOGITS / temperature, top_k, top_p)
    assert torch.equal(torch.isfinite(filtered), target > 0)
    torch.testing.assert_close(torch.softmax(filtered.double(), -1), target, atol=1e-12, rtol=0)


@pytest.mark.parametrize("temperature,top_k,top_p", CASES)
def test_sample_frequencies_match_the_reference_distribution(temperature, top_k, top_p):
    draws = 40_000
    generator = torch.Generator().manual_seed(0)
    codes = sample_codes(LOGITS.expand(draws, -1), SamplingConfig(temperature, top_k, top_p), generator)
    frequencies = torch.bincount(codes, minlength=LOGITS.numel()).double() / draws
    target = reference(LOGITS, temperature, top_k, top_p)
    assert torch.all(frequencies[target == 0] == 0)
    # 5 standard errors of a frequency at 40k draws is at most 0.0125.
    torch.testing.assert_close(frequencies, target, atol=0.0125, rtol=0)


@pytest.mark.parametrize("top_k,top_p", [(3, 1.0), (0, 0.6)])
def test_generated_codes_lie_inside_the_filter_of_their_step(tiny_model, top_k, top_p):
    seen = {}
    generator = torch.Generator().manual_seed(0)
    codes = tiny_model.generate_image_codes(
        torch.tensor([[1, 17, 99, 3]]), num_positions=5, temperature=1.0, top_k=top_k, top_p=top_p,
        generator=generator, on_logits=lambda pos, step, mixed, raw: seen.setdefault((pos, step), mixed[0]))
    sizes = []
    for (pos, step), logits in seen.items():
        support = reference(logits, 1.0, top_k, top_p) > 0
        assert support[codes[0, step, pos]], (pos, step)
        sizes.append(int(support.sum()))
    assert max(sizes) > 1   # the filter left a real choice somewhere, so the check could fail
