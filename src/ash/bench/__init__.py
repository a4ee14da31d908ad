"""The benchmark suite (``ash bench``): every speed and quality claim, rerunnable in one command."""
