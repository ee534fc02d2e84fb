"""Generated text -> question/answer pairs, with a reason whenever something could not be used.

Accepted markers (case-insensitive, anywhere in the text: newlines are not needed, because some
tokenizers drop them): "Q:", "A:", "Question:", "Answer:", numbered "Q1:", "Q 1:", "Question 1:",
"A1:", markdown bold ("**Q1:**", "**Q**:"), and a list bullet or number in front ("- Q:", "2. Q:").
A marker must not follow a letter or digit ("data:" holds no "a:" marker). Text before the first
marker is a preamble and ignored; text after a marker runs to the next marker.

Nothing is dropped silently: parse_error lists every problem (pairs with no answer, empty parts,
answers with no question, repeated pairs, a pair cut off by the token limit), and the good pairs
are still returned beside it.
"""
from __future__ import annotations

import re

NO_MARKERS = "no question/answer markers found"

_MARKER = re.compile(
    r"(?<![\w*])"  # not inside a word ("data:"), and the whole run of asterisks is taken
    r"(?:[-•]\s*)?"  # a list bullet
    r"(?:\*+\s*)?"
    r"(?P<kind>question|answer|q|a)"
    r"\s*(?P<num>\d+)?\s*\**\s*[:：]\s*\**",
    re.IGNORECASE,
)
# "2." or "2)" ending the text before a question marker: a list number, stripped when it is the
# number that question would have (so an answer "there are 3." before question 2 keeps its "3.").
_ENUMERATOR = re.compile(r"(?<!\w)\(?(\d+)\s*[.)]\s*$")


def _segments(text: str) -> list[tuple[str, int, str]]:
    """(kind "q"/"a", character position, text up to the next marker) for each marker."""
    matches = list(_MARKER.finditer(text))
    out = []
    for i, m in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        kind = m.group("kind")[0].lower()
        out.append((kind, m.start("kind"), text[m.end():end]))
    # Strip list numbers that belong to the NEXT question ("... A: red. 2. Q: ...").
    questions = 0
    for i, (kind, pos, body) in enumerate(out):
        if kind == "q":
            questions += 1
        if i + 1 < len(out) and out[i + 1][0] == "q":
            number = _ENUMERATOR.search(body)
            if number and int(number.group(1)) == questions + 1:
                out[i] = (kind, pos, body[:number.start()])
    return out


def _key(pair: dict) -> tuple[str, str]:
    return " ".join(pair["question"].split()), " ".join(pair["answer"].split())


def parse_qa(text: str, *, truncated: bool = False) -> tuple[list[dict], str | None]:
    """Pairs [{"question", "answer"}] in order and None, or the usable pairs and a reason.

    `truncated`: the text ended at the token limit, so its last answer is presumably cut short; that
    pair is dropped and reported. Exact repeats (whitespace-insensitive) keep their first occurrence
    and are reported.
    """
    segments = _segments(text)
    if not segments:
        return [], NO_MARKERS
    problems: list[str] = []
    candidates: list[tuple[int, str, str | None]] = []  # (question number, question, answer or None)
    number = 0
    for kind, pos, body in segments:
        body = body.strip()
        if kind == "q":
            number += 1
            candidates.append((number, body, None))
        elif candidates and candidates[-1][2] is None:
            candidates[-1] = (candidates[-1][0], candidates[-1][1], body)
        else:
            problems.append(f"answer at character {pos} has no question before it")

    if truncated and candidates and candidates[-1][2] is not None and segments[-1][0] == "a":
        problems.append(f"pair {candidates[-1][0]} was cut off at max_new_tokens")
        candidates.pop()

    pairs: list[dict] = []
    seen: dict[tuple[str, str], int] = {}
    for n, question, answer in candidates:
        if answer is None:
            problems.append(f"question {n} has no answer")
        elif not question:
            problems.append(f"empty question in pair {n}")
        elif not answer:
            problems.append(f"empty answer in pair {n}")
        else:
            pair = {"question": question, "answer": answer}
            if _key(pair) in seen:
                problems.append(f"pair {n} repeats pair {seen[_key(pair)]}")
                continue
            seen[_key(pair)] = n
            pairs.append(pair)
    return pairs, "; ".join(problems) or None
