"""GPU runs: Qwen3-shaped models and the offline script that builds, installs and benchmarks."""
