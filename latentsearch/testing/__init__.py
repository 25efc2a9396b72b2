"""Test and demo helpers: the tiny CLIP model, a `latentsearch serve` child process and the
Google analogy set. Nothing in the product imports this package."""
