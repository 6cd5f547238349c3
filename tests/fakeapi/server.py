"""A scriptable local HTTP server that speaks the OpenAI and Anthropic wire formats.

It answers ``POST /v1/chat/completions`` (OpenAI Chat Completions) and ``POST /v1/messages``
(Anthropic Messages), JSON or Server-Sent Events, so the official SDKs can be pointed at it
unmodified. Replies are scripted with :class:`Reply` and consumed FIFO, one per request, across
both endpoints; when none is queued the server echoes the last user message.
"""

from __future__ import annotations

import json
import re
import socket
import struct
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal, TypedDict, Unpack
from urllib.parse import urlsplit

ReplyKind = Literal["text", "structured", "raw", "tool_call", "error", "drop", "drop_mid_stream"]
Provider = Literal["openai", "anthropic"]

OPENAI_PATH = "/v1/chat/completions"
ANTHROPIC_PATH = "/v1/messages"

_OPENAI_ERROR_TYPES = {403: "permission_error", 429: "requests"}
_OPENAI_ERROR_CODES = {401: "invalid_api_key", 404: "not_found", 429: "rate_limit_exceeded"}
_ANTHROPIC_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    503: "overloaded_error",
    529: "overloaded_error",
}
_DEFAULT_MESSAGES = {
    400: "Invalid request",
    401: "Invalid or missing API key",
    403: "Permission denied",
    404: "Not found",
    429: "Rate limit exceeded",
    503: "Service unavailable",
    529: "Overloaded",
}


class UsageKwargs(TypedDict, total=False):
    """Keyword arguments shared by the content-bearing :class:`Reply` constructors."""

    input_tokens: int
    output_tokens: int
    cached_tokens: int
    reasoning_tokens: int
    delay: float


@dataclass(frozen=True)
class Reply:
    """One scripted server reply; build it with the class-method constructors."""

    kind: ReplyKind
    content: str = ""
    data: Mapping[str, Any] | None = field(default=None, hash=False)
    tool_name: str | None = None
    call_id: str = "call_1"
    status: int = 200
    retry_after: float | None = None
    message: str | None = None
    input_tokens: int = 10
    output_tokens: int = 5
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    delay: float = 0.0

    @classmethod
    def text(cls, text: str, **usage: Unpack[UsageKwargs]) -> Reply:
        """A plain assistant text reply."""
        return cls(kind="text", content=text, **usage)

    @classmethod
    def structured(cls, data: Mapping[str, Any], **usage: Unpack[UsageKwargs]) -> Reply:
        """A structured answer: JSON content (OpenAI) or a forced ``tool_use`` (Anthropic)."""
        return cls(kind="structured", data=dict(data), **usage)

    @classmethod
    def raw_content(cls, text: str, **usage: Unpack[UsageKwargs]) -> Reply:
        """Assistant content that is exactly ``text`` (e.g. malformed JSON)."""
        return cls(kind="raw", content=text, **usage)

    @classmethod
    def tool_call(
        cls,
        name: str,
        arguments: Mapping[str, Any],
        *,
        call_id: str = "call_1",
        **usage: Unpack[UsageKwargs],
    ) -> Reply:
        """A single function/tool call with JSON ``arguments``."""
        return cls(kind="tool_call", tool_name=name, data=dict(arguments), call_id=call_id, **usage)

    @classmethod
    def error(
        cls,
        status: int,
        *,
        retry_after: float | None = None,
        message: str | None = None,
        delay: float = 0.0,
    ) -> Reply:
        """An HTTP error in the provider's error format, optionally with ``Retry-After``."""
        return cls(
            kind="error", status=status, retry_after=retry_after, message=message, delay=delay
        )

    @classmethod
    def drop(cls, *, delay: float = 0.0) -> Reply:
        """Close the connection without sending any response."""
        return cls(kind="drop", delay=delay)

    @classmethod
    def drop_mid_stream(cls, text: str, *, delay: float = 0.0) -> Reply:
        """Stream the first words of ``text``, then cut the connection (non-stream: ``drop``)."""
        return cls(kind="drop_mid_stream", content=text, delay=delay)


@dataclass(frozen=True)
class RecordedRequest:
    """A request as received: method, path (no query), lower-cased headers, parsed JSON body."""

    method: str
    path: str
    headers: dict[str, str]
    json: Any
    body: bytes = b""


def _pieces(text: str) -> list[str]:
    """Split ``text`` word by word (whitespace kept) so that ``"".join(pieces) == text``."""
    return re.findall(r"\S+\s*|\s+", text)


