"""The embeddable multi-turn chat handler and the store its conversations live in."""

from .handler import ChatEvent, ChatHandler, ChatReply, ContextBudget, TierHold
from .limits import RateLimiter, RateLimits
from .store import (
    Conversation,
    ConversationState,
    ConversationStore,
    SQLiteConversationStore,
    StoredMessage,
    default_store_path,
)

__all__ = [
    "ChatEvent",
    "ChatHandler",
    "ChatReply",
    "ContextBudget",
    "Conversation",
    "ConversationState",
    "ConversationStore",
    "RateLimiter",
    "RateLimits",
    "SQLiteConversationStore",
    "StoredMessage",
    "TierHold",
    "default_store_path",
]
