"""OpenAPI links: the id a creating call returns feeds every operation on the resource it created, so clients and
stateful fuzzers (schemathesis' state machine) can follow create -> read, cancel, delete without guessing ids."""

from __future__ import annotations

from typing import Any

METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
# (creating operation, its status, the created resource's path, that path's parameter): the response body's `id`.
# POST /sweeps/{id}/retrain and POST /datasets/upload also create a job or a data set, but get no links: schemathesis 3
# names a link's rule by target and status only, so a second source for the same target would shadow the first.
CREATORS = (
    ("/api/v1/jobs", "202", "/api/v1/jobs/{job_id}", "job_id"),
    ("/api/v1/datasets", "202", "/api/v1/datasets/{dataset_id}", "dataset_id"),
    ("/api/v1/sweeps", "202", "/api/v1/sweeps/{sweep_id}", "sweep_id"),
)
# (operation, status, target path, target method, parameter): a deleted data set's id goes on to its read, a 404.
FOLLOWERS = (("/api/v1/datasets/{dataset_id}", "delete", "204", "/api/v1/datasets/{dataset_id}", "get", "dataset_id"),)


def _operations_under(paths: dict[str, Any], prefix: str) -> list[dict[str, Any]]:
    """Every operation whose path is `prefix` or below it."""
    return [
        operation
        for path, item in paths.items()
        if path == prefix or path.startswith(prefix + "/")
        for method, operation in item.items()
        if method in METHODS
    ]


def add_links(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` (FastAPI's OpenAPI document) with the links above added to its responses, in place."""
    paths: dict[str, Any] = schema["paths"]
    for creator, status, prefix, parameter in CREATORS:
        links = paths[creator]["post"]["responses"][status].setdefault("links", {})
        for operation in _operations_under(paths, prefix):
            links[operation["operationId"]] = {
                "operationId": operation["operationId"],
                "parameters": {parameter: "$response.body#/id"},
                "description": f"`{parameter}` is the `id` of the response",
            }
    for path, method, status, target, target_method, parameter in FOLLOWERS:
        links = paths[path][method]["responses"][status].setdefault("links", {})
        operation_id = paths[target][target_method]["operationId"]
        links[operation_id] = {
            "operationId": operation_id,
            "parameters": {parameter: f"$request.path.{parameter}"},
            "description": "the same object, now gone",
        }
    return schema
