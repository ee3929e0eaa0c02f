"""PostgresInstance: a CloudNativePG cluster that several PostgresDatabases of its namespace live on."""
