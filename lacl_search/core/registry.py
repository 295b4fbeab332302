"""Named models: where a registered name such as ``default`` lives on this machine.

The registry knows names and folders only; it loads nothing and imports no model code (the
:class:`~lacl_search.core.encoder.Encoder` asks it, never the reverse). Installing the default model is
a provisioning step (``lacl-search model install``, in ``lacl_provision.models``), which writes the folder
that :func:`locate` returns.
"""

from __future__ import annotations

from pathlib import Path

from lacl_search.core.paths import cache_dir
from lacl_search.errors import ArtifactMissing

DEFAULT_NAME = "default"
DEFAULT_MODEL = "multilingual-e5-small-q4"
# name -> folder under the cache's models/ folder
NAMES: dict[str, str] = {DEFAULT_NAME: DEFAULT_MODEL, DEFAULT_MODEL: DEFAULT_MODEL}


def is_registered(name: str) -> bool:
    return name in NAMES


def model_dir(name: str = DEFAULT_NAME) -> Path:
    """The folder a registered model is (or will be) installed in."""
    if name not in NAMES:
        raise ArtifactMissing(f"no model registered as {name!r}; registered: {sorted(NAMES)}")
    return cache_dir("models") / NAMES[name]


def locate(name: str = DEFAULT_NAME) -> str:
    """The installed folder of a registered model, or :class:`ArtifactMissing` saying how to install it."""
    path = model_dir(name)
    if not (path / "config.json").is_file():
        raise ArtifactMissing(
            f"the model {name!r} is not installed (expected in {path}); run `lacl-search model install`"
        )
    return str(path)


def resolve(name_or_path: str) -> str:
    """A registered name's folder; any other string (a local folder or a hub id) is passed on."""
    return locate(name_or_path) if name_or_path in NAMES else str(name_or_path)
