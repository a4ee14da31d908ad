"""Jobs: the end-to-end workflows built from every layer below (main job, replay, walk-forward)."""
