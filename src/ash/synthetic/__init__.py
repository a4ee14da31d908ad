"""A synthetic market with known dynamics and an oracle (the yardstick of forecast quality).

See docs/synthetic.md for the model's equations and what each observable carries.
"""

from ash.synthetic.config import PRESETS, SyntheticConfig, preset

__all__ = ["PRESETS", "SyntheticConfig", "preset"]
