"""PostgresDatabase: a database on its own CNPG cluster.

The layout every kind follows: the API model is `function.api.postgres`;
`plan` resolves a spec into a plan (every value concrete and checked);
`manifests` (with `credentials` for the Secret and `restore` for the
bootstrap) turns the plan into manifests; `status` reads the claim's status
and conditions from observed state; `composer` puts them together.
"""
