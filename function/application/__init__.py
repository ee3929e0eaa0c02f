"""TauApplication: a Deployment (and Service, Ingress) that can own a database.

The layout every kind follows: the API model is `function.api.application`;
`plan` resolves and checks a spec; `manifests` turns the plan into manifests;
`status` reads the claim's status and condition from observed state;
`composer` puts them together, the database composed by the PostgresDatabase
composer and merged in.
"""
