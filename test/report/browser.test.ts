// `c3l report` end to end: real smoke runs, the built CLI, and the page opened from disk in Debian's Chromium
// (headless, driven by playwright-core; scripts/setup.sh installs it). Saves test-artifacts/report.png.
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { pathToFileURL } from "node:url";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { FIGURE_NAMES } from "../../orchestrator/report/model.js";
import { PROJECT_ROOT } from "../../orchestrator/worker/python.js";
import { c3l, parseCsv } from "../runs/helpers.js";
import { CANVAS_PROBE, THUMB_PROBE, type CanvasProbe } from "./probes.js";

const CHROMIUM = "/usr/bin/chromium";
const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];
const ARTIFACTS = join(PROJECT_ROOT, "test-artifacts");
const COLORS = { first: [0x4e, 0x79, 0xa7], second: [0xf2, 0x8e, 0x2b] }; // the report's first two run colours

const tmp = mkdtempSync(join(tmpdir(), "c3l-report-"));
const runsDir = join(tmp, "runs");
let baseRun = "";
let lrRun = "";
let context: BrowserContext | null = null;

async function smokeRun(extra: string[]): Promise<string> {
  const r = await c3l(["run", "configs/smoke.yaml", `runs_dir=${runsDir}`, ...extra]);
  if (r.exitCode !== 0) throw new Error(`c3l run failed (${r.exitCode}):\n${r.stderr.slice(-2000)}`);
  return (JSON.parse(r.stdout) as { run_dir: string }).run_dir;
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: the browser test needs Debian's chromium. Run scripts/setup.sh as root (it installs it), or apt-get install chromium`);
  }
  baseRun = await smokeRun([]);
  lrRun = await smokeRun(["scoring.estimator=logratio", "--name", "lr"]);
  context = await chromium.launchPersistentContext(join(tmp, "chromium-profile"), {
    executablePath: CHROMIUM, args: ARGS, headless: true, viewport: { width: 1400, height: 900 },
  });
}, 600_000);

afterAll(async () => {
  await context?.close();
  rmSync(tmp, { recursive: true, force: true });
});

interface Opened {
  page: Page;
  errors: string[];
  requests: string[];
}

async function open(index: string): Promise<Opened> {
  const page = await (context as BrowserContext).newPage();
  const errors: string[] = [];
  const requests: string[] = [];
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("request", (r) => requests.push(r.url()));
  await page.goto(pathToFileURL(index).href, { waitUntil: "load" });
  return { page, errors, requests };
}

/** Scored pairs (finite I2C) in a pass's records: how many pairs a model parses varies between machines, so tests read it. */
function scored(runDir: string, pass: string): number {
  return readFileSync(join(runDir, "samples", `${pass}.jsonl`), "utf8").split("\n")
    .filter((l) => l.trim() !== "").map((l) => JSON.parse(l) as { i2c?: unknown })
    .filter((r) => typeof r.i2c === "number" && Number.isFinite(r.i2c)).length;
}

async function canvases(page: Page): Promise<CanvasProbe[]> {
  return (await page.evaluate(`(${CANVAS_PROBE})(${JSON.stringify(COLORS)})`)) as CanvasProbe[];
}

/** A data-* attribute of every gallery row that is shown, in page order. */
async function shownRows(page: Page, attribute: string): Promise<string[]> {
  return page.$$eval("#gallery-table tbody tr:not([hidden])", (rows, a) => rows.map((r) => r.getAttribute(a) ?? ""), attribute);
}

async function galleryI2C(page: Page): Promise<number[]> {
  return (await shownRows(page, "data-i2c")).map(Number);
}

function expectOffline(o: Opened) {
  expect(o.requests.length).toBeGreaterThan(0);
  expect(o.requests.filter((u) => !u.startsWith("file://") && !u.startsWith("data:"))).toEqual([]);
  expect(o.errors).toEqual([]);
}

