"""Users and groups synced from where they live (LDAP, a groups file): the principals an API key's user has at request time."""
