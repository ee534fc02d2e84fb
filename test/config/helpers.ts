// Temporary config files for the config tests (real files in a fresh folder, removed afterwards).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

export interface Scratch {
  dir: string;
  /** Writes `text` at `relPath` under the folder (parents created) and returns the absolute path. */
  write(relPath: string, text: string): string;
  mkdir(relPath: string): string;
  remove(): void;
}

export function scratch(): Scratch {
  const dir = mkdtempSync(join(tmpdir(), "c3l-config-"));
  return {
    dir,
    write(relPath, text) {
      const path = join(dir, relPath);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, text);
      return path;
    },
    mkdir(relPath) {
      const path = join(dir, relPath);
      mkdirSync(path, { recursive: true });
      return path;
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
