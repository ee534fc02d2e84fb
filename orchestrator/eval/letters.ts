// Reading an option letter out of a generated answer (SEED-Bench, MMBench): the exact rule is in docs/EVAL.md.

export const LETTERS = ["A", "B", "C", "D", "E", "F", "G", "H", "I"] as const;

/** LLaVA-1.5's multiple-choice suffix (MMBench and SEED-Bench). */
export const LETTER_SUFFIX = "Answer with the option's letter from the given choices directly.";

export type LetterParse =
  | { letter: string; via: "bare" | "leading" | "stated" | "text" | "token" }
  | { letter: null; reason: string };

/** The question text, its options as "A. …" lines and the suffix, as LLaVA's model_vqa_mmbench.py lays them out. */
export function letterPrompt(question: string, choices: string[]): string {
  return [question, ...choices.map((c, i) => `${LETTERS[i]}. ${c}`), LETTER_SUFFIX].join("\n");
}

const BARE = /^(?:\(([A-Za-z])\)|\[([A-Za-z])\]|([A-Za-z])\)?)[.:]?$/;
const LEADING = /^(?:\(([A-Z])\)|\[([A-Z])\]|([A-Z])[.:)])\s+\S/;
const STATED_KEYWORD = /\b(?:answer|option|choice)(?:\s+is)?\s*:?\s*/gi;
const STATED_LETTER = /^(?:\(([A-Z])\)|\[([A-Z])\]|\*\*([A-Z])\*\*|([A-Z]))(?![A-Za-z0-9])/;
const TOKEN_SEPARATORS = /[.()[\],:;!*#{}]/g;

/**
 * The option an answer picks, among `choices` (letters A, B, … by position). Steps, first hit wins:
 * 1. bare: the whole (trimmed) answer is one letter, either case, optionally in () or [] and
 *    followed by "." or ":" — "B", "b", "(B)", "B.", "[b]".
 * 2. leading: an upper-case letter in () or [], or followed by ".", ")" or ":", then a space and
 *    more text — "B. a cat", "(B) a cat", "C) red".
 * 3. stated: "answer", "option" or "choice" (any case), optionally "is", optionally ":", then an
 *    upper-case letter (bare, in () / [] or **bold**) not followed by a letter or digit — "The answer
 *    is C", "Answer: (B)"; used when all such statements name one letter.
 * 4. text, equal: lower-cased, white space collapsed, trailing "." / "!" dropped, the answer is
 *    exactly one option's text — "A fish." is option "a fish", not letter A.
 * 5. token (VLMEvalKit's can_infer_option): replace each of . ( ) [ ] , : ; ! * # { } by a space,
 *    split on white space; if exactly one option letter occurs as a token, it — except when that
 *    letter is "A" and there are more than 3 tokens (the article "A").
 * 6. text, contained (VLMEvalKit's can_infer_text, stricter): the only option text found inside
 *    the normalized answer as whole words.
 * Otherwise (and for "", or a letter that is not an option): no letter, with the reason.
 */
export function extractLetter(answer: string, choices: string[]): LetterParse {
  const letters: string[] = choices.map((_, i) => LETTERS[i]!);
  const text = answer.trim();
  if (text === "") return { letter: null, reason: "empty answer" };

  const bare = BARE.exec(text);
  if (bare) {
    const letter = (bare[1] ?? bare[2] ?? bare[3])!.toUpperCase();
    return letters.includes(letter) ? { letter, via: "bare" } : { letter: null, reason: `${letter} is not an option (${letters.join(", ")})` };
  }

  const leading = LEADING.exec(text);
  if (leading) {
    const letter = (leading[1] ?? leading[2] ?? leading[3])!;
    if (letters.includes(letter)) return { letter, via: "leading" };
  }

  const stated = new Set<string>();
  for (const m of text.matchAll(STATED_KEYWORD)) {
    const after = STATED_LETTER.exec(text.slice(m.index + m[0].length));
    const letter = after ? (after[1] ?? after[2] ?? after[3] ?? after[4])! : null;
    if (letter && letters.includes(letter)) stated.add(letter);
  }
  if (stated.size === 1) return { letter: [...stated][0]!, via: "stated" };

  const equal = equalOptionText(text, choices);
  if (equal !== null) return { letter: LETTERS[equal]!, via: "text" };

  const tokens = text.replace(TOKEN_SEPARATORS, " ").split(/\s+/).filter((t) => t !== "");
  const hits = letters.filter((l) => tokens.includes(l));
  if (hits.length === 1 && !(hits[0] === "A" && tokens.length > 3)) return { letter: hits[0]!, via: "token" };

  const byText = matchOptionText(text, choices);
  if (byText !== null) return { letter: LETTERS[byText]!, via: "text" };
  return { letter: null, reason: hits.length > 1 ? `several option letters (${hits.join(", ")})` : "no option letter and no unique option text" };
}

const normText = (s: string) => s.toLowerCase().replace(/\s+/g, " ").trim().replace(/[.!]+$/, "").trim();

/** Index of the one option whose text the answer is; null when none or several are. */
function equalOptionText(answer: string, choices: string[]): number | null {
  const a = normText(answer);
  const equal = choices.map(normText).flatMap((o, i) => (o !== "" && o === a ? [i] : []));
  return equal.length === 1 ? equal[0]! : null;
}

/** Index of the option whose text the answer is, or uniquely contains as whole words; null otherwise. */
export function matchOptionText(answer: string, choices: string[]): number | null {
  const a = normText(answer);
  const opts = choices.map(normText);
  const equal = opts.flatMap((o, i) => (o !== "" && o === a ? [i] : []));
  if (equal.length > 0) return equal.length === 1 ? equal[0]! : null;
  const inside = opts.flatMap((o, i) => (o !== "" && containsWords(a, o) ? [i] : []));
  return inside.length === 1 ? inside[0]! : null;
}

function containsWords(haystack: string, needle: string): boolean {
  let from = 0;
  for (;;) {
    const at = haystack.indexOf(needle, from);
    if (at === -1) return false;
    const before = at === 0 ? "" : haystack[at - 1]!;
    const after = haystack[at + needle.length] ?? "";
    if (!/[\p{L}\p{N}]/u.test(before) && !/[\p{L}\p{N}]/u.test(after)) return true;
    from = at + 1;
  }
}
