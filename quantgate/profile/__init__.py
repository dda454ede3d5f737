"""The profile schema and its YAML loader: the contract every quantgate package shares."""

from quantgate.profile.loader import load_profile, parse_profile
from quantgate.profile.paths import resolve_path
from quantgate.profile.schema import (
    ContextBand,
    Engine,
    Evidence,
    ExternalEngine,
    LlamaCppEngine,
    Profile,
    QualityRule,
    QuantSpec,
    Routing,
    Variant,
    VariantCost,
    VllmEngine,
)

__all__ = [
    "ContextBand",
    "Engine",
    "Evidence",
    "ExternalEngine",
    "LlamaCppEngine",
    "Profile",
    "QualityRule",
    "QuantSpec",
    "Routing",
    "Variant",
    "VariantCost",
    "VllmEngine",
    "load_profile",
    "parse_profile",
    "resolve_path",
]
