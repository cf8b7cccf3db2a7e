"""Reading a request's body on the collector, bounded in size and time (every route reads it the same way)."""

from __future__ import annotations

import asyncio
from typing import NamedTuple

from aiohttp import web


class BodyProblem(NamedTuple):
    """Why a body could not be read: the status to answer and what to say."""

    status: int  # 413 over the size limit, 408 not received in time
    message: str


async def read_body(request: web.Request, timeout: float) -> bytes | BodyProblem:
    """The raw body, or why it could not be had (the app's ``client_max_size`` bounds its size)."""
    try:
        return await asyncio.wait_for(request.read(), timeout)
    except web.HTTPRequestEntityTooLarge:
        return BodyProblem(413, "body over the size limit")
    except TimeoutError:
        return BodyProblem(408, "body not received in time")


def json_problem(problem: BodyProblem) -> web.Response:
    """A JSON answer for a body that could not be read; a slow sender's connection is closed."""
    response = web.json_response({"error": problem.message}, status=problem.status)
    if problem.status == 408:
        response.force_close()
    return response
