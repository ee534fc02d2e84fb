// The option-letter rule (docs/EVAL.md), one case per form it accepts or refuses.
import { describe, expect, test } from "@jest/globals";
import { extractLetter, letterPrompt, matchOptionText } from "../../orchestrator/eval/letters.js";

const FOUR = ["a cat", "a dog", "a bird", "a fish"];
const letter = (answer: string, choices = FOUR) => extractLetter(answer, choices);

describe("extractLetter", () => {
  test.each([
    ["B", "B", "bare"],
    ["b", "B", "bare"],
    ["(B)", "B", "bare"],
    ["[b]", "B", "bare"],
    ["B.", "B", "bare"],
    ["  C:  ", "C", "bare"],
    ["B)", "B", "bare"],
    ["B. a cat", "B", "leading"],
    ["(B) a dog", "B", "leading"],
    ["D) a fish", "D", "leading"],
    ["A. a big grey cat", "A", "leading"],
    ["The answer is C", "C", "stated"],
    ["The answer is A", "A", "stated"],
    ["Answer: (D)", "D", "stated"],
    ["The correct option is **B**, not the others", "B", "stated"],
    ["I think C fits best", "C", "token"],
    ["a dog", "B", "text"],
    ["A fish.", "D", "text"],
    ["It looks like a bird to me", "C", "text"],
  ])("%j → %s (%s)", (answer, expected, via) => {
    expect(letter(answer)).toEqual({ letter: expected, via });
  });

  test.each([
    ["", "empty answer"],
    ["   ", "empty answer"],
    ["E", "E is not an option (A, B, C, D)"],
    ["B or C", "several option letters (B, C)"],
    ["A is the answer here I guess", "no option letter and no unique option text"], // VLMEvalKit's article guard
    ["I cannot tell", "no option letter and no unique option text"],
    ["a cat or a dog", "no option letter and no unique option text"],
  ])("%j → no letter (%s)", (answer, reason) => {
    expect(letter(answer)).toEqual({ letter: null, reason });
  });

  test("letters beyond the question's options are not options", () => {
    expect(extractLetter("C", ["yes", "no"])).toEqual({ letter: null, reason: "C is not an option (A, B)" });
    expect(extractLetter("The answer is C", ["yes", "no"]).letter).toBeNull();
  });

  test("a known limit kept from VLMEvalKit: 'A cat' with no option equal to it reads as the letter A", () => {
    expect(extractLetter("A cat", ["a dog", "cat"])).toEqual({ letter: "A", via: "token" });
    expect(extractLetter("A cat", ["a dog", "a cat"])).toEqual({ letter: "B", via: "text" });
  });

  test("a lowercase article is never read as a letter after 'answer is'", () => {
    expect(extractLetter("the answer is a dog", FOUR)).toEqual({ letter: "B", via: "text" });
  });
});

describe("matchOptionText", () => {
  test("equal text wins; otherwise one option inside the answer as whole words", () => {
    expect(matchOptionText("Red.", ["red", "green"])).toBe(0);
    expect(matchOptionText("the car is green", ["red", "green"])).toBe(1);
    expect(matchOptionText("bored", ["red", "green"])).toBeNull(); // "red" only as part of a word
    expect(matchOptionText("red and green", ["red", "green"])).toBeNull();
  });
});

test("letterPrompt lays out question, options and suffix as LLaVA does", () => {
  expect(letterPrompt("Hint\nWhat is it?", ["x", "y"])).toBe("Hint\nWhat is it?\nA. x\nB. y\nAnswer with the option's letter from the given choices directly.");
});
