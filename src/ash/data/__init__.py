"""Market data: canonical schemas, sources, targets, splits and windows."""
