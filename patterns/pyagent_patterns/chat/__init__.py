"""The embeddable multi-turn chat handler and the store its conversations live in."""

from .desk import HandoffDesk
from .handler import ChatEvent, ChatHandler, ChatReply, ContextBudget, ProfileHook, TierHold
from .limits import RateLimiter, RateLimits
from .pseudonyms import Pseudonyms, is_email_like
from .redaction import Redactor
from .replies import Replay
from .sending import SendPolicy
from .sqlite_store import SQLiteConversationStore
from .store import (
    Conversation,
    ConversationState,
    ConversationStore,
    StoredMessage,
    default_store_path,
)
from .stores import close_store, open_store

__all__ = [
    "ChatEvent",
    "ChatHandler",
    "ChatReply",
    "ContextBudget",
    "Conversation",
    "ConversationState",
    "ConversationStore",
    "HandoffDesk",
    "ProfileHook",
    "Pseudonyms",
    "RateLimiter",
    "RateLimits",
    "Redactor",
    "Replay",
    "SQLiteConversationStore",
    "SendPolicy",
    "StoredMessage",
    "TierHold",
    "close_store",
    "default_store_path",
    "is_email_like",
    "open_store",
]
