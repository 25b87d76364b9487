"""Who is acting: users, roles, password and token checks, and the one permission check `require`."""
