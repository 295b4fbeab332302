"""Print the third-party requirements of pyproject.toml (dependencies and every extra), one per line.

The shared dependency environment is installed from this list; the project itself is installed into
each checkout's own ``.venv`` (see scripts/setup.sh).
"""

import re
import sys
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

project = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text())["project"]
name = project["name"]
requirements = list(project["dependencies"])
for extra in project.get("optional-dependencies", {}).values():
    requirements += [r for r in extra if not re.match(rf"^{re.escape(name)}\b", r)]
sys.stdout.write("\n".join(dict.fromkeys(requirements)) + "\n")
