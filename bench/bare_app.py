"""The yardstick for the poll benchmark: a bare Starlette endpoint returning fixed bytes.

Same route shape, same server settings as `nxdocs serve`, no auth and no
database, so the ratio of the two measures what nxdocs adds per poll.
"""

from __future__ import annotations

import sys
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


def main() -> None:
    port, body_file = int(sys.argv[1]), Path(sys.argv[2])
    body = body_file.read_bytes()

    async def get_job(_request: Request) -> Response:
        return Response(body, media_type="application/json")

    app = Starlette(routes=[Route("/v1/jobs/{job_id}", get_job, methods=["GET"])])
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
