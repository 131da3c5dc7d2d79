"""Import point for the IAMA tables (``nitroplatform.db.models_registry`` imports ``iama.models``)."""

from iama.storage.models import (
    Answer,
    AnswerHistory,
    ApprovedSnapshot,
    Comment,
    Decision,
    Deployment,
    DpoAdvice,
    IamaRecord,
    RecordVersion,
    ResidualRisk,
    ReviewItem,
    Transition,
)

__all__ = [
    "Answer",
    "AnswerHistory",
    "ApprovedSnapshot",
    "Comment",
    "Decision",
    "Deployment",
    "DpoAdvice",
    "IamaRecord",
    "RecordVersion",
    "ResidualRisk",
    "ReviewItem",
    "Transition",
]
