// Which code produced a file: the c3l version and the checkout's git commit (run manifests and eval results both record it).
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { PROJECT_ROOT } from "../worker/python.js";

export interface BuildProvenance {
  /** package.json's version */
  c3l_version: string;
  /** `git rev-parse HEAD` of the checkout; null outside a git repository */
  git_commit: string | null;
  /** uncommitted changes to tracked files; null outside a git repository */
  git_dirty: boolean | null;
}

/** The provenance of the checkout at `repoDir` (default: this c3l checkout). */
export function buildProvenance(repoDir: string = PROJECT_ROOT): BuildProvenance {
  const commit = git(repoDir, ["rev-parse", "HEAD"]);
  return {
    c3l_version: c3lVersion(),
    git_commit: commit,
    git_dirty: commit === null ? null : git(repoDir, ["status", "--porcelain", "--untracked-files=no"]) !== "",
  };
}

function git(cwd: string, args: string[]): string | null {
  try {
    return execFileSync("git", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], timeout: 10_000 }).trim();
  } catch {
    return null; // not a repository, or git is not installed
  }
}

let version: string | undefined;
function c3lVersion(): string {
  version ??= (JSON.parse(readFileSync(join(PROJECT_ROOT, "package.json"), "utf8")) as { version: string }).version;
  return version;
}
