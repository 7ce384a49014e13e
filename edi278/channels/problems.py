"""The API's error answers, all of one shape: {"error": what is wrong, "code": a stable
word}, never an echo of what was sent (FastAPI's own 422 lists each bad input, and a
query or body may hold a member's data)."""

from __future__ import annotations

import re

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
         405: "method_not_allowed", 413: "too_large", 415: "unsupported_media_type"}  # fmt: skip


def add_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(HTTPException)  # Starlette's: its 404 and 405 too, not only ours
    async def problem(_request: Request, error: HTTPException) -> JSONResponse:
        if isinstance(error.detail, dict):
            detail = error.detail
        else:  # the framework's own: a fixed phrase, never the input
            detail = {"error": str(error.detail), "code": CODES.get(error.status_code, "error")}
        return JSONResponse({"code": "error", **detail}, status_code=error.status_code,
                            headers=error.headers)  # fmt: skip

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, error: RequestValidationError) -> JSONResponse:
        first = error.errors()[0] if error.errors() else {}
        where = ".".join(str(part) for part in first.get("loc", ())) or "request"
        # pydantic's message names the rule broken ("Input should be a valid date"),
        # not the value: the value itself ("input") is left out
        message = f"{where}: {first.get('msg', 'invalid')}"
        return JSONResponse({"error": message, "code": "invalid"}, status_code=422)


def unquoted(message: str, *given: str, quoted_only: tuple[str, ...] = ()) -> str:
    """An error message of the core (which names what it was given, for an operator at a
    terminal) with each value the caller sent said as "this": quoted or as a whole word,
    and for `quoted_only` (short codes a message may also name as examples) quoted only."""
    for value in sorted({v.strip() for v in given if v and v.strip()}, key=len, reverse=True):
        message = message.replace(repr(value), "this")
        message = re.sub(rf"(?<!\w){re.escape(value)}(?!\w)", "this", message)
    for value in quoted_only:
        message = message.replace(repr(value), "this")
    return message
