"""The embeddable multi-turn chat handler and the store its conversations live in."""

from .desk import HandoffDesk
from .handler import ChatEvent, ChatHandler, ChatReply, ContextBudget, TierHold
from .limits import RateLimiter, RateLimits
from .pseudonyms import Pseudonyms, is_email_like
from .redaction import Redactor
from .sqlite_store import SQLiteConversationStore
from .store import (
    Conversation,
    ConversationState,
    ConversationStore,
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
    "Pseudonyms",
    "RateLimiter",
    "RateLimits",
    "Redactor",
    "SQLiteConversationStore",
    "StoredMessage",
    "TierHold",
    "default_store_path",
    "is_email_like",
]
