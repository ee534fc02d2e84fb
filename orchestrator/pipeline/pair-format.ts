// The pair-format check: what a well-formed question/answer pair of the prompt's format is, and its
// family. A pair whose question matches no family (with format.unmatched: malformed) or whose answer
// does not match its family's answer pattern is malformed: it never enters selection, contrast or
// the final data (a malformed answer is improbable without the image, so its I2C would rank it high).
// Families come from the config's format.families, or a preset (world: the embedded world's
// templates, py-worker/c3l_worker/world/format.json, the file its grader reads too).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { C3lConfig } from "../config/index.js";
import { PROJECT_ROOT } from "../worker/index.js";
import type { ScoredPair } from "./select.js";

export const WORLD_FORMAT_FILE = join(PROJECT_ROOT, "py-worker", "c3l_worker", "world", "format.json");
/** The family of every pair when no families are configured, or of unmatched pairs with format.unmatched: other. */
export const OTHER_FAMILY = "other";

interface FamilyPatterns {
  name: string;
  question: RegExp;
  answer: RegExp | null;
}

/** How a question/answer pair is written as generator text (the contrastive targets). */
export function formatPair(question: string, answer: string): string {
  return `Q: ${question} A: ${answer}`;
}

export interface PairFormat {
  families: FamilyPatterns[];
  unmatched: "malformed" | "other";
  normalise: (text: string) => string;
}

export interface PairClass {
  family: string;
  /** why the pair is malformed, or null when it is well-formed */
  malformed: string | null;
}

/** Whitespace collapsed; the world's also spaces punctuation as its templates do ("square?" → "square ?"). */
const NORMALISERS: Record<string, (text: string) => string> = {
  whitespace: (text) => text.trim().replace(/\s+/g, " "),
  spaced_punctuation: (text) => text.trim().toLowerCase().replace(/\s*([?.,])/g, " $1").replace(/\s+/g, " ").trim(),
};

function compile(pattern: string, where: string, slots: Record<string, string> = {}): RegExp {
  const filled = Object.entries(slots).reduce((p, [name, alternatives]) => p.split(`{${name}}`).join(alternatives), pattern);
  try {
    return new RegExp(filled, "i");
  } catch (err) {
    throw new Error(`${where}: not a valid regular expression: ${(err as Error).message}`);
  }
}

/** The names of the world's question families, in format.json's order (count, colour, …). */
export function worldFamilyNames(): string[] {
  return worldFamilies().families.map((f) => f.name);
}

/** The world's families from format.json (one source with the world's grader). */
function worldFamilies(): { families: FamilyPatterns[]; normalise: string } {
  const spec = JSON.parse(readFileSync(WORLD_FORMAT_FILE, "utf8")) as {
    normalise: string; slots: Record<string, string>; families: { name: string; question: string; answer: string }[];
  };
  return {
    normalise: spec.normalise,
    families: spec.families.map((f) => ({
      name: f.name,
      question: compile(f.question, `${WORLD_FORMAT_FILE}: family ${f.name} question`, spec.slots),
      answer: compile(f.answer, `${WORLD_FORMAT_FILE}: family ${f.name} answer`, spec.slots),
    })),
  };
}

export function pairFormat(config: C3lConfig): PairFormat {
  const f = config.format;
  if (f.preset === "world") {
    const world = worldFamilies();
    return { families: world.families, unmatched: f.unmatched, normalise: NORMALISERS[world.normalise]! };
  }
  return {
    families: f.families.map((family, i) => ({
      name: family.name,
      question: compile(family.question, `format.families[${i}].question`),
      answer: family.answer === null ? null : compile(family.answer, `format.families[${i}].answer`),
    })),
    unmatched: f.unmatched,
    normalise: NORMALISERS.whitespace!,
  };
}

/** The pair's family and whether it is well-formed. With no families every pair is well-formed ("other"). */
export function classifyPair(format: PairFormat, question: string, answer: string): PairClass {
  if (format.families.length === 0) return { family: OTHER_FAMILY, malformed: null };
  const q = format.normalise(question);
  const family = format.families.find((f) => f.question.test(q));
  if (!family) {
    return format.unmatched === "other"
      ? { family: OTHER_FAMILY, malformed: null }
      : { family: OTHER_FAMILY, malformed: "the question matches no family of format.families" };
  }
  if (family.answer && !family.answer.test(format.normalise(answer))) {
    return { family: family.name, malformed: `the answer is not of the form family ${family.name} answers in` };
  }
  return { family: family.name, malformed: null };
}

/** The scored pairs a stage may use: scored, well-formed, each with its family; and how many were malformed. */
export function usablePairs(config: C3lConfig, records: Iterable<{ id: string; image_id: string; question: string; answer: string; i2c: number | null }>
): { pairs: ScoredPair[]; malformed: number } {
  const format = pairFormat(config);
  const pairs: ScoredPair[] = [];
  let malformed = 0;
  for (const r of records) {
    if (r.i2c === null) continue;
    const c = classifyPair(format, r.question, r.answer);
    if (c.malformed) malformed++;
    else pairs.push({ id: r.id, image_id: r.image_id, question: r.question, answer: r.answer, i2c: r.i2c, family: c.family });
  }
  return { pairs, malformed };
}
