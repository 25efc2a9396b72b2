"""The HTTP API reference, rendered from the FastAPI app's OpenAPI schema at build time.

A page that holds the line ``<!-- openapi-reference -->`` gets, in its place, a table of every
route (method, path, parameters, request and answer bodies, status codes) and a table of fields
per schema. The schema itself is published beside the page as ``openapi.json``. It comes from
``create_app(...).openapi()``, which builds the routes without opening an index, so the build
needs no database, no model and no network.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

PLACEHOLDER = "<!-- openapi-reference -->"
SCHEMA_FILE = "openapi.json"
METHOD_ORDER = ("get", "post", "put", "patch", "delete")


def openapi() -> dict[str, Any]:
    """The server's OpenAPI document, as ``/openapi.json`` serves it."""
    from latentsearch.server import Settings, create_app

    schema: dict[str, Any] = create_app(Settings(index=Path("."), warm=False)).openapi()
    return schema


def _escape(text: str) -> str:
    text = " ".join(text.replace("``", "`").split())
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def type_of(schema: dict[str, Any]) -> str:
    """A short type: ``string``, ``array of number``, [`Fusion`](#fusion), ``a | b``."""
    if "$ref" in schema:
        name = _ref_name(schema["$ref"])
        return f"[`{name}`](#{name.lower()})"
    for union in ("anyOf", "oneOf"):
        if union in schema:
            parts = [type_of(s) for s in schema[union] if s.get("type") != "null"]
            nullable = any(s.get("type") == "null" for s in schema[union])
            return " or ".join(parts) + (" or null" if nullable else "")
    if "enum" in schema:
        return " or ".join(f"`{json.dumps(v)}`" for v in schema["enum"])
    kind = schema.get("type", "any")
    if kind == "array":
        return f"array of {type_of(schema.get('items', {}))}"
    if kind == "object" and "additionalProperties" in schema:
        extra = schema["additionalProperties"]
        return "object" if extra is True else f"object of {type_of(extra)}"
    return str(kind)


def _limits(schema: dict[str, Any]) -> str:
    found: list[str] = []
    for part in [schema, *schema.get("anyOf", [])]:
        for key, label in (
            ("minimum", "≥"),
            ("maximum", "≤"),
            ("minLength", "length ≥"),
            ("maxLength", "length ≤"),
            ("minItems", "items ≥"),
            ("maxItems", "items ≤"),
        ):
            if key in part:
                value = part[key]
                value = int(value) if float(value).is_integer() else value
                found.append(f"{label} {value}")
    return ", ".join(found)


def _body(content: dict[str, Any] | None) -> str:
    if not content:
        return ""
    parts = []
    for media, spec in content.items():
        schema = spec.get("schema", {})
        parts.append(type_of(schema) if schema else f"`{media}`")
    return ", ".join(parts)


def routes(schema: dict[str, Any]) -> list[str]:
    lines = [
        "| method and path | what | parameters | body | answer | status codes |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for path, ops in schema["paths"].items():
        for method in sorted(ops, key=METHOD_ORDER.index):
            op = ops[method]
            what = op.get("description") or op.get("summary", "")
            params = ", ".join(f"`{p['name']}` ({p['in']})" for p in op.get("parameters", []))
            body = _body(op.get("requestBody", {}).get("content"))
            ok = [c for c in op["responses"] if c.startswith("2")]
            answer = ", ".join(_body(op["responses"][c].get("content")) or "" for c in ok)
            codes = ", ".join(op["responses"])
            lines.append(
                f"| `{method.upper()} {path}` | {_escape(what)} | {params} | {body} "
                f"| {answer} | {codes} |"
            )
    return lines


def schemas(schema: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    for name, spec in sorted(schema.get("components", {}).get("schemas", {}).items()):
        lines += [f"### {name} {{#{name.lower()}}}", ""]
        if spec.get("description"):
            lines += [_escape(spec["description"]), ""]
        required = set(spec.get("required", []))
        lines += ["| field | type | required | default | limits | meaning |"]
        lines += ["| --- | --- | --- | --- | --- | --- |"]
        for field, prop in spec.get("properties", {}).items():
            default = f"`{json.dumps(prop['default'])}`" if "default" in prop else ""
            lines.append(
                f"| `{field}` | {_escape(type_of(prop))} | {'yes' if field in required else ''} "
                f"| {default} | {_limits(prop)} | {_escape(prop.get('description', ''))} |"
            )
        lines.append("")
    return lines


def render(schema: dict[str, Any] | None = None) -> str:
    """The reference as Markdown: the routes, then the schemas of their bodies."""
    schema = schema or openapi()
    info = schema["info"]
    lines = [
        f"Generated from the server's OpenAPI {schema['openapi']} schema "
        f"(`{info['title']}` {info['version']}); download it as [{SCHEMA_FILE}]({SCHEMA_FILE}).",
        "",
        "## Routes",
        "",
        *routes(schema),
        "",
        "## Schemas",
        "",
        *schemas(schema),
    ]
    return "\n".join(lines)


def on_files(files: Any, config: Any) -> Any:
    """mkdocs hook: publish the schema as ``openapi.json`` beside the pages."""
    from mkdocs.structure.files import File

    content = json.dumps(openapi(), indent=2) + "\n"
    files.append(File.generated(config, SCHEMA_FILE, content=content))
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    """mkdocs hook: replace the placeholder with the rendered reference."""
    if PLACEHOLDER in markdown:
        return markdown.replace(PLACEHOLDER, render())
    return markdown
