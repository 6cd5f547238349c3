"""A scriptable local HTTP server that speaks the OpenAI and Anthropic wire formats.

It answers ``POST /v1/chat/completions`` (OpenAI Chat Completions) and ``POST /v1/messages``
(Anthropic Messages) with JSON or Server-Sent Events, so the official SDKs can be pointed at it
unmodified. Replies are scripted with :class:`Reply` and consumed FIFO, one per model request,
across both endpoints; when none is queued the server echoes the last user message.

Requests refused by the server itself (404 unknown path, 401 missing credentials, 400 invalid
JSON) are recorded but do not consume a scripted reply.
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
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal, TypedDict, Unpack, cast
from urllib.parse import urlsplit

JSON = dict[str, Any]
ReplyKind = Literal["text", "structured", "raw", "tool_call", "error", "drop", "drop_mid_stream"]
Provider = Literal["openai", "anthropic"]

OPENAI_PATH = "/v1/chat/completions"
ANTHROPIC_PATH = "/v1/messages"

_OPENAI_TYPES = {403: "permission_error", 429: "requests"}
_OPENAI_CODES = {401: "invalid_api_key", 404: "not_found", 429: "rate_limit_exceeded"}
_ANTHROPIC_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    503: "overloaded_error",
    529: "overloaded_error",
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
    """One scripted server reply; build it with the class-method constructors.

    ``input_tokens`` counts the whole prompt, cached part included (OpenAI semantics); the
    Anthropic rendering reports ``input_tokens - cached_tokens`` as uncached input.
    ``delay`` is slept before anything is written, on top of the server's ``latency``.
    """

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
        """Structured output: JSON message content (OpenAI) or a forced ``tool_use`` (Anthropic).

        The Anthropic tool name is taken from the request's ``tool_choice``
        (``{"type": "tool", "name": ...}``), else its first tool; with no tools at all the
        data is returned as a JSON text block (as with ``output_config`` JSON schemas).
        """
        return cls(kind="structured", data=dict(data), **usage)

    @classmethod
    def raw_content(cls, text: str, **usage: Unpack[UsageKwargs]) -> Reply:
        """Assistant content that is exactly ``text`` (e.g. malformed JSON) in a text block."""
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
        """A single function (OpenAI) / ``tool_use`` (Anthropic) call with these arguments."""
        data = dict(arguments)
        return cls(kind="tool_call", tool_name=name, data=data, call_id=call_id, **usage)

    @classmethod
    def error(
        cls,
        status: int,
        *,
        retry_after: float | None = None,
        message: str | None = None,
        delay: float = 0.0,
    ) -> Reply:
        """An HTTP error in the provider's error format, with ``Retry-After`` if given."""
        return cls("error", status=status, retry_after=retry_after, message=message, delay=delay)

    @classmethod
    def drop(cls, *, delay: float = 0.0) -> Reply:
        """Close the connection without sending any response."""
        return cls(kind="drop", delay=delay)

    @classmethod
    def drop_mid_stream(cls, text: str, *, delay: float = 0.0) -> Reply:
        """Stream the first half of ``text`` word by word, then reset the connection.

        A non-streaming request gets :meth:`drop` behaviour.
        """
        return cls(kind="drop_mid_stream", content=text, delay=delay)


@dataclass(frozen=True)
class RecordedRequest:
    """A request as received: method, path (no query), lower-cased headers, parsed JSON body."""

    method: str
    path: str
    headers: dict[str, str]
    json: Any
    body: bytes = b""


def _obj(value: Any) -> JSON:
    """``value`` if it is a JSON object, else an empty one."""
    return cast(JSON, value) if isinstance(value, dict) else {}


def _words(text: str) -> list[str]:
    """Split ``text`` word by word, whitespace kept, so that ``"".join(...) == text``."""
    return re.findall(r"\S+\s*|\s+", text)


def _slices(text: str, size: int = 8) -> list[str]:
    """Split ``text`` into fixed-size slices (streamed JSON arguments)."""
    return [text[i : i + size] for i in range(0, len(text), size)]


def _last_user_text(body: JSON) -> str:
    """The text of the last ``user`` message (string or list-of-parts content)."""
    messages = body.get("messages")
    for message in reversed(cast(list[Any], messages) if isinstance(messages, list) else []):
        message = _obj(message)
        if message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            return content
        parts = [_obj(p) for p in (cast(list[Any], content) if isinstance(content, list) else [])]
        # text parts; Anthropic tool_result blocks carry their text in "content"
        texts = [p.get("text", p.get("content")) for p in parts]
        return "".join(t for t in texts if isinstance(t, str))
    return ""


