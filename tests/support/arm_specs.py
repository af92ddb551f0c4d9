"""Request-body validation against the official Azure REST API specs (Swagger 2.0).

ARM refuses a body whose required fields, types or enums are wrong, so the fake must too:
a service that passes here sends what the real API accepts. The specs are the files copied
from Azure/azure-rest-api-specs (see their README); they are looked up in, in order,
$ARM_SPECS_DIR, tests/support/azure_specs/ (vendored copy) and /work/shared/azure-specs/.

Two deliberate readings, both how ARM behaves in practice:
- `allOf` is flattened into the child (properties and required merged), so a child's
  `additionalProperties: false` cannot reject what it inherits;
- `additionalProperties: false` is then dropped: ARM ignores unknown extra properties
  (e.g. `kind: "V1"` on an API connection), while required fields, types and enums stand.
"""

from __future__ import annotations

import copy
import functools
import json
import os
from pathlib import Path
from typing import Any

SPEC_FILES = {
    "ContainerGroup": "containerInstance_2023-05-01.json",
    "ApiConnectionDefinition": "logicAppsManagementClient_2016-06-01.json",
    "Workflow": "logic_2019-05-01_workflow_subset.json",
}


def specs_dir() -> Path:
    """Where the spec files live; the first candidate that holds them wins."""
    candidates = []
    if os.environ.get("ARM_SPECS_DIR"):
        candidates.append(Path(os.environ["ARM_SPECS_DIR"]))
    candidates.append(Path(__file__).parent / "azure_specs")
    candidates.append(Path("/work/shared/azure-specs"))
    for candidate in candidates:
        if (candidate / SPEC_FILES["ContainerGroup"]).is_file():
            return candidate
    raise FileNotFoundError(
        "Azure REST API spec files not found; set ARM_SPECS_DIR or vendor them into "
        f"{Path(__file__).parent / 'azure_specs'} (tried: {', '.join(map(str, candidates))})"
    )


def _resolve(defs: dict[str, Any], ref: str) -> dict[str, Any]:
    name = ref.rsplit("/", 1)[-1]
    return defs[name]


def _flatten(defs: dict[str, Any], node: Any, seen: tuple[str, ...] = ()) -> Any:
    """Merge every `allOf` parent into its child and drop `additionalProperties: false`."""
    if isinstance(node, list):
        return [_flatten(defs, item, seen) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "allOf":
            continue
        if key == "additionalProperties" and value is False:
            continue
        if key == "properties" and isinstance(value, dict):
            out[key] = {name: _flatten(defs, sub, seen) for name, sub in value.items()}
        else:
            out[key] = _flatten(defs, value, seen)
    for parent in node.get("allOf", []):
        if "$ref" in parent:
            name = parent["$ref"].rsplit("/", 1)[-1]
            if name in seen:
                continue
            parent = _flatten(defs, _resolve(defs, parent["$ref"]), (*seen, name))
        else:
            parent = _flatten(defs, parent, seen)
        for name, sub in parent.get("properties", {}).items():
            out.setdefault("properties", {}).setdefault(name, sub)
        required = list(out.get("required", []))
        for name in parent.get("required", []):
            if name not in required:
                required.append(name)
        if required:
            out["required"] = required
        if "type" in parent and "type" not in out:
            out["type"] = parent["type"]
    return out


@functools.cache
def _validator(definition: str) -> Any:
    import jsonschema

    spec = json.loads((specs_dir() / SPEC_FILES[definition]).read_text(encoding="utf-8"))
    defs = copy.deepcopy(spec["definitions"])
    flat = {name: _flatten(defs, body) for name, body in defs.items()}
    schema = {"$ref": f"#/definitions/{definition}", "definitions": flat}
    jsonschema.Draft4Validator.check_schema(schema)
    return jsonschema.Draft4Validator(schema)


def _path(error: Any) -> str:
    text = ""
    for part in error.absolute_path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(body)"


def validate(definition: str, body: Any) -> list[str]:
    """Every violation of `definition` in `body` as "<path>: <why>", in path order."""
    errors = sorted(
        _validator(definition).iter_errors(body), key=lambda e: [str(p) for p in e.absolute_path]
    )
    return [f"{_path(e)}: {e.message}" for e in errors]
