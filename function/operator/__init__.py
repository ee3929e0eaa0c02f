"""CNPGOperator: the CloudNativePG operator (and optionally its Barman Cloud plugin and a snapshot class).

The layout every kind follows: the API model is `function.api.operator`;
`plan` resolves and checks a spec; `manifests` turns the plan into manifests;
`status` reads the composite's status and condition from observed state;
`composer` puts them together.
"""
