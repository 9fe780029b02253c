"""The poll path: what serves `GET /v1/jobs/{id}` and waits on jobs for the API.

The public job body, the cache kept coherent by change notifications, the
readers of each database, the waiter behind sync creates, and the listing
behind `GET /v1/jobs`. It sits below
`system` (which builds it) and above the engine in `jobs/`, whose model and
notifications it reads.
"""
