"""Server-rendered pages of the complaints app (the customer portal's complaints)."""
