"""TalkerReasoner, HumanInTheLoop and ReAct."""

from .human_in_the_loop import HumanDecision, HumanInTheLoop
from .react import ReAct
from .talker_reasoner import TalkerReasoner

__all__ = ["HumanDecision", "HumanInTheLoop", "ReAct", "TalkerReasoner"]