def _slices(text: str, size: int = 8) -> list[str]:
    """Split ``text`` into fixed-size slices (used for streamed JSON arguments)."""
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def _last_user_text(body: Any) -> str:
    """The text of the last ``user`` message of an OpenAI or Anthropic request body."""
    messages = body.get("messages") if isinstance(body, dict) else None
    for message in reversed(messages if isinstance(messages, list) else []):
        if not isinstance(message, dict) or message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            return content
        parts: list[str] = []
        for block in content if isinstance(content, list) else []:
            if isinstance(block, dict) and isinstance(block.get("text"), str):
                parts.append(block["text"])
            elif isinstance(block, dict) and isinstance(block.get("content"), str):
                parts.append(block["content"])  # Anthropic tool_result
        return "".join(parts)
    return ""


class FakeAPI:
    """The scriptable fake OpenAI + Anthropic server; use as a context manager."""

    def __init__(self, latency: float = 0.0, host: str = "127.0.0.1") -> None:
        self.latency = latency
        self.host = host
        self._lock = threading.Lock()
        self._script: deque[Reply] = deque()
        self._requests: list[RecordedRequest] = []
        self._counter = 0
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self) -> FakeAPI:
        """Bind an ephemeral port on ``host`` and serve from a daemon thread."""
        if self._server is not None:
            return self
        self._stopping.clear()
        server = _Server((self.host, 0))
        server.api = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, args=(0.05,), name="fakeapi", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, wake sleeping handlers and close the listening socket."""
        if self._server is None:
            return
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._server.close_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> FakeAPI:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- public state --------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` of the running server."""
        if self._server is None:
            raise RuntimeError("FakeAPI is not running; call start() or use `with FakeAPI()`")
        return f"http://{self.host}:{self._server.server_address[1]}"

    @property
    def openai_base_url(self) -> str:
        """Base URL for ``openai.OpenAI(base_url=...)`` (the SDK appends ``/chat/completions``)."""
        return self.base_url + "/v1"

    @property
    def anthropic_base_url(self) -> str:
        """Base URL for ``anthropic.Anthropic(base_url=...)`` (the SDK appends ``/v1/messages``)."""
        return self.base_url

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request received so far, in arrival order."""
        with self._lock:
            return list(self._requests)

    def script(self, *replies: Reply) -> None:
        """Queue replies; each model request consumes the oldest one."""
        with self._lock:
            self._script.extend(replies)

    def reset(self) -> None:
        """Forget queued replies and recorded requests."""
        with self._lock:
            self._script.clear()
            self._requests.clear()

    # -- internals used by the handler ---------------------------------------------------------
    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def _next(self, body: Any) -> tuple[Reply, int]:
        """Pop the next scripted reply (or build the echo default) and a fresh id number."""
        with self._lock:
            self._counter += 1
            if self._script:
                return self._script.popleft(), self._counter
        return Reply.text("echo: " + _last_user_text(body)), self._counter

    def _sleep(self, seconds: float) -> None:
        """Sleep, but wake up early when the server is stopping."""
        if seconds > 0:
            self._stopping.wait(seconds)


class _Server(ThreadingHTTPServer):
    """Threading server with a deep accept backlog and quiet client-disconnect handling."""

    daemon_threads = True
    request_queue_size = 128
    api: FakeAPI

    def __init__(self, address: tuple[str, int]) -> None:
        super().__init__(address, _Handler)
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        """Track the connection so that :meth:`close_connections` can end idle keep-alives."""
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        """Forget the connection, then close it."""
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Shut down every open client connection (wakes handler threads blocked on reads)."""
        with self._connections_lock:
            connections = list(self._connections)
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Ignore clients that went away (timeouts, drops); report anything else."""
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    """Routes requests, applies the scripted reply and renders it for the right provider."""

    protocol_version = "HTTP/1.1"
    server: _Server
    server_version = "fakeapi/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default stderr access log."""

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    # -- request flow --------------------------------------------------------------------------
    def _handle(self) -> None:
        api = self.server.api
        path = urlsplit(self.path).path
        raw = self._read_body()
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = None
        headers = {k.lower(): v for k, v in self.headers.items()}
        api._record(RecordedRequest(self.command, path, headers, body, raw))

        provider: Provider = "openai" if path == OPENAI_PATH else "anthropic"
        if self.command != "POST" or path not in (OPENAI_PATH, ANTHROPIC_PATH):
            api._sleep(api.latency)
            return self._error("anthropic", 404, f"Not found: {self.command} {path}")
        auth = headers.get("authorization", "")
        if not (auth.startswith("Bearer ") and auth[7:].strip()) and not headers.get("x-api-key"):
            api._sleep(api.latency)
            return self._error(provider, 401, None)
        if not isinstance(body, dict):
            api._sleep(api.latency)
            return self._error(provider, 400, "Request body is not a valid JSON object")

        reply, n = api._next(body)
        api._sleep(api.latency + reply.delay)
        stream = body.get("stream") is True
        if reply.kind == "drop" or (reply.kind == "drop_mid_stream" and not stream):
            return self._abort()
        if reply.kind == "error":
            return self._error(provider, reply.status, reply.message, reply.retry_after)
        model = str(body.get("model") or "fake-model")
        render = _OpenAIRender(reply, n, model, body) if provider == "openai" else None
        if stream:
            events = render.stream() if render else _anthropic_stream(reply, n, model, body)
            return self._send_stream(events, cut=reply.kind == "drop_mid_stream")
        payload = render.completion() if render else _anthropic_message(reply, n, model, body)
        return self._send_json(200, payload)

    def _read_body(self) -> bytes:
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass
            return b"".join(chunks)
        return self.rfile.read(int(self.headers.get("content-length") or 0))

    # -- response writers ----------------------------------------------------------------------
    def _send_json(self, status: int, payload: Any, extra: Mapping[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _error(
        self,
        provider: Provider,
        status: int,
        message: str | None,
        retry_after: float | None = None,
    ) -> None:
        text = message or _DEFAULT_MESSAGES.get(status, f"Fake error {status}")
        if provider == "openai":
            default_type = "server_error" if status >= 500 else "invalid_request_error"
            err_type = _OPENAI_ERROR_TYPES.get(status, default_type)
            code = _OPENAI_ERROR_CODES.get(status)
            payload: Any = {
                "error": {"message": text, "type": err_type, "param": None, "code": code}
            }
        else:
            err_type = _ANTHROPIC_ERROR_TYPES.get(status, "api_error")
            payload = {"type": "error", "error": {"type": err_type, "message": text}}
        extra = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else None
        self._send_json(status, payload, extra)

    def _send_stream(self, events: Iterator[str], *, cut: bool) -> None:
        """Write SSE events with chunked encoding; if ``cut``, abort after the first content."""
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for event in events:
            if event == _CUT:
                if cut:
                    return self._abort()
                continue
            data = event.encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        if cut:
            return self._abort()
        self.wfile.write(b"0\r\n\r\n")

    def _abort(self) -> None:
        """Close the TCP connection abruptly (RST), whatever has been sent so far."""
        self.close_connection = True
        try:
            linger = struct.pack("ii", 1, 0)
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


_CUT = "\0cut"  # marker in an event stream: where drop_mid_stream cuts the connection


def _sse(data: Any, event: str | None = None) -> str:
    prefix = f"event: {event}\n" if event else ""
    return f"{prefix}data: {json.dumps(data)}\n\n"


class _OpenAIRender:
    """Renders a reply as an OpenAI ``chat.completion`` or a stream of ``chat.completion.chunk``."""

    def __init__(self, reply: Reply, n: int, model: str, body: dict[str, Any]) -> None:
        self.reply, self.model, self.body = reply, model, body
        self.id, self.created = f"chatcmpl-{n}", int(time.time())

    def _content(self) -> str | None:
        r = self.reply
        if r.kind == "tool_call":
            return None
        return json.dumps(r.data) if r.kind == "structured" else r.content

    def usage(self) -> dict[str, Any]:
        r = self.reply
        return {
            "prompt_tokens": r.input_tokens,
            "completion_tokens": r.output_tokens,
            "total_tokens": r.input_tokens + r.output_tokens,
            "prompt_tokens_details": {"cached_tokens": r.cached_tokens, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": r.reasoning_tokens,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        }

    def _envelope(self, obj: str, **extra: Any) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": obj,
            "created": self.created,
            "model": self.model,
            "system_fingerprint": "fp_fakeapi",
            "service_tier": "default",
            **extra,
        }

    def completion(self) -> dict[str, Any]:
        r = self.reply
        message: dict[str, Any] = {
            "role": "assistant",
            "content": self._content(),
            "refusal": None,
            "annotations": [],
        }
        if r.kind == "tool_call":
            message["tool_calls"] = [
                {
                    "id": r.call_id,
                    "type": "function",
                    "function": {"name": r.tool_name, "arguments": json.dumps(r.data)},
                }
            ]
        finish = "tool_calls" if r.kind == "tool_call" else "stop"
        choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": finish}
        return self._envelope("chat.completion", choices=[choice], usage=self.usage())

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> str:
        opts = self.body.get("stream_options")
        usage = {"usage": None} if isinstance(opts, dict) and opts.get("include_usage") else {}
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return _sse(self._envelope("chat.completion.chunk", choices=[choice], **usage))

    def stream(self) -> Iterator[str]:
        r = self.reply
        if r.kind == "tool_call":
            yield self._chunk({"role": "assistant", "content": None, "refusal": None})
            head = {
                "index": 0,
                "id": r.call_id,
                "type": "function",
                "function": {"name": r.tool_name, "arguments": ""},
            }
            yield self._chunk({"tool_calls": [head]})
            for part in _slices(json.dumps(r.data)):
                yield self._chunk({"tool_calls": [{"index": 0, "function": {"arguments": part}}]})
        else:
            yield self._chunk({"role": "assistant", "content": "", "refusal": None})
            pieces = _pieces(self._content() or "")
            for i, piece in enumerate(pieces):
                yield self._chunk({"content": piece})
                if i == max(len(pieces) // 2 - 1, 0):
                    yield _CUT
        yield self._chunk({}, "tool_calls" if r.kind == "tool_call" else "stop")
        opts = self.body.get("stream_options")
        if isinstance(opts, dict) and opts.get("include_usage"):
            yield _sse(self._envelope("chat.completion.chunk", choices=[], usage=self.usage()))
        yield "data: [DONE]\n\n"


def _anthropic_usage(reply: Reply) -> dict[str, Any]:
    usage: dict[str, Any] = {
        "input_tokens": max(reply.input_tokens - reply.cached_tokens, 0),
        "output_tokens": reply.output_tokens,
        "cache_read_input_tokens": reply.cached_tokens,
        "cache_creation_input_tokens": 0,
        "service_tier": "standard",
    }
    if reply.reasoning_tokens:
        usage["output_tokens_details"] = {"thinking_tokens": reply.reasoning_tokens}
    return usage


def _anthropic_block(reply: Reply, n: int, body: dict[str, Any]) -> dict[str, Any]:
    """The single content block of an Anthropic reply."""
    if reply.kind == "tool_call":
        return {
            "type": "tool_use",
            "id": reply.call_id,
            "name": reply.tool_name,
            "input": dict(reply.data or {}),
        }
    if reply.kind == "structured":
        choice, tools = body.get("tool_choice"), body.get("tools")
        name = choice.get("name") if isinstance(choice, dict) else None
        if not name and isinstance(tools, list) and tools and isinstance(tools[0], dict):
            name = tools[0].get("name")
        if name:
            return {
                "type": "tool_use",
                "id": f"toolu_{n}",
                "name": name,
                "input": dict(reply.data or {}),
            }
        return {"type": "text", "text": json.dumps(reply.data)}  # e.g. output_config json_schema
    return {"type": "text", "text": reply.content}


def _anthropic_message(reply: Reply, n: int, model: str, body: dict[str, Any]) -> dict[str, Any]:
    block = _anthropic_block(reply, n, body)
    return {
        "id": f"msg_{n}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [block],
        "stop_sequence": None,
        "usage": _anthropic_usage(reply),
        "stop_reason": "tool_use" if block["type"] == "tool_use" else "end_turn",
    }


def _anthropic_stream(reply: Reply, n: int, model: str, body: dict[str, Any]) -> Iterator[str]:
    final = _anthropic_message(reply, n, model, body)
    block, usage = final["content"][0], final["usage"]
    start = {**final, "content": [], "stop_reason": None, "usage": {**usage, "output_tokens": 1}}
    start["usage"].pop("output_tokens_details", None)
    yield _sse({"type": "message_start", "message": start}, "message_start")
    yield _sse({"type": "ping"}, "ping")
    if block["type"] == "tool_use":
        head = {**block, "input": {}}
        yield _sse(
            {"type": "content_block_start", "index": 0, "content_block": head},
            "content_block_start",
        )
        for part in _slices(json.dumps(block["input"])):
            delta = {"type": "input_json_delta", "partial_json": part}
            yield _sse(
                {"type": "content_block_delta", "index": 0, "delta": delta}, "content_block_delta"
            )
    else:
        yield _sse(
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
            "content_block_start",
        )
        pieces = _pieces(block["text"])
        for i, piece in enumerate(pieces):
            delta = {"type": "text_delta", "text": piece}
            yield _sse(
                {"type": "content_block_delta", "index": 0, "delta": delta}, "content_block_delta"
            )
            if i == max(len(pieces) // 2 - 1, 0):
                yield _CUT
    yield _sse({"type": "content_block_stop", "index": 0}, "content_block_stop")
    delta_usage = {k: v for k, v in usage.items() if k != "service_tier"}
    yield _sse(
        {
            "type": "message_delta",
            "usage": delta_usage,
            "delta": {"stop_reason": final["stop_reason"], "stop_sequence": None},
        },
        "message_delta",
    )
    yield _sse({"type": "message_stop"}, "message_stop")