def _phrase(status: int) -> str:
    """The standard reason phrase of an HTTP status (``"Overloaded"`` for 529)."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Overloaded" if status == 529 else f"Error {status}"


def _error_body(provider: Provider, status: int, message: str | None) -> JSON:
    """An error payload in the provider's format."""
    text = message or _phrase(status)
    if provider == "anthropic":
        kind = _ANTHROPIC_TYPES.get(status, "api_error")
        return {"type": "error", "error": {"type": kind, "message": text}}
    kind = _OPENAI_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    return {
        "error": {"message": text, "type": kind, "param": None, "code": _OPENAI_CODES.get(status)}
    }


_CUT = "\0cut"  # marker in an event stream: where drop_mid_stream resets the connection


def _sse(data: JSON, event: str | None = None) -> str:
    """One Server-Sent Event (``event:`` line only when given)."""
    return (f"event: {event}\n" if event else "") + f"data: {json.dumps(data)}\n\n"


class _Render:
    """Renders a reply for one request; subclasses implement one provider's wire format."""

    def __init__(self, reply: Reply, n: int, body: JSON) -> None:
        self.reply, self.n, self.body = reply, n, body
        self.model = str(body.get("model") or "fake-model")

    def message(self) -> JSON:
        """The non-streaming response body."""
        raise NotImplementedError

    def stream(self) -> Iterator[str]:
        """The SSE events of the streaming response (may contain the ``_CUT`` marker)."""
        raise NotImplementedError

    def _text_pieces(self, text: str) -> Iterator[str | None]:
        """Words of ``text``; ``None`` marks the middle, where drop_mid_stream cuts."""
        words = _words(text)
        for i, word in enumerate(words):
            yield word
            if i == max(len(words) // 2 - 1, 0):
                yield None


class _OpenAIRender(_Render):
    """OpenAI ``chat.completion`` objects and ``chat.completion.chunk`` streams."""

    def _content(self) -> str | None:
        r = self.reply
        if r.kind == "tool_call":
            return None
        return json.dumps(r.data) if r.kind == "structured" else r.content

    def _usage(self) -> JSON:
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

    def _envelope(self, obj: str, **extra: Any) -> JSON:
        return {
            "id": f"chatcmpl-{self.n}",
            "object": obj,
            "created": int(time.time()),
            "model": self.model,
            "system_fingerprint": "fp_fakeapi",
            "service_tier": "default",
            **extra,
        }

    def _finish(self) -> str:
        return "tool_calls" if self.reply.kind == "tool_call" else "stop"

    def message(self) -> JSON:
        r = self.reply
        message: JSON = {
            "role": "assistant",
            "content": self._content(),
            "refusal": None,
            "annotations": [],
        }
        if r.kind == "tool_call":
            function = {"name": r.tool_name, "arguments": json.dumps(r.data)}
            message["tool_calls"] = [{"id": r.call_id, "type": "function", "function": function}]
        choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": self._finish()}
        return self._envelope("chat.completion", choices=[choice], usage=self._usage())

    def stream(self) -> Iterator[str]:
        r = self.reply
        include_usage = bool(_obj(self.body.get("stream_options")).get("include_usage"))
        extra: JSON = {"usage": None} if include_usage else {}

        def chunk(delta: JSON, finish: str | None = None) -> str:
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
            return _sse(self._envelope("chat.completion.chunk", choices=[choice], **extra))

        if r.kind == "tool_call":
            yield chunk({"role": "assistant", "content": None, "refusal": None})
            function = {"name": r.tool_name, "arguments": ""}
            call = {"index": 0, "id": r.call_id, "type": "function", "function": function}
            yield chunk({"tool_calls": [call]})
            for part in _slices(json.dumps(r.data)):
                yield chunk({"tool_calls": [{"index": 0, "function": {"arguments": part}}]})
        else:
            yield chunk({"role": "assistant", "content": "", "refusal": None})
            for piece in self._text_pieces(self._content() or ""):
                yield _CUT if piece is None else chunk({"content": piece})
        yield chunk({}, self._finish())
        if include_usage:
            yield _sse(self._envelope("chat.completion.chunk", choices=[], usage=self._usage()))
        yield "data: [DONE]\n\n"


class _AnthropicRender(_Render):
    """Anthropic ``message`` objects and Messages SSE event streams."""

    def _usage(self) -> JSON:
        r = self.reply
        usage: JSON = {
            "input_tokens": max(r.input_tokens - r.cached_tokens, 0),
            "output_tokens": r.output_tokens,
            "cache_read_input_tokens": r.cached_tokens,
            "cache_creation_input_tokens": 0,
        }
        if r.reasoning_tokens:
            usage["output_tokens_details"] = {"thinking_tokens": r.reasoning_tokens}
        return usage

    def _block(self) -> JSON:
        r = self.reply
        if r.kind == "tool_call":
            return {"type": "tool_use", "id": r.call_id, "name": r.tool_name, "input": r.data}
        if r.kind == "structured":
            tools = self.body.get("tools")
            first = _obj(cast(list[Any], tools)[0]) if isinstance(tools, list) and tools else {}
            name = _obj(self.body.get("tool_choice")).get("name") or first.get("name")
            if name:
                return {"type": "tool_use", "id": f"toolu_{self.n}", "name": name, "input": r.data}
            return {"type": "text", "text": json.dumps(r.data)}
        return {"type": "text", "text": r.content}

    def message(self) -> JSON:
        block = self._block()
        stop = "tool_use" if block["type"] == "tool_use" else "end_turn"
        return {
            "id": f"msg_{self.n}",
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": [block],
            "stop_reason": stop,
            "stop_sequence": None,
            "usage": {**self._usage(), "service_tier": "standard"},
        }

    def stream(self) -> Iterator[str]:
        def event(kind: str, **fields: Any) -> str:
            return _sse({"type": kind, **fields}, kind)

        final = self.message()
        block: JSON = final["content"][0]
        usage = self._usage()
        start_usage = {**final["usage"], "output_tokens": 1}
        start_usage.pop("output_tokens_details", None)
        yield event(
            "message_start",
            message={**final, "content": [], "stop_reason": None, "usage": start_usage},
        )
        yield event("ping")
        if block["type"] == "tool_use":
            yield event("content_block_start", index=0, content_block={**block, "input": {}})
            for part in _slices(json.dumps(block["input"])):
                delta = {"type": "input_json_delta", "partial_json": part}
                yield event("content_block_delta", index=0, delta=delta)
        else:
            yield event("content_block_start", index=0, content_block={"type": "text", "text": ""})
            for piece in self._text_pieces(block["text"]):
                delta = {"type": "text_delta", "text": piece}
                yield _CUT if piece is None else event("content_block_delta", index=0, delta=delta)
        yield event("content_block_stop", index=0)
        delta = {"stop_reason": final["stop_reason"], "stop_sequence": None}
        yield event("message_delta", delta=delta, usage=usage)
        yield event("message_stop")


class _State:
    """Shared, lock-protected server state: the reply script and the recorded requests."""

    def __init__(self, latency: float) -> None:
        self.latency = latency
        self.lock = threading.Lock()
        self.script: deque[Reply] = deque()
        self.requests: list[RecordedRequest] = []
        self.counter = 0
        self.stopping = threading.Event()

    def record(self, request: RecordedRequest) -> None:
        """Append a request to the log."""
        with self.lock:
            self.requests.append(request)

    def next_reply(self, body: JSON) -> tuple[Reply, int]:
        """Pop the next scripted reply (default: echo) and a fresh response-id number."""
        with self.lock:
            self.counter += 1
            if self.script:
                return self.script.popleft(), self.counter
        return Reply.text("echo: " + _last_user_text(body)), self.counter

    def pause(self, seconds: float) -> None:
        """Sleep, waking up early when the server stops."""
        if seconds > 0:
            self.stopping.wait(seconds)


class FakeAPI:
    """The scriptable fake OpenAI + Anthropic server; use as a context manager.

    ``latency`` seconds are slept before every response (on top of a reply's own ``delay``).
    """

    def __init__(self, latency: float = 0.0, host: str = "127.0.0.1") -> None:
        self.host = host
        self._state = _State(latency)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def latency(self) -> float:
        """Seconds slept before every response; may be changed while running."""
        return self._state.latency

    @latency.setter
    def latency(self, seconds: float) -> None:
        self._state.latency = seconds

    def start(self) -> FakeAPI:
        """Bind a free port on ``host`` and serve from a daemon thread (no-op if running)."""
        if self._server is None:
            self._state.stopping.clear()
            self._server = _Server((self.host, 0), self._state)
            self._thread = threading.Thread(
                target=self._server.serve_forever, args=(0.05,), name="fakeapi", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving: wake sleeping handlers, close open connections and the listener."""
        if self._server is None:
            return
        self._state.stopping.set()
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

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` of the running server."""
        if self._server is None:
            raise RuntimeError("FakeAPI is not running; call start() or use `with FakeAPI()`")
        return f"http://{self.host}:{self._server.server_address[1]}"

    @property
    def openai_base_url(self) -> str:
        """``base_url + "/v1"``; the OpenAI SDK appends ``/chat/completions``."""
        return self.base_url + "/v1"

    @property
    def anthropic_base_url(self) -> str:
        """``base_url``; the Anthropic SDK appends ``/v1/messages``."""
        return self.base_url

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request received so far, in arrival order."""
        with self._state.lock:
            return list(self._state.requests)

    def script(self, *replies: Reply) -> None:
        """Queue replies; each model request (either endpoint) consumes the oldest one."""
        with self._state.lock:
            self._state.script.extend(replies)

    def reset(self) -> None:
        """Forget queued replies and recorded requests."""
        with self._state.lock:
            self._state.script.clear()
            self._state.requests.clear()


class _Server(ThreadingHTTPServer):
    """Threading server with a deep backlog that tracks connections and ignores disconnects."""

    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], state: _State) -> None:
        super().__init__(address, _Handler)
        self.state = state
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        """Track the connection, then handle it in a new thread."""
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        """Forget the connection, then close it."""
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Shut down every open connection (unblocks handlers waiting on keep-alive reads)."""
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
    """Validates and records a request, then writes the scripted reply."""

    protocol_version = "HTTP/1.1"
    server_version = "fakeapi/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default stderr access log."""

    def do_POST(self) -> None:
        """Handle any method; only POST to the two model endpoints is routed."""
        state = cast(_Server, self.server).state
        path = urlsplit(self.path).path
        raw = self._read_body()
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = None
        headers = {k.lower(): v for k, v in self.headers.items()}
        state.record(RecordedRequest(self.command, path, headers, body, raw))

        provider: Provider = "openai" if path == OPENAI_PATH else "anthropic"
        auth = headers.get("authorization", "")
        refusal: tuple[int, str | None] | None = None
        if self.command != "POST" or path not in (OPENAI_PATH, ANTHROPIC_PATH):
            refusal = (404, f"Not found: {self.command} {path}")
        elif not (auth.startswith("Bearer ") and auth[7:].strip()) and not headers.get("x-api-key"):
            refusal = (401, None)
        elif not isinstance(body, dict):
            refusal = (400, "Request body is not a valid JSON object")
        if refusal is not None:
            state.pause(state.latency)
            return self._send_json(refusal[0], _error_body(provider, *refusal))

        request = cast(JSON, body)
        reply, n = state.next_reply(request)
        state.pause(state.latency + reply.delay)
        stream = request.get("stream") is True
        if reply.kind == "drop" or (reply.kind == "drop_mid_stream" and not stream):
            return self._abort()
        if reply.kind == "error":
            payload = _error_body(provider, reply.status, reply.message)
            retry = None if reply.retry_after is None else {"Retry-After": f"{reply.retry_after:g}"}
            return self._send_json(reply.status, payload, retry)
        render = (_OpenAIRender if provider == "openai" else _AnthropicRender)(reply, n, request)
        if stream:
            return self._send_stream(render.stream(), cut=reply.kind == "drop_mid_stream")
        return self._send_json(200, render.message())

    do_GET = do_PUT = do_PATCH = do_DELETE = do_POST

    def _read_body(self) -> bytes:
        if self.headers.get("transfer-encoding", "").lower() != "chunked":
            return self.rfile.read(int(self.headers.get("content-length") or 0))
        chunks: list[bytes] = []
        while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
            chunks.append(self.rfile.read(size))
            self.rfile.readline()
        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
            pass  # trailers
        return b"".join(chunks)

    def _send_json(
        self, status: int, payload: JSON, headers: Mapping[str, str] | None = None
    ) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _send_stream(self, events: Iterator[str], *, cut: bool) -> None:
        """Write SSE events, chunk-encoded; with ``cut``, reset the connection at ``_CUT``."""
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
        if cut:  # no text to cut in: still never finish the stream
            return self._abort()
        self.wfile.write(b"0\r\n\r\n")

    def _abort(self) -> None:
        """Reset the TCP connection (SO_LINGER 0), whatever has been sent so far."""
        self.close_connection = True
        try:
            linger = struct.pack("ii", 1, 0)
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
