"""studybot: spaced-repetition study companion for ML/LLM interviews."""

__version__ = "0.1.0"
