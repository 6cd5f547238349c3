"""The embeddable multi-turn chat handler and the store its conversations live in."""

from .desk import HandoffDesk
from .handler import ChatEvent, ChatHandler, ChatReply, ContextBudget, TierHold
from .limits import RateLimiter, RateLimits
from .redaction import Redactor
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
    "HandoffDesk",
    "RateLimiter",
    "RateLimits",
    "Redactor",
    "SQLiteConversationStore",
    "StoredMessage",
    "TierHold",
    "default_store_path",
]
