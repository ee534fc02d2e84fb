// docs/CONFIG.md and configs/default.yaml are generated from the schema and must be up to date.
import { describe, expect, test } from "@jest/globals";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { renderConfigDocs, renderDefaultYaml } from "../../orchestrator/config/docs.js";
import { SCHEMA } from "../../orchestrator/config/index.js";
import { walkFields } from "../../orchestrator/config/schema.js";
import { PROJECT_ROOT } from "../../orchestrator/worker/index.js";

const STALE = "stale: run `node scripts/gen-config-docs.mjs` and commit the result";

describe("generated config docs", () => {
  test("docs/CONFIG.md is up to date with the schema", () => {
    const committed = readFileSync(join(PROJECT_ROOT, "docs", "CONFIG.md"), "utf8");
    expect({ file: "docs/CONFIG.md", upToDate: committed === renderConfigDocs(), hint: STALE }).toMatchObject({ upToDate: true });
  });

  test("configs/default.yaml is up to date with the schema", () => {
    const committed = readFileSync(join(PROJECT_ROOT, "configs", "default.yaml"), "utf8");
    expect({ file: "configs/default.yaml", upToDate: committed === renderDefaultYaml(), hint: STALE }).toMatchObject({ upToDate: true });
  });

  test("every key of the schema is documented in CONFIG.md with its doc text", () => {
    const docs = renderConfigDocs();
    for (const [path, field] of walkFields(SCHEMA)) {
      const topSection = field.type === "section" && !path.includes(".");
      expect(docs).toContain(topSection ? `### \`${path}\`` : `| \`${path}\` |`);
      expect(docs).toContain(field.doc.replace(/\|/g, "\\|").replace(/</g, "&lt;"));
    }
  });
});
