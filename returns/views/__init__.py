"""Server-rendered pages of the returns app (the customer portal's returns)."""
