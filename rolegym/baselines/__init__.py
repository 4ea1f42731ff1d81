"""Baselines: micro models for CPU runs (GRPO trainers arrive with their issue)."""
