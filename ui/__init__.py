"""The chat page's presentation: markup from the library's answers, styles, example questions.

The library (``rag``) knows nothing of this package; ``app.py`` wires it to Gradio.
"""

from pathlib import Path

STYLE = Path(__file__).with_name("style.css")

# One click each in the chat; they are about the sample corpus (data/sample).
EXAMPLE_QUESTIONS = [
    "Where is the nuclear plant being built?",
    "Who won the water polo match between Iran and Japan?",
    "What did coach Abdi say about Iran's U-20 team?",
    "How is Iran's central bank helping merchants?",
    "What did Larijani say about the nuclear issue?",
]
