"""The real-time HTTP API (FastAPI): one 278 in, its answer out, through the same core
as every other channel; inquiry and review over the store.

Errors are JSON: {"error": what is wrong, "code": a stable word}. A rejected X12
request is not an HTTP error in kind, but its answer (the 999 or TA1) comes with 422
(rejected by the guide) or 400 (envelope rejected), so that a caller that only looks at
the status still sees it.
"""

import io
import json
import os
import re
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Any

from anyio import CapacityLimiter, to_thread
from fastapi import Depends, FastAPI, Header, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import Engine, text

from edi278 import heap, log
from edi278.channels import answer_bytes, intake_for
from edi278.channels.admission import Admission, Limits
from edi278.channels.api_docs import add_documentation
from edi278.channels.idempotency import (
    RETRY_AFTER_SECONDS,
    KeyConflict,
    KeyInProgress,
    answer_once,
)
from edi278.channels.problems import add_problem_handlers, unquoted
from edi278.clock import Clock, from_environment, system_clock
from edi278.decide import clocks
from edi278.decide.policy import Policy
from edi278.decide.tracking import TrackingNumberError
from edi278.ig import Guide
from edi278.jsonform import JsonFormError, check_document, from_json, to_json
from edi278.model import Envelope
from edi278.reader import read_requests
from edi278.review import (
    FINAL_ACTIONS,
    Review,
    ReviewError,
    ReviewRefused,
    ReviewUsageError,
    decide_case,
    pended_cases,
)
from edi278.spool import text_of
from edi278.store.database import reading
from edi278.store.inquiry import CaseView, Question, UnknownTrackingNumber, find_cases
from edi278.store.interchanges import interchanges_answering
from edi278.store.numbers import DatabaseControlNumbers
from edi278.store.partners import Caller, caller_of
from edi278.writer import write_interchange
from edi278.x12.delimiters import Delimiters
from edi278.x12.senders import strangers
from edi278.x12.writer import write

LOG = log.get("edi278.http")
X12 = "application/edi-x12"
DEFAULT_MAX_BODY = 1_000_000  # bytes: a real-time request is one 278, never megabytes
# Requests in hand at once before more are turned away with 503 and Retry-After: past
# this, each would only wait longer in the thread pool, and a caller is better told to
# come back than left to time out without knowing whether it was heard.
DEFAULT_MAX_INFLIGHT = 24
# One partner's share of those: the rest stay free for the others, whatever it sends.
DEFAULT_MAX_PER_PARTNER = 16
# Seconds to receive a whole body: a 1 MB body on a slow line takes a second or two; a
# body slower than this is a connection held open, not a request on its way.
DEFAULT_READ_TIMEOUT = 10.0
WORKING_THREADS = 4
US = ("ZZ", "EDI278")  # what JSON requests are addressed to


class Problem(BaseModel):
    error: str
    code: str


class DecisionBody(BaseModel):
    action: str = Field(description="HCR01: " + ", ".join(FINAL_ACTIONS))
    reason: str = Field("", description="HCR03 (code source 886); required unless A1")
    quantity: int | None = Field(None, ge=1, description="days or visits certified")
    note: str = Field(description="what the decision rests on (sent as MSG)")
    reviewer: str = Field(
        description="the deciding user (edi278 user add): a nurse or a medical director; "
        "only a medical director may deny (A3)"
    )
    criteria: str = Field("", description="the criteria the decision rests on; required for A3")


# `serve --workers N`: each worker process builds its app from the settings the command
# leaves in its environment, and counts into files that /metrics adds up.
FACTORY = "edi278.channels.http:app_from_environment"
SETTINGS_VARIABLE = "EDI278_SERVE_SETTINGS"
METRICS_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"  # prometheus_client's multiprocess mode


@dataclass(frozen=True)
class Settings:
    database_url: str
    policy_path: str | None
    max_body: int
    max_inflight: int
    max_per_partner: int = DEFAULT_MAX_PER_PARTNER
    read_timeout: float = DEFAULT_READ_TIMEOUT
    metrics_key: str | None = None

    def limits(self) -> Limits:
        return Limits(self.max_body, self.max_inflight, self.max_per_partner,
                      self.read_timeout, self.metrics_key)  # fmt: skip


