"""REST API of customer companies' orders (serializers, and the order endpoints' base)."""
