// Training curves: total loss, L_LM, L_CL and learning rate per micro-step of every contrast stage.
import type { ReportRun } from "./load.js";
import { stageKind } from "./stages.js";

export const CURVES = ["loss", "loss_lm", "loss_cl", "lr"] as const;
export type Curve = (typeof CURVES)[number];

export interface TrainingRow {
  run: string;
  stage: string;
  micro: number;
  step: number | null;
  loss: number | null;
  loss_lm: number | null;
  loss_cl: number | null;
  lr: number | null;
  grad_norm: number | null;
  /** the micro-batch's error when it failed (its losses are then null) */
  failed: string | null;
}

interface ContrastRecord {
  id: string;
  micro?: number;
  step?: number;
  loss?: number | null;
  loss_lm?: number | null;
  loss_cl?: number | null;
  lr?: number | null;
  grad_norm?: number | null;
  failed?: string | null;
}

const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);

/** samples/<contrast stage>.jsonl of every run, one row per micro-batch, in micro order. */
export function trainingRows(runs: ReportRun[]): TrainingRow[] {
  return runs.flatMap((run) => run.stages.filter((s) => stageKind(s) === "contrast").flatMap((stage) =>
    run.samples<ContrastRecord>(stage)
      .filter((r) => typeof r.micro === "number")
      .sort((a, b) => (a.micro as number) - (b.micro as number))
      .map((r) => ({
        run: run.label,
        stage,
        micro: r.micro as number,
        step: num(r.step),
        loss: num(r.loss),
        loss_lm: num(r.loss_lm),
        loss_cl: num(r.loss_cl),
        lr: num(r.lr),
        grad_norm: num(r.grad_norm),
        failed: typeof r.failed === "string" ? r.failed : null,
      }))));
}