@contextmanager
def worker_environment(settings: Settings) -> Iterator[None]:
    """The settings for the worker processes and a fresh folder for their metrics, in
    this process's environment (which they inherit) while they run."""
    with tempfile.TemporaryDirectory(prefix="edi278-metrics-") as folder:
        saved = {name: os.environ.get(name) for name in (SETTINGS_VARIABLE, METRICS_VARIABLE)}
        os.environ[SETTINGS_VARIABLE] = json.dumps(asdict(settings))
        os.environ[METRICS_VARIABLE] = folder
        try:
            yield
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


def app_from_environment() -> FastAPI:
    """A worker's app (uvicorn calls this in each worker process)."""
    from edi278.decide.policy import default_policy, load_policy
    from edi278.store.database import open_database

    settings = Settings(**json.loads(os.environ[SETTINGS_VARIABLE]))
    log.configure("INFO")
    policy = load_policy(Path(settings.policy_path)) if settings.policy_path else default_policy()
    engine = open_database(settings.database_url)
    return create_app(engine, policy, settings.limits(), from_environment())


def _exposed(own: CollectorRegistry) -> CollectorRegistry:
    """What /metrics shows: this process's metrics, or every worker's added up."""
    if METRICS_VARIABLE not in os.environ:
        return own
    every_worker = CollectorRegistry()
    multiprocess.MultiProcessCollector(every_worker)
    return every_worker


@dataclass
class Service:
    engine: Engine
    policy: Policy
    guide: Guide
    limits: Limits
    registry: CollectorRegistry
    requests: Counter
    latency: Histogram
    outcomes: Counter
    backlog: Gauge
    half_answered: Gauge
    answering: CapacityLimiter | None = None  # the threads requests are answered on
    clock: Clock = system_clock


def create_app(
    engine: Engine,
    policy: Policy,
    limits: Limits | None = None,
    clock: Clock = system_clock,
) -> FastAPI:
    registry = CollectorRegistry()
    service = Service(
        engine,
        policy,
        Guide(),
        limits or Settings("", None, DEFAULT_MAX_BODY, DEFAULT_MAX_INFLIGHT).limits(),
        registry,
        Counter("edi278_http_requests", "HTTP requests", ["route", "status"], registry=registry),
        Histogram("edi278_http_seconds", "HTTP request latency", ["route"], registry=registry),
        Counter("edi278_outcomes", "decisions answered, by HCR01", ["action"], registry=registry),
        Gauge(
            "edi278_pended_backlog",
            "cases pended for review",
            registry=registry,
            multiprocess_mode="mostrecent",  # with --workers: the latest any worker counted
        ),
        Gauge(
            "edi278_interchanges_answering",
            "interchanges being answered in chunks, or left so by a crash",
            registry=registry,
            multiprocess_mode="mostrecent",
        ),
        clock=clock,
    )
    app = FastAPI(
        lifespan=_lifespan,
        title="edi278",
        version="1",
        description="X12 278 (005010X217) health care services review, in real time.",
        responses={401: {"model": Problem}, 413: {"model": Problem}, 503: {"model": Problem}},
        docs_url=None,  # FastAPI's pages load from a CDN: ours are served from the package
        redoc_url=None,
    )
    app.state.service = service
    add_documentation(app)

    def identify(key: str | None) -> Caller | None:
        with reading(engine).connect() as connection:
            return caller_of(connection, key, service.clock())

    def counted(route: str, status: int, seconds: float) -> None:
        service.requests.labels(route, str(status)).inc()
        service.latency.labels(route).observe(seconds)

    app.add_middleware(Admission, limits=service.limits, identify=identify, counted=counted)
    add_problem_handlers(app)

    _routes(app, service)
    return app


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    # The work of a request is CPU and SQLite, one writer at a time: threads past a few
    # only take turns at the interpreter lock, each turn costing them all. The rest of
    # the requests in hand wait for a thread (still counted against --max-inflight).
    # Answering has threads of its own, so a slow inquiry cannot hold a 278 up: on
    # SQLite one, since a second only takes turns with it (180 requests a second on two
    # workers, two runs each: one thread turned 0 and 62 away, four 120 and 179); on
    # PostgreSQL a few, which run while others wait on the server.
    to_thread.current_default_thread_limiter().total_tokens = WORKING_THREADS
    service = app.state.service
    sqlite = service.engine.dialect.name == "sqlite"
    service.answering = CapacityLimiter(1 if sqlite else WORKING_THREADS)
    await to_thread.run_sync(_warm, service)
    heap.settle()  # no request is waiting yet for the one full collection it runs
    yield


