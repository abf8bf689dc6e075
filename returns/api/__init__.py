"""REST API of return requests and of orders' returnable quantities (API v1)."""
