import socket

import pytest
import pytest_socket

from pyagent_providers import ConfigurationError, ModelRequest, OpenAILLM


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_connections_beyond_loopback_are_refused() -> None:
    with pytest.raises(pytest_socket.SocketConnectBlockedError):
        socket.create_connection(("93.184.215.14", 443), timeout=1)


async def test_a_real_provider_call_fails_without_opting_in() -> None:
    with pytest.raises(ConfigurationError, match="OPENAI_API_KEY"):
        await OpenAILLM("gpt-4o-mini").complete(ModelRequest.of("hi"))