def _warm(service: Service) -> None:
    """What the first request would otherwise load, loaded before the server takes one:
    the guide's maps and the holiday calendar (about 400 ms between them)."""
    service.guide.warm()
    clocks.warm(service.clock().date())


def _problem(status: int, message: str, code: str) -> JSONResponse:
    return JSONResponse({"error": message, "code": code}, status_code=status)


def _fail(status: int, message: str, code: str) -> HTTPException:
    return HTTPException(status, {"error": message, "code": code})


def _routes(app: FastAPI, service: Service) -> None:
    read_body = _body(service)

    def caller(x_api_key: str | None = Header(None)) -> Caller:
        return _caller(service, x_api_key)

    @app.post(
        "/v1/x12/278",
        summary="Answer one X12 278 interchange",
        response_class=Response,
        responses={200: {"content": {X12: {}}, "description": "the 278 response"},
                   400: {"content": {X12: {}}, "description": "a TA1: envelope rejected"},
                   422: {"content": {X12: {}}, "description": "a 999: rejected by the guide"},
                   403: {"model": Problem}, 415: {"model": Problem}},
    )  # fmt: skip
    async def x12_278(
        body: Annotated[bytes, Depends(read_body)],
        content_type: str = Header("", alias="content-type"),
        idempotency_key: str | None = Header(None),
        x_api_key: str | None = Header(None),
    ) -> Response:
        def answer() -> Response:
            who = _caller(service, x_api_key)
            if content_type.split(";")[0].strip().lower() not in (X12, "text/plain"):
                raise _fail(415, f"send the interchange as {X12}", "unsupported_media_type")
            if strangers(io.BytesIO(body), (who.sender,)):
                # Every interchange the pipeline would read, wherever it lies in the body:
                # none may speak for another partner. Refused before anything is recorded.
                raise _fail(403, "an interchange's ISA sender is not this API key's partner; "
                            "nothing was recorded", "wrong_sender")  # fmt: skip
            return _idempotent(service, who, idempotency_key, body,
                               lambda: _answer_x12(service, who, body))  # fmt: skip

        return await to_thread.run_sync(answer, limiter=service.answering)

    @app.post(
        "/v1/reviews",
        summary="Answer one request in the JSON form (schemas/278-request.schema.json)",
        responses={422: {"model": Problem}, 403: {"model": Problem}},
    )
    async def reviews_json(
        body: Annotated[bytes, Depends(read_body)],
        idempotency_key: str | None = Header(None),
        x_api_key: str | None = Header(None),
    ) -> Response:
        def answer() -> Response:
            who = _caller(service, x_api_key)
            return _idempotent(service, who, idempotency_key, body,
                               lambda: _answer_json(service, who, body))  # fmt: skip

        return await to_thread.run_sync(answer, limiter=service.answering)

    @app.get("/v1/reviews/{tracking_number}", summary="A case by tracking number",
             responses={404: {"model": Problem}, 400: {"model": Problem}})  # fmt: skip
    def review_by_number(
        tracking_number: str, who: Annotated[Caller, Depends(caller)]
    ) -> dict[str, Any]:
        try:
            found = _visible(service, who, Question(tracking=tracking_number))
        except TrackingNumberError as error:
            said = unquoted(str(error), tracking_number)
            raise _fail(400, said, "mistyped_tracking_number") from None
        except UnknownTrackingNumber:
            found = []
        if not found:
            raise _fail(404, "no such case for this partner", "not_found")
        return found[0].as_dict()

    @app.get("/v1/reviews", summary="Cases by member ID, or by name with provider and dates",
             responses={400: {"model": Problem}})  # fmt: skip
    def reviews_query(
        who: Annotated[Caller, Depends(caller)],
        member_id: str | None = None,
        last_name: str | None = None,
        first_name: str = "",
        provider_npi: str | None = None,
        start: date | None = None,
        end: date | None = None,
    ) -> list[dict[str, Any]]:
        if bool(member_id) == bool(last_name):
            raise _fail(400, "give member_id, or last_name with provider_npi, start and end",
                        "bad_query")  # fmt: skip
        if last_name and not (provider_npi and start and end):
            raise _fail(400, "a search by name needs provider_npi, start and end", "bad_query")
        question = Question(None, member_id, (last_name, first_name) if last_name else None,
                            provider_npi, start, end)  # fmt: skip
        return [view.as_dict() for view in _visible(service, who, question)]

    @app.post("/v1/reviews/{case}/decision", summary="A reviewer's final decision",
              responses={403: {"model": Problem}, 409: {"model": Problem}})  # fmt: skip
    def review_decision(
        case: str,
        body: Annotated[bytes, Depends(read_body)],
        who: Annotated[Caller, Depends(caller)],
    ) -> dict[str, Any]:
        if who.role != "reviewer":
            raise _fail(403, "deciding a case needs a reviewer's key", "forbidden")
        try:
            decision = DecisionBody.model_validate_json(body)
        except ValidationError as error:
            raise _fail(422, _first_error(error), "invalid") from None
        review = Review(decision.action, decision.reason.upper(), decision.note,
                        decision.reviewer, decision.quantity, decision.criteria)  # fmt: skip

        def said(error: Exception) -> str:
            # the core's message names the case and reason it was given: said without
            # them (the reviewer, a user of ours on a reviewer's key, it still names)
            return unquoted(str(error), case, quoted_only=(review.reason,))

        try:
            done = decide_case(service.engine, case, review, service.policy, service.clock())
        except ReviewUsageError as error:
            raise _fail(422, said(error), "invalid") from None
        except ReviewRefused as error:
            raise _fail(403, said(error), "forbidden") from None
        except ReviewError as error:
            raise _fail(409, said(error), "not_decidable") from None
        service.outcomes.labels(decision.action).inc()
        return {"reference": done.reference, "certification_number": done.certification_number,
                "response": done.response, "notices": done.notices}  # fmt: skip

    @app.get("/healthz", summary="Liveness and the database")
    def healthz() -> dict[str, str]:
        with service.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return {"status": "ok"}

    @app.get("/metrics", summary="Prometheus metrics", response_class=Response)
    def metrics() -> Response:
        with service.engine.connect() as connection:
            service.backlog.set(len(pended_cases(connection, service.clock())))
            service.half_answered.set(interchanges_answering(connection))
        exposed = _exposed(service.registry)
        return Response(generate_latest(exposed), media_type=CONTENT_TYPE_LATEST)


