"""Generate images for a text-to-image benchmark in its expected folder layout, and optionally
compute a Frechet distance against a reference folder.

    python eval/generation.py --bench geneval --model ckpt/ --prompts evaluation_metadata.jsonl --output out/geneval
    python eval/generation.py --bench mjhq --model ckpt/ --prompts meta_data.json --output out/mjhq \\
        --fid-ref mjhq30k_imgs/ --feature-net effnet_lite0.pt2 --feature-name EffNetLite0
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without install

from evaluators.mllm.generation.feature_net import FeatureNet, folder_frechet_distance  # noqa: E402
from evaluators.mllm.generation.genai_bench import genai_jobs  # noqa: E402
from evaluators.mllm.generation.geneval import geneval_jobs  # noqa: E402
from evaluators.mllm.generation.mjhq import mjhq_jobs  # noqa: E402
from evaluators.mllm.generation.runner import generate_benchmark  # noqa: E402
from evaluators.mllm.generation.sampling import PipelineGenerator, SamplingSettings  # noqa: E402
from evaluators.mllm.pipeline_loading import load_unified_pipeline, runtime_description  # noqa: E402
from unitok.devices import add_device_arguments  # noqa: E402

LAYOUTS = """prompt files and outputs:
  geneval: --prompts evaluation_metadata.jsonl -> <output>/<index:05d>/metadata.jsonl + samples/<k:04d>.png
  genai:   --prompts genai_image.json (id -> {prompt}) -> <output>/<id>.jpeg
  mjhq:    --prompts meta_data.json (id -> {category, prompt}) -> <output>/<category>/<id>.png
Sampling settings go to <output>/generation_settings.json; --fid-ref results to <output>/frechet_distance.json."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, epilog=LAYOUTS,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bench", required=True, choices=["geneval", "genai", "mjhq"])
    parser.add_argument("--model", help="MLLM checkpoint folder (not needed with --skip-generation)")
    parser.add_argument("--unitok", default=None, help="UniTok tokenizer checkpoint, if not inside --model")
    parser.add_argument("--tokenizer", default=None, help="text tokenizer folder, if not inside --model")
    parser.add_argument("--prompts", required=True, type=Path)
    parser.add_argument("--output", required=True, type=Path)
    parser.add_argument("--cfg-scale", type=float, default=7.0)
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--top-k", type=int, default=0, help="0 = no top-k filtering")
    parser.add_argument("--top-p", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--num-positions", type=int, default=None,
                        help="image tokens per image (a square number); default: the model's own")
    parser.add_argument("--limit", type=int, default=None, help="only the first N images")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--samples-per-prompt", type=int, default=4, help="GenEval only")
    parser.add_argument("--skip-generation", action="store_true", help="only compute --fid-ref")
    parser.add_argument("--fid-ref", type=Path, default=None, help="reference image folder")
    parser.add_argument("--feature-net", type=Path, default=None, help="feature network: torch.export .pt2 or TorchScript file")
    parser.add_argument("--feature-name", default=None, help="label of the distance: FD-<name>")
    parser.add_argument("--feature-size", type=int, default=224, help="input side of the feature network")
    add_device_arguments(parser)
    return parser


def read_jobs(args: argparse.Namespace):
    if not args.prompts.is_file():
        raise FileNotFoundError(f"prompt file {args.prompts} not found")
    if args.bench == "geneval":
        jobs = geneval_jobs(args.prompts, args.samples_per_prompt)
    elif args.bench == "genai":
        jobs = genai_jobs(args.prompts)
    else:
        jobs = mjhq_jobs(args.prompts)
    return jobs[:args.limit] if args.limit is not None else jobs


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if (args.fid_ref is None) != (args.feature_net is None):
        parser.error("--fid-ref and --feature-net go together")
    if not args.skip_generation:
        if not args.model:
            parser.error("--model is required unless --skip-generation")
        jobs = read_jobs(args)
        settings = SamplingSettings(args.cfg_scale, args.temperature, args.top_k, args.top_p, args.seed,
                                    args.num_positions)
        pipeline = load_unified_pipeline(args.model, args.unitok, args.tokenizer, device=args.device,
                                         dtype=args.dtype, attn_implementation=args.attn_implementation)
        generate_benchmark(args.bench, jobs, args.output, PipelineGenerator(pipeline), settings, args.batch_size,
                           prompts_file=args.prompts,
                           recorded={"model": args.model, "unitok": args.unitok, "tokenizer": args.tokenizer,
                                     **runtime_description(pipeline)})
    if args.fid_ref is not None:
        net = FeatureNet.from_file(args.feature_net, args.feature_name, args.feature_size)
        result = folder_frechet_distance(args.output, args.fid_ref, net)
        (args.output / "frechet_distance.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
