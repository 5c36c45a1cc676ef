"""Error answers: RFC 7807 bodies shaped like the API's ApiErrorResponse, and the exception that carries them."""

from __future__ import annotations

import uuid

from starlette.responses import JSONResponse

TYPES = {
    400: "https://tools.ietf.org/html/rfc7231#section-6.5.1",
    401: "https://tools.ietf.org/html/rfc7235#section-3.1",
    403: "https://tools.ietf.org/html/rfc7231#section-6.5.3",
    404: "https://tools.ietf.org/html/rfc7231#section-6.5.4",
    405: "https://tools.ietf.org/html/rfc7231#section-6.5.5",
    409: "https://tools.ietf.org/html/rfc7231#section-6.5.8",
    429: "https://tools.ietf.org/html/rfc6585#section-4",
    500: "https://tools.ietf.org/html/rfc7231#section-6.6.1",
}
VALIDATION_TITLE = "One or more validation errors occurred."


class ApiError(Exception):
    def __init__(
        self, status: int, title: str, errors: dict[str, list[str]] | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(title)
        self.status, self.title, self.errors, self.headers = status, title, errors or {}, headers or {}


def validation(errors: dict[str, list[str]], title: str = VALIDATION_TITLE) -> ApiError:
    return ApiError(400, title, errors)


def problem_body(status: int, title: str, errors: dict[str, list[str]] | None = None) -> dict:
    return {
        "type": TYPES.get(status, TYPES[500]),
        "title": title,
        "status": status,
        "traceId": f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-00",
        "errors": errors or {},
        "data": {},
    }


def problem_response(error: ApiError) -> JSONResponse:
    return JSONResponse(
        problem_body(error.status, error.title, error.errors), status_code=error.status, headers=error.headers
    )
