"""Text-to-image benchmarks: prompt files in, images out in each benchmark's folder layout,
plus the Frechet distance against a reference folder."""
