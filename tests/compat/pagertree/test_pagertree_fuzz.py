"""The PagerTree compatibility API in the OpenAPI document: every operation under the
"compat: PagerTree" tag. Schemathesis fuzzes it with every other surface in
``tests/api/test_schemathesis.py`` (one run, its own credentials per security scheme)."""

from __future__ import annotations


def test_openapi_lists_every_operation_under_the_vendor_tag(server: str) -> None:
    import httpx2 as httpx

    paths = httpx.get(f"{server}/openapi.json").json()["paths"]
    tags = [op["tags"] for path, ops in paths.items() if path.startswith("/compat/pagertree/")
            for op in ops.values()]
    assert tags == [["compat: PagerTree"]] * 5
