"""Composition: small pure functions from typed models to manifests.

One module per resource family. Data flows one way: the request becomes typed
models (`function.api`), the models a resolved plan (`plan`), the plan
manifests, the manifests Objects (`function.objects`), and those the response.
"""
