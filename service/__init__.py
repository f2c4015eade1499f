"""redflag's edges: the HTTP API (FastAPI) and the `redflag` command line."""
