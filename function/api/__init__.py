"""The API: typed models of the claims and the function input.

These models are the single source of truth for the XRD schemas in `apis/` and
the input CRD in `package/input/` (see `function.api.schema`).
"""
