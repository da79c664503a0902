"""Evaluation of UniTok tokenizers: PSNR/SSIM/LPIPS, Fréchet distance, zero-shot accuracy, codebook usage."""
