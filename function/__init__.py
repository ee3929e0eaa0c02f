"""function-tau: PostgreSQL databases as a service on CloudNativePG, as a Crossplane function."""
