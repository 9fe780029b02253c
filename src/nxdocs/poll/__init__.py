"""The poll path: what serves `GET /v1/jobs/{id}` and waits on jobs for the API.

The public job body, the cache kept coherent by change notifications, the
readers of each database, and the waiter behind sync creates. It sits below
`system` (which builds it) and above the engine in `jobs/`, whose model and
notifications it reads.
"""
