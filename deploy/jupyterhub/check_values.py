"""Check ``values.yaml`` against Zero to JupyterHub's own values schema, before ``helm install``.

    python deploy/jupyterhub/check_values.py path/to/values.schema.yaml

The schema is ``jupyterhub/values.schema.yaml`` of the zero-to-jupyterhub-k8s repository at
the chart version ``values.yaml`` names (``helm pull jupyterhub/jupyterhub --untar`` puts it in
the chart folder). It is not kept in this repository, so the check is run by hand, not in CI.
Keys the schema marks ``required`` are not checked: helm validates the chart's defaults merged
with our values, and the defaults hold them. Exit 1 and one line per problem when it fails.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft7Validator

VALUES = Path(__file__).with_name("values.yaml")


def schema_errors(schema: dict[str, Any], values: dict[str, Any]) -> list[str]:
    return [
        f"{'.'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}"
        for e in Draft7Validator(schema).iter_errors(values)
        if e.validator != "required"
    ]


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    schema = yaml.safe_load(Path(argv[1]).read_text())
    errors = schema_errors(schema, yaml.safe_load(VALUES.read_text()))
    for line in errors:
        print(line)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
