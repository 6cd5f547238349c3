import hashlib
import math
import os
import uuid
from pathlib import Path

import pytest
import tiktoken

from pyagent_providers import Message, count_message_tokens, count_tokens
from pyagent_providers import tokens as tokens_module


def test_hello_world_is_two_tokens_for_gpt_4o_mini() -> None:
    assert count_tokens("hello world", "openai:gpt-4o-mini") == 2


def test_counts_match_tiktoken_exactly_for_openai_models() -> None:
    text = "Why was I charged twice this month? Invoice #INV-2291, card ending 4242."
    expected = len(tokens_module.encoding_for("openai:gpt-4o").encode(text))
    assert tokens_module.encoding_for("openai:gpt-4o").name == "o200k_base"
    assert count_tokens(text, "openai:gpt-4o-mini") == expected
    assert count_tokens(text, "openai:gpt-4o") == expected


def test_claude_counts_are_the_documented_approximation() -> None:
    text = "My API webhooks stopped firing after the latest update."
    encoding = tokens_module.encoding_for("anthropic:claude-sonnet-4-20250514")
    assert encoding.name == "cl100k_base"
    base = len(encoding.encode(text))
    assert count_tokens(text, "anthropic:claude-sonnet-4-20250514") == math.ceil(base * 1.15)


def test_special_token_text_is_counted_not_rejected() -> None:
    assert count_tokens("<|endoftext|>", "openai:gpt-4o-mini") > 1


def test_message_tokens_include_framing() -> None:
    messages = [Message.user("hello world")]
    assert count_message_tokens(messages, "openai:gpt-4o-mini") == 2 + 3 + 3
    with_system = count_message_tokens(messages, "openai:gpt-4o-mini", system="Be brief.")
    assert with_system > 8


def test_cache_is_seeded_offline_with_the_verified_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    tokens_module._seed_tiktoken_cache("o200k_base")
    url, sha256 = tokens_module._BPE_FILES["o200k_base"]
    seeded = tmp_path / hashlib.sha1(url.encode()).hexdigest()
    assert hashlib.sha256(seeded.read_bytes()).hexdigest() == sha256
    assert os.listdir(tmp_path) == [seeded.name]  # no partial files left behind


def test_a_fixed_prompt_is_tokenized_once(monkeypatch: pytest.MonkeyPatch) -> None:
    tokenized: list[str] = []
    real = tokens_module.encoding_for

    def counting(model_id: str) -> tiktoken.Encoding:
        tokenized.append(model_id)
        return real(model_id)

    monkeypatch.setattr(tokens_module, "encoding_for", counting)
    system = f"You are the billing assistant of test {uuid.uuid4()}."
    question = [Message.user(f"hi {uuid.uuid4()}")]
    first = count_message_tokens(question, "openai:gpt-4o-mini", system=system)
    second = count_message_tokens(question, "openai:gpt-4o-mini", system=system)
    assert first == second and len(tokenized) == 2  # the prompt and the question, each once
