// The inline SVG charts on fixed inputs: the reproduce table's grounded-share bars with ± sd whiskers,
// and the report's per-run grade shares (grounded / hallucinated / malformed per graded set).
import { describe, expect, test } from "@jest/globals";
import { gradeChart, gradeRows } from "../../orchestrator/report/grade.js";
import { renderPage } from "../../orchestrator/report/html.js";
import { buildModel } from "../../orchestrator/report/model.js";
import { BAR_CHART, barChartSvg, STACKED } from "../../orchestrator/report/svg.js";
import { buildTable, renderHtmlTable, type ArmRun } from "../../orchestrator/reproduce/table.js";
import { reportRun } from "./fake-run.js";

/** Every element `<tag …>` of the SVG with its attributes. */
function elements(svg: string, tag: string): Record<string, string>[] {
  return [...svg.matchAll(new RegExp(`<${tag}\\b([^>]*)>`, "g"))].map((m) =>
    Object.fromEntries([...m[1]!.matchAll(/([\w-]+)="([^"]*)"/g)].map((a) => [a[1]!, a[2]!])));
}

/** The `<g class="bar">` groups, each with its own markup. */
function barGroups(svg: string): string[] {
  return svg.split('<g class="bar"').slice(1).map((s) => s.slice(0, s.indexOf("</g>")));
}

const px = (share: number) => share * BAR_CHART.plotHeight;

describe("reproduce chart: grounded share of the final data per arm", () => {
  const arms = [{ name: "base", overrides: [] }, { name: "filter", overrides: [] }, { name: "c3l", overrides: [] }, { name: "kl", overrides: [] }];
  const run = (arm: string, seed: number, g?: number): ArmRun => ({ arm, seed, run_id: `${arm}-${seed}`, metrics: g === undefined ? {} : { "grade.final.grounded_share": g } });
  const runs = [run("base", 0, 0.4), run("base", 1, 0.5), run("base", 2, 0.6), run("filter", 0, 0.7), run("filter", 1, 0.72),
    run("c3l", 0, 0.8), run("kl", 0)];
  const html = renderHtmlTable(buildTable(arms, runs));
  const svg = html.slice(html.indexOf("<svg"), html.indexOf("</svg>") + 6);

  test("the table's HTML holds one inline SVG with one bar per arm, in arm order; no script, no network", () => {
    expect(html.match(/<svg/g)).toHaveLength(1);
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
    const groups = barGroups(svg);
    expect(groups.map((g) => /data-label="([^"]*)"/.exec(g)![1])).toEqual(["base", "filter", "c3l", "kl"]);
    // an arm with no value is a labelled gap, not a bar of height 0
    expect(groups.map((g) => elements(g, "rect").length)).toEqual([1, 1, 1, 0]);
    expect(groups[3]).toContain("no data");
  });

  test("bar heights follow the means; whisker lengths follow the sd (2·sd), none without an sd", () => {
    const groups = barGroups(svg);
    const heights = groups.slice(0, 3).map((g) => Number(elements(g, "rect")[0]!.height));
    expect(heights[0]).toBeCloseTo(px(0.5), 1);
    expect(heights[1]).toBeCloseTo(px(0.71), 1);
    expect(heights[2]).toBeCloseTo(px(0.8), 1);
    const whisker = (g: string) => elements(g, "line").filter((l) => l.class === "whisker").map((l) => Number(l.y2) - Number(l.y1));
    expect(whisker(groups[0]!)[0]).toBeCloseTo(2 * px(0.1), 1); // sd of 0.4, 0.5, 0.6 is 0.1
    expect(whisker(groups[1]!)[0]).toBeCloseTo(2 * px(Math.SQRT2 * 0.01), 1); // sd of 0.70, 0.72
    expect(whisker(groups[2]!)).toEqual([]); // one seed: no sd
    // the whisker is centred on the bar's top
    const base = elements(groups[0]!, "line").find((l) => l.class === "whisker")!;
    const top = Number(elements(groups[0]!, "rect")[0]!.y);
    expect((Number(base.y1) + Number(base.y2)) / 2).toBeCloseTo(top, 1);
  });

  test("labels are escaped", () => {
    const out = barChartSvg([{ label: "<arm & co>", value: 0.5, sd: null }], "t");
    expect(out).toContain("&lt;arm &amp; co&gt;");
    expect(out).not.toContain("<arm");
  });
});

describe("report: grade shares per graded set", () => {
  const metrics = {
    "grade.base.pairs": 200, "grade.base.grounded_share": 0.5, "grade.base.hallucinated_share": 0.3, "grade.base.malformed_share": 0.2, "grade.base.auroc_i2c": 0.74,
    "grade.final.pairs": 50, "grade.final.grounded_share": 0.8, "grade.final.hallucinated_share": 0.15, "grade.final.malformed_share": 0.05,
    "grade.final.count.grounded_share": 0.9, "pope.f1": 61,
  };

  test("rows per graded set in pipeline order; a set the run did not grade is left out", () => {
    const rows = gradeRows([reportRun("a", { metrics }), reportRun("b", {})]);
    expect(rows).toEqual([
      { run: "a", set: "base", pairs: 200, grounded_share: 0.5, hallucinated_share: 0.3, malformed_share: 0.2, auroc_i2c: 0.74 },
      { run: "a", set: "final", pairs: 50, grounded_share: 0.8, hallucinated_share: 0.15, malformed_share: 0.05, auroc_i2c: null },
    ]);
  });

  test("one stacked bar per set, its segments as wide as the shares, in grounded/hallucinated/malformed order", () => {
    const svg = gradeChart(gradeRows([reportRun("a", { metrics })]), false);
    const segs = elements(svg, "rect").filter((r) => r.class === "seg");
    expect(segs.map((s) => [s["data-part"], Number(s.width)])).toEqual([
      ["grounded", 0.5 * STACKED.barWidth], ["hallucinated", 0.3 * STACKED.barWidth], ["malformed", 0.2 * STACKED.barWidth],
      ["grounded", 0.8 * STACKED.barWidth], ["hallucinated", 0.15 * STACKED.barWidth], ["malformed", 0.05 * STACKED.barWidth],
    ]);
    expect(Number(segs[1]!.x)).toBeCloseTo(STACKED.labelWidth + 0.5 * STACKED.barWidth, 6); // stacked after grounded
    expect([...svg.matchAll(/<g class="stack" data-label="([^"]*)"/g)].map((m) => m[1])).toEqual(["base", "final"]);
  });

  test("the report page has a Grading section with the chart and table; data/grade has the rows", async () => {
    const model = await buildModel([reportRun("a", { metrics })], 1, () => {});
    expect(model.figures.grade.rows).toHaveLength(2);
    const page = renderPage(model, { chartJs: "", reportJs: "", reportCss: "" });
    const section = page.slice(page.indexOf('<section id="grade">'), page.indexOf("</section>", page.indexOf('<section id="grade">')));
    expect(section).toContain("<h2>Grading</h2>");
    expect(section).toContain('<svg xmlns="http://www.w3.org/2000/svg"');
    expect(section).toContain("<td>80.0%</td>");
    const empty = renderPage(await buildModel([reportRun("b", {})], 1, () => {}), { chartJs: "", reportJs: "", reportCss: "" });
    expect(empty).toMatch(/<section id="grade"><h2>Grading<\/h2><p class="empty">no grade stage/);
  });
});
