"""Ensembles of trained runs: a per-horizon weighted mixture of their probabilities, fitted on
the validation span by NLL, exported as one contract-v1 model (docs/families.md)."""
