import pytest

from c3l_worker.qa_parser import NO_MARKERS, parse_qa


def qa(*pairs):
    return [{"question": q, "answer": a} for q, a in pairs]


TWO = qa(("What colour is the circle?", "Red."), ("How many squares are there?", "Three."))


@pytest.mark.parametrize("text", [
    "Q: What colour is the circle? A: Red. Q: How many squares are there? A: Three.",
    "Q: What colour is the circle?\nA: Red.\n\nQ: How many squares are there?\nA: Three.\n",
    "Question: What colour is the circle?\nAnswer: Red.\nQuestion: How many squares are there?\nAnswer: Three.",
    "question: What colour is the circle? ANSWER: Red. QUESTION: How many squares are there? answer: Three.",
    "Q1: What colour is the circle? A1: Red. Q2: How many squares are there? A2: Three.",
    "Q 1: What colour is the circle? A 1: Red. Q 2: How many squares are there? A 2: Three.",
    "Question 1: What colour is the circle?\nAnswer 1: Red.\nQuestion 2: How many squares are there?\nAnswer 2: Three.",
    "1. Q: What colour is the circle? A: Red.\n2. Q: How many squares are there? A: Three.",
    "1) Q: What colour is the circle? A: Red. 2) Q: How many squares are there? A: Three.",
    "**Q1:** What colour is the circle? **A1:** Red.\n**Q2:** How many squares are there? **A2:** Three.",
    "**Q**: What colour is the circle? **A**: Red. **Q**: How many squares are there? **A**: Three.",
    "- Q: What colour is the circle?\n- A: Red.\n- Q: How many squares are there?\n- A: Three.",
    "* Q: What colour is the circle?\n  A: Red.\n* Q: How many squares are there?\n  A: Three.",
    "Sure! Here are two pairs about the image.\n"
    "Q: What colour is the circle? A: Red.\nQ: How many squares are there? A: Three.",
    "Q：What colour is the circle? A：Red. Q：How many squares are there? A：Three.",  # full-width colons
    "  Q:   What colour is the circle?   A:  Red.   Q: How many squares are there?   A:   Three.   ",
])
def test_accepted_forms(text):
    assert parse_qa(text) == (TWO, None)


def test_lowercased_text_without_newlines_as_the_tiny_tokenizer_writes_it():
    text = "q: what colour is the circle? a: red. q 2: how many squares are there? a 2: three."
    expected = qa(("what colour is the circle?", "red."), ("how many squares are there?", "three."))
    assert parse_qa(text) == (expected, None)


def test_multiline_answer_keeps_inner_text_and_strips_ends():
    text = "Q: Describe the image.\nA: A red circle\non the left.\n\nQ: Is it big? A: No."
    assert parse_qa(text) == (qa(("Describe the image.", "A red circle\non the left."), ("Is it big?", "No.")), None)


def test_letters_inside_words_are_not_markers():
    text = "Q: What does the data: field hold? A: The area: 3 units. Q: Is a circle there? A: Yes, a circle."
    assert parse_qa(text) == (qa(("What does the data: field hold?", "The area: 3 units."),
                                  ("Is a circle there?", "Yes, a circle.")), None)


def test_a_number_ending_an_answer_is_kept_unless_it_numbers_the_next_question():
    text = "1. Q: How many circles? A: 3. 2. Q: How many squares? A: 2. 3. Q: Any stars? A: 4."
    assert parse_qa(text) == (qa(("How many circles?", "3."), ("How many squares?", "2."), ("Any stars?", "4.")), None)
    # "3." cannot number question 2, so it stays in the answer.
    assert parse_qa("Q: How many circles? A: 3. Q: How many squares? A: 5.")[0][0]["answer"] == "3."


@pytest.mark.parametrize("text", ["", "   ", "A red circle on a white background.", "The answer is yes.",
                                  "Here are some questions and answers about the image.",
                                  "Questions: none yet. Answers: none yet."])
def test_no_markers(text):
    assert parse_qa(text) == ([], NO_MARKERS)


def test_question_without_answer_keeps_the_good_pairs():
    pairs, error = parse_qa("Q: What colour? A: Red. Q: How many? Q: Where? A: Left.")
    assert pairs == qa(("What colour?", "Red."), ("Where?", "Left."))
    assert error == "question 2 has no answer"


def test_trailing_question_without_answer():
    pairs, error = parse_qa("Q: What colour? A: Red. Q: How many")
    assert pairs == qa(("What colour?", "Red."))
    assert error == "question 2 has no answer"


def test_empty_answer_and_empty_question_are_reported():
    pairs, error = parse_qa("Q: What colour? A: Red. Q: Where? A: Q: A: Left. Q: Big? A: Yes.")
    assert pairs == qa(("What colour?", "Red."), ("Big?", "Yes."))
    assert error == "empty answer in pair 2; empty question in pair 3"


def test_only_markers():
    assert parse_qa("Q: A:") == ([], "empty question in pair 1")
    assert parse_qa("Q: What? A:   ") == ([], "empty answer in pair 1")


def test_answer_without_question():
    text = "What colour is it? A: Red. Q: How many? A: Two."
    pairs, error = parse_qa(text)
    assert pairs == qa(("How many?", "Two."))
    assert error == f"answer at character {text.index('A:')} has no question before it"
    pairs, error = parse_qa("Q: How many? A: Two. A: Three.")
    assert pairs == qa(("How many?", "Two."))
    assert error.startswith("answer at character ") and error.endswith("has no question before it")


def test_exact_repeats_are_dropped_and_reported():
    text = "Q: What colour? A: Red. Q: Where? A: Left. Q:  What  colour? A: Red.  Q: What colour? A: Blue."
    pairs, error = parse_qa(text)
    assert pairs == qa(("What colour?", "Red."), ("Where?", "Left."), ("What colour?", "Blue."))
    assert error == "pair 3 repeats pair 1"


def test_repeats_are_case_sensitive():
    assert parse_qa("Q: Red? A: Yes. Q: red? A: yes.") == (qa(("Red?", "Yes."), ("red?", "yes.")), None)


def test_truncated_text_drops_the_last_pair():
    text = "Q: What colour? A: Red. Q: Where is the circle? A: In the top"
    assert parse_qa(text, truncated=True) == (qa(("What colour?", "Red.")), "pair 2 was cut off at max_new_tokens")
    assert parse_qa(text)[1] is None  # not truncated: the text is taken as complete
    # Cut inside a question: that question simply has no answer.
    assert parse_qa("Q: What colour? A: Red. Q: Where is", truncated=True) == (
        qa(("What colour?", "Red.")), "question 2 has no answer")
    assert parse_qa("No pairs here", truncated=True) == ([], NO_MARKERS)


def test_several_problems_are_all_listed():
    pairs, error = parse_qa("Q: One? A: 1. Q: Two? Q: One? A: 1. Q: Three? A:")
    assert pairs == qa(("One?", "1."))
    assert error == "question 2 has no answer; pair 3 repeats pair 1; empty answer in pair 4"
