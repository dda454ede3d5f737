"""Packages for the wheel. Everything else is in pyproject.toml.

The one thing pyproject.toml cannot say: `profiles/` (YAML data, kept at the top of the
checkout) ships inside the wheel as the package `quantgate.profiles_data`.
"""

from setuptools import find_packages, setup

setup(
    packages=[
        *find_packages(include=["quantgate*", "gateway*", "evalsuite*", "loadtest*", "quantize*"]),
        "quantgate.profiles_data",
    ],
    package_dir={"quantgate.profiles_data": "profiles"},
)
