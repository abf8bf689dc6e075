"""REST API of complaints (API v1): list, filing, the thread, files, transitions and rating."""
