"""The bar builder: events -> a regular grid of bars (core, mirrored by inference-rs)."""
