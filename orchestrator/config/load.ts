// Reads a YAML config file into a plain value; syntax errors name the file, line and column.
import { readFileSync } from "node:fs";
import { LineCounter, parseDocument } from "yaml";

export interface Loaded {
  /** The parsed document (an empty file is an empty mapping); undefined when it could not be read. */
  doc: unknown;
  problems: string[];
}

/** `name` is how messages call the file (default: its path, e.g. as the user typed it). */
export function loadConfigFile(file: string, name = file): Loaded {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === "ENOENT" ? "no such file" : e.code === "EISDIR" ? "a directory, not a file" : e.message;
    return { doc: undefined, problems: [`${name}: cannot read the config file (${why})`] };
  }
  return parseConfigText(text, name);
}

/** Parses YAML text; `source` names it in error messages. Duplicate keys are errors. */
export function parseConfigText(text: string, source: string): Loaded {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  if (document.errors.length > 0) {
    return {
      doc: undefined,
      problems: document.errors.map((e) => {
        const { line, col } = lineCounter.linePos(e.pos[0]);
        return `${source}:${line}:${col}: YAML syntax error: ${firstLine(e.message)}`;
      }),
    };
  }
  let doc: unknown;
  try {
    doc = document.toJS({ maxAliasCount: 100 });
  } catch (err) { // an alias bomb ("Excessive alias count …") is a problem of this file, not a crash
    return { doc: undefined, problems: [`${source}: YAML error: ${firstLine((err as Error).message)}`] };
  }
  return { doc: doc ?? {}, problems: [] };
}

function firstLine(message: string): string {
  return message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "").trim();
}
