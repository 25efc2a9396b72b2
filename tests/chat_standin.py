"""A STAND-IN for a real model server: a tiny local HTTP server that speaks the OpenAI
chat-completions wire format (``POST /v1/chat/completions``).

No language model can run in the tests, so this server answers every request by quoting the
first line of the first passage in the prompt and citing it as [1] (and a number that does not
exist, [99], which a client must ignore). It records every request body and header, so tests can
check what a generator sends: the model name, the bearer key and the prompt (which must hold
only the passages the caller may see). ``fail_with`` makes it answer an HTTP error instead.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_PASSAGE = re.compile(r"^\[1\] [^\n]*\n([^\n]*)", re.M)


@dataclass
class ChatStandIn:
    url: str  # the API base, e.g. http://127.0.0.1:PORT/v1
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    fail_with: int | None = None

    def prompt(self, i: int = -1) -> str:
        """All message contents of request ``i``, joined."""
        return "\n".join(m["content"] for m in self.requests[i]["messages"])


@contextmanager
def chat_standin() -> Iterator[ChatStandIn]:
    stand_in = ChatStandIn(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            if self.path != "/v1/chat/completions":
                self._send(404, {"error": {"message": f"no route {self.path}"}})
                return
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            stand_in.requests.append(body)
            stand_in.headers.append({k.lower(): v for k, v in self.headers.items()})
            if stand_in.fail_with is not None:
                self._send(stand_in.fail_with, {"error": {"message": "model overloaded"}})
                return
            user = body["messages"][-1]["content"]
            m = _PASSAGE.search(user)
            quote = m.group(1)[:120] if m else "The sources do not answer it."
            reply = f"{quote} [1] [99]"
            self._send(
                200,
                {
                    "id": "chatcmpl-standin",
                    "object": "chat.completion",
                    "model": body["model"],
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": reply},
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
                },
            )

        def _send(self, status: int, data: dict[str, Any]) -> None:
            raw = json.dumps(data).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, *args: Any) -> None:  # quiet test output
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    stand_in.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield stand_in
    finally:
        server.shutdown()
        server.server_close()