describe("c3l report in a real browser", () => {
  test("one run: default folder, every section, charts drawn, gallery sorts and filters, offline, no console errors", async () => {
    const r = await c3l(["report", baseRun]);
    expect(r.exitCode).toBe(0);
    const index = r.stdout.trim();
    expect(index).toBe(join(baseRun, "report", "index.html"));
    const o = await open(index);
    const { page } = o;
    expect(o.errors).toEqual([]); // a script error first: it would explain any failure below

    const headings = await page.$$eval("section h2", (hs) => hs.map((x) => x.textContent));
    expect(headings).toEqual(["Runs", "Stage timeline", "Sample counts", "Config diff", "I2C distributions", "Training curves", "Grading", "Evaluation metrics", "Sample gallery", "Data"]);
    expect(await page.textContent("#metrics")).toContain("no evaluation metrics yet");
    expect(await page.textContent("#config")).toContain("one run: nothing to compare against");

    const charts = await canvases(page);
    expect(charts.map((c) => c.id)).toEqual(["chart-timeline", "chart-i2c-cdf", "chart-i2c-hist", "chart-train-loss", "chart-train-loss_lm", "chart-train-loss_cl", "chart-train-lr"]);
    for (const c of charts) {
      expect(c.charted).toBe(true);
      expect(c.paintedShare).toBeGreaterThan(0.01);
    }
    const byId = Object.fromEntries(charts.map((c) => [c.id, c]));
    for (const id of ["chart-i2c-cdf", "chart-i2c-hist"]) {
      expect(byId[id]?.kinds).toEqual({ i2c: 2, threshold: 1 }); // 1 run × 2 scoring passes, and r0-select's threshold
      expect(byId[id]?.near["first"]).toBeGreaterThan(200);
    }
    expect(byId["chart-train-loss"]?.kinds).toEqual({ training: 1 });
    expect(byId["chart-timeline"]?.kinds).toEqual({ stage: 8 }); // pretrain (it builds builtin:smoke) and the 7 pipeline stages

    // sorting: a click on the I2C header reorders the rows low → high, a second click high → low
    const before = await galleryI2C(page);
    expect(scored(baseRun, "rescore")).toBeGreaterThanOrEqual(20); // enough pairs for a full gallery, on any machine
    expect(before.length).toBe(20); // top 10 and bottom 10
    await page.click('#gallery-table th[data-sort="i2c"]');
    const ascending = await galleryI2C(page);
    expect(ascending).not.toEqual(before);
    expect(ascending).toEqual([...before].sort((a, b) => a - b));
    await page.click('#gallery-table th[data-sort="i2c"]');
    expect(await galleryI2C(page)).toEqual([...before].sort((a, b) => b - a));
    await page.selectOption("#gallery-sort", "rank:asc");
    expect(await galleryI2C(page)).toEqual(before);

    // filtering: text, group, kept-only
    const word = ((await page.$eval("#gallery-table tbody tr td.text", (td) => td.textContent)) ?? "").split(/\s+/).find((w: string) => w.length > 3) as string;
    await page.fill("#gallery-filter", word);
    const texts = await shownRows(page, "data-text");
    expect(texts.length).toBeGreaterThan(0);
    expect(texts.length).toBeLessThanOrEqual(20);
    for (const t of texts) expect(t).toContain(word.toLowerCase());
    expect(await page.textContent("#gallery-count")).toBe(`showing ${texts.length} of 20 pairs`);
    await page.fill("#gallery-filter", "");
    await page.selectOption("#gallery-group", "bottom");
    expect((await galleryI2C(page)).length).toBe(10);
    await page.selectOption("#gallery-group", "");
    await page.check("#gallery-kept");
    const kept = await shownRows(page, "data-kept");
    expect(kept.every((k) => k === "1")).toBe(true);

    const thumbs = (await page.evaluate(THUMB_PROBE)) as Array<[number, string]>;
    expect(thumbs.length).toBe(20);
    for (const [w, src] of thumbs) {
      expect(w).toBeGreaterThan(0);
      expect(src).toBe("data:image/png;base64,");
    }
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, "report-single.png"), fullPage: true });
    expectOffline(o);
    await page.close();
  }, 60_000);

  test("two runs: config diff, both runs in every chart, data files as JSON and CSV; screenshot saved", async () => {
    const out = join(tmp, "two");
    const r = await c3l(["report", baseRun, "lr", "--runs-dir", runsDir, "--out", out]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe(join(out, "index.html"));
    expect(r.stderr).toContain("2 runs");
    const o = await open(join(out, "index.html"));
    const { page } = o;
    expect(o.errors).toEqual([]);

    const diff = await page.textContent("#config table");
    expect(diff).toContain("scoring.estimator");
    expect(diff).toContain("logratio");
    const charts = Object.fromEntries((await canvases(page)).map((c) => [c.id, c]));
    for (const id of ["chart-i2c-cdf", "chart-i2c-hist"]) {
      expect(charts[id]?.kinds).toEqual({ i2c: 4, threshold: 2 }); // 2 runs × 2 scoring passes
      expect(charts[id]?.near["first"]).toBeGreaterThan(200);
      expect(charts[id]?.near["second"]).toBeGreaterThan(200);
    }
    expect(charts["chart-train-loss_cl"]?.kinds).toEqual({ training: 2 });
    expect(await page.$$eval("#gallery-table tbody tr", (rows) => rows.length)).toBe(40);
    await page.selectOption("#gallery-run", "lr");
    expect((await galleryI2C(page)).length).toBe(20);
    await page.selectOption("#gallery-run", "");

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, "report.png"), fullPage: true });
    expectOffline(o);
    await page.close();

    for (const name of FIGURE_NAMES) {
      const json = JSON.parse(readFileSync(join(out, "data", `${name}.json`), "utf8")) as Array<Record<string, unknown>>;
      const csv = parseCsv(readFileSync(join(out, "data", `${name}.csv`), "utf8"));
      expect(csv.length - 1).toBe(json.length);
      if (json[0]) expect(csv[0]).toEqual(expect.arrayContaining(Object.keys(json[0])));
    }
    const hist = JSON.parse(readFileSync(join(out, "data", "i2c_hist.json"), "utf8")) as Array<{ run: string; pass: string; count: number }>;
    const perSeries = new Map<string, number>();
    for (const h of hist) perSeries.set(`${h.run}/${h.pass}`, (perSeries.get(`${h.run}/${h.pass}`) ?? 0) + h.count);
    // Every finite I2C of each scoring pass's records is in its series exactly once.
    const expected = new Map<string, number>();
    for (const [label, dir] of [[basename(baseRun), baseRun], ["lr", lrRun]] as const) {
      for (const pass of ["r0-score", "rescore"]) expected.set(`${label}/${pass}`, scored(dir, pass));
    }
    expect(Object.fromEntries(perSeries)).toEqual(Object.fromEntries(expected));
    for (const count of perSeries.values()) expect(count).toBeGreaterThan(0);
  }, 60_000);

  test("an unknown run exits 2 naming it; a bad --top-k exits 2", async () => {
    const r = await c3l(["report", "no-such-run", "--runs-dir", runsDir]);
    expect(r.exitCode).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain('no run "no-such-run"');
    const k = await c3l(["report", baseRun, "--top-k", "0"]);
    expect(k.exitCode).toBe(2);
    expect(k.stderr).toContain("--top-k");
  });
});