def _body(service: Service) -> Any:
    async def read(request: Request) -> bytes:
        data = await request.body()
        if len(data) > service.limits.max_body:  # Admission read it within the limit
            raise _fail(413, f"body over {service.limits.max_body} bytes", "too_large")
        return data

    return read


def _caller(service: Service, key: str | None) -> Caller:
    """Who an API key belongs to, or a 401."""
    with reading(service.engine).connect() as connection:
        found = caller_of(connection, key, service.clock())
    if found is None:
        raise _fail(401, "a valid X-API-Key header is required", "unauthorized")
    return found


def _first_error(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first.get("loc", ())) or "body"
    return f"{where}: {first.get('msg', 'invalid')}"


def _answer_x12(service: Service, who: Caller, body: bytes) -> tuple[int, str, str]:
    intake = intake_for(service.engine, "http", f"http:{who.name}", service.policy)
    answers = answer_bytes(intake, service.guide, body, "http", service.clock)
    responses = [
        text_of(a.acknowledgements.responses) for a in answers if a.acknowledgements.responses
    ]
    for answer in answers:
        for decided in answer.decided:
            service.outcomes.labels(decided.outcome).inc()
    if responses:
        return 200, X12, "".join(responses)
    envelope = [a.acknowledgements.ta1 for a in answers if a.acknowledgements.ta1]
    functional = [
        text_of(a.acknowledgements.functional) for a in answers if a.acknowledgements.functional
    ]
    if functional:
        rejected = any(re.search(r"AK9.R", text) for text in functional)
        return (422 if rejected else 200), X12, "".join(functional)
    if answers and all(a.acknowledgement for a in answers):
        # Acknowledgements get no acknowledgement (X12): a receipt, not an X12 answer;
        # 202, so that a client reading 200 as "here is my 278" does not parse it.
        receipt = {"received": "acknowledgement", "interchanges": len(answers)}
        return 202, "application/json", json.dumps(receipt)
    return 400, X12, "".join(envelope)


