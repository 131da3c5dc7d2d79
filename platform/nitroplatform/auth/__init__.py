"""Authentication and authorisation: passwords, sessions, CSRF, API tokens, login throttling, roles, scope."""
