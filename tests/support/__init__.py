"""Test support: requests, observed state, upstream schemas and the real Crossplane CLI."""
