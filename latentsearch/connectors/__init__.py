"""Company-data sources for `latentsearch sync`: the connector interface (`base`), the sync runner
and the connectors (SQL, git, web, mail, files). They use only the public API."""
