"""The one source of truth for the MLLM token layout and prompt text (Llama-2 ids)."""

PAD_TOKEN_ID = 0          # pad = unk in the official training code
BOS_TOKEN_ID = 1
EOS_TOKEN_ID = 2
BOI_TOKEN_ID = 3          # byte token <0x00>: "\x00" in a prompt tokenizes to it
EOI_TOKEN_ID = 4          # byte token <0x01>
IMAGE_TOKEN_INDEX = -200  # placeholder id for an image slot in input_ids
IGNORE_INDEX = -100

IMAGE_PLACEHOLDER = "<image>"
T2I_SUFFIX = " Generate an image based on this description."
UNCONDITIONAL_PROMPT = "<unconditional>"
CAPTION_PROB_LONG = 0.8   # pick the long re-caption over the original caption
UNCONDITIONAL_PROB = 0.1  # replace the T2I prompt by UNCONDITIONAL_PROMPT
Z_LOSS_WEIGHT = 5e-5

VICUNA_SYSTEM = ("A chat between a curious user and an artificial intelligence assistant. "
                 "The assistant gives helpful, detailed, and polite answers to the user's questions.")
VICUNA_ROLES = ("USER", "ASSISTANT")
VICUNA_SEP = " "
VICUNA_SEP2 = "</s>"
SHORT_ANSWER_INSTRUCTION = "Answer the question using a single word or phrase."