def _answer_json(service: Service, who: Caller, body: bytes) -> tuple[int, str, str]:
    try:
        transaction = from_json(check_document(_shallow(json.loads(body))))
    except RecursionError:
        return _invalid(f"nested deeper than {MAX_JSON_DEPTH}", "too_deep")
    except json.JSONDecodeError as error:  # its msg names the fault, never the text
        return _invalid(f"not JSON: {error.msg} at line {error.lineno} column {error.colno}")
    except JsonFormError as error:
        return _invalid(error.public)
    except (ValueError, KeyError) as error:  # their messages may quote the document
        return _invalid(f"the document does not form a 278 request ({type(error).__name__})")
    qualifier, identifier = who.sender.split(":", 1)
    control = DatabaseControlNumbers(service.engine).next(who.sender, "api", "interchange")
    now = service.clock()
    transaction.envelope = Envelope(
        sender_qualifier=qualifier,
        sender_id=identifier,
        receiver_qualifier=US[0],
        receiver_id=US[1],
        interchange_control_number=f"{control:09d}",
        interchange_date=now.strftime("%y%m%d"),
        interchange_time=now.strftime("%H%M"),
        usage="P",
        application_sender=identifier,
        application_receiver=US[1],
        group_control_number=str(control),
        group_date=now.strftime("%Y%m%d"),
        group_time=now.strftime("%H%M"),
    )
    data = write(write_interchange([transaction]), Delimiters()).encode("latin-1")
    status, _, answer = _answer_x12(service, who, data)
    if status != 200 or not answer.startswith("ISA"):
        return (
            422,
            "application/json",
            json.dumps(
                {"error": "the request was rejected", "code": "rejected", "acknowledgement": answer}
            ),
        )
    responses = list(read_requests(io.BytesIO(answer.encode("latin-1"))))
    return 200, "application/json", json.dumps(to_json(responses[0]))


MAX_IDEMPOTENCY_KEY = 200  # idempotency_keys.key
MAX_JSON_DEPTH = 64  # a 278 document is about 10 deep


def _shallow(document: Any) -> Any:
    """The document, if it nests no deeper than MAX_JSON_DEPTH (else RecursionError,
    as the parser raises for deeper still): the schema check and the mapping recurse."""
    level, depth = [document], 0
    while level:
        depth += 1
        if depth > MAX_JSON_DEPTH:
            raise RecursionError
        level = [
            child
            for node in level
            if isinstance(node, dict | list)
            for child in (node.values() if isinstance(node, dict) else node)
        ]
    return document


def _invalid(message: str, code: str = "invalid") -> tuple[int, str, str]:
    return 422, "application/json", json.dumps({"error": message, "code": code})


def _idempotent(
    service: Service, who: Caller, key: str | None, body: bytes, answer: Any
) -> Response:
    """Same key and body: one processing, its answer to all (409 while it is made);
    same key, other body: 422."""
    if not key:
        status, media_type, content = answer()
        return Response(content, status, media_type=media_type)
    if len(key) > MAX_IDEMPOTENCY_KEY:  # the column's width: refused before any work
        raise _fail(400, f"an Idempotency-Key is at most {MAX_IDEMPOTENCY_KEY} characters",
                    "bad_idempotency_key")  # fmt: skip
    try:
        done = answer_once(service.engine, who.partner_id, key, body, service.clock, answer)
    except KeyConflict:
        raise _fail(422, "this Idempotency-Key was used with another body",
                    "idempotency_conflict") from None  # fmt: skip
    except KeyInProgress:
        raise HTTPException(
            409,
            {"error": "a request with this Idempotency-Key is being answered; send it again "
                      f"after {RETRY_AFTER_SECONDS} s for its answer",
             "code": "idempotency_in_progress"},
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        ) from None  # fmt: skip
    replayed = {"Idempotent-Replayed": "true"} if done.replayed else None
    return Response(done.body, done.status, media_type=done.media_type, headers=replayed)


def _visible(service: Service, who: Caller, question: Question) -> list[CaseView]:
    """A partner sees its own cases; a reviewer sees all."""
    with service.engine.connect() as connection:
        found = find_cases(connection, question)
    if who.role == "reviewer":
        return found
    return [view for view in found if view.case["sender"] == who.sender]


def openapi_document() -> dict[str, Any]:
    """The API's OpenAPI document, as served at /openapi.json (schemas/openapi.json)."""
    from edi278.decide.policy import default_policy
    from edi278.store.database import connect

    return create_app(connect("sqlite://"), default_policy()).openapi()


if __name__ == "__main__":
    print(json.dumps(openapi_document(), indent=2))
