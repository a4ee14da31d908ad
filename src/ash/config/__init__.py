"""Config-only experiments: YAML loading, schema, and two-step validation."""

from ash.config.errors import ConfigError, ConfigIssue
from ash.config.loader import load_experiment_dict, parse_override
from ash.config.resolve import ResolvedComponent, ResolvedExperiment, load_experiment, resolve
from ash.config.schema import ComponentSpec, Experiment

__all__ = [
    "ComponentSpec",
    "ConfigError",
    "ConfigIssue",
    "Experiment",
    "ResolvedComponent",
    "ResolvedExperiment",
    "load_experiment",
    "load_experiment_dict",
    "parse_override",
    "resolve",
]
