"""Griffe extension for the docs build: map ``isac_gym``'s package-dir subpackages.

The repository keeps ``agents/``, ``baselines/`` and ``experiments/`` at its top; the install maps
them to ``isac_gym.agents``, ``isac_gym.baselines`` and ``isac_gym.experiments`` (setuptools
``package-dir``). A regular install puts them under ``site-packages/isac_gym/``, where griffe finds
them, but griffe does not follow the mapping of an editable install (``pip install -e .``). This
extension loads each missing subpackage from the folder that the import system resolves and
attaches it to the ``isac_gym`` package. Used by ``mkdocs.yml`` (mkdocstrings ``extensions``).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import griffe

SUBPACKAGES = ("agents", "baselines", "experiments")


class IsacGymPackageDirs(griffe.Extension):
    """Attach ``isac_gym.{agents,baselines,experiments}`` when griffe did not find them."""

    def on_package(self, *, pkg: griffe.Module, loader: griffe.GriffeLoader, **kwargs: Any) -> None:
        if pkg.name != "isac_gym":
            return
        for name in SUBPACKAGES:
            if name in pkg.members:
                continue
            spec = importlib.util.find_spec(f"isac_gym.{name}")
            if spec is None or spec.origin is None:
                continue
            sub = loader._load_module(name, Path(spec.origin), submodules=True, parent=pkg)
            pkg.set_member(name, sub)
