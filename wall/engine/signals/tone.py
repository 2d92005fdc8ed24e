"""Negative tone of English posts, with vaderSentiment's lexicon (offline, rule-based, explainable).

VADER only knows English: a French post scores as neutral whatever it says ("c'est une honte"
scores 0), so the wall never scores a post unless its language is English. There is no French
scorer on purpose: an invented one would alert on the wrong posts.
"""

from __future__ import annotations

NEGATIVE_BELOW = -0.5  # VADER's compound score: -1 (most negative) .. +1; its authors call <= -0.05 negative


class ToneScorer:
    """VADER's compound score of a text; the lexicon is loaded once (about 7,500 entries)."""

    def __init__(self) -> None:
        # Imported here: a wall that scores no tone never loads the package (~1.5 MB) nor its lexicon
        # (~3 MB).
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        self._analyzer = SentimentIntensityAnalyzer()

    def score(self, text: str, language: str | None) -> float | None:
        """The compound score of `text`, or None when the post is not known to be English."""
        if not language or not language.lower().startswith("en") or not text.strip():
            return None
        return float(self._analyzer.polarity_scores(text)["compound"])
