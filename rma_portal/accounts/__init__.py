"""Accounts: users with e-mail login, roles, and the login / password pages."""
