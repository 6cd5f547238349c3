"""A local fake of the OpenAI Chat Completions and Anthropic Messages HTTP APIs for tests."""

from tests.fakeapi.server import FakeAPI, RecordedRequest, Reply

__all__ = ["FakeAPI", "RecordedRequest", "Reply"]
