// Throughput of generate and score with 1 vs 2 local workers (the load-balancing pool), on the
// smoke world's images and model, plus what the bridge costs per batch.
//
//   npm run bench:pool        # = bash scripts/setup.sh && node bench/pool.mjs
//   node bench/pool.mjs --repeat 4 --rounds 5 --workers 1,2,3
//
// The smoke images are repeated (--repeat) to give more batches; each copy is its own item with
// the same image file. Both pools are started first and the timed passes alternate between them
// (best and median of --rounds), so background load hits both alike. Every pool's replies must
// equal the 1-worker pool's (exit 1 otherwise). Also measured: a plain sequential loop on one
// worker without the pool (the pool's own overhead), the echo round trip at the size of a real
// request and reply, and the request and reply sizes per batch. The last line is JSON.
import { mkdtempSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { resolveConfig } from "../dist/config/index.js";
import { buildBuiltins, builtinDataLocation, builtinModelDir } from "../dist/pipeline/builtins.js";
import { resolveImages } from "../dist/pipeline/inputs.js";
import { chunk, chunkSeed, renderPrompt, seededIndex } from "../dist/pipeline/seeded.js";
import { poolFromConfig, sessionOptions } from "../dist/worker/from-config.js";
import { MODEL_ID, WorkerSession } from "../dist/worker/session.js";
import { decodeFrame, encodeMessage, PROTOCOL_VERSION } from "../dist/protocol/index.js";

const { values: args } = parseArgs({
  options: {
    repeat: { type: "string", default: "4" }, // copies of the 12 smoke images
    rounds: { type: "string", default: "5" },
    workers: { type: "string", default: "1,2" },
    "gen-batch": { type: "string", default: "8" },
    "score-batch": { type: "string", default: "8" },
  },
});
const repeat = Number(args.repeat);
const rounds = Number(args.rounds);
const sizes = args.workers.split(",").map(Number);
const CONFIG = new URL("../configs/smoke.yaml", import.meta.url).pathname;
const log = (line) => process.stderr.write(`[bench] ${line}\n`);

function configFor(workers) {
  const r = resolveConfig(CONFIG, [`workers.local=${workers}`, `generation.batch_size=${args["gen-batch"]}`, `scoring.batch_size=${args["score-batch"]}`]);
  if (!r.config) throw new Error(r.problems.join("\n"));
  return r.config;
}

const base = configFor(1);
const builder = new WorkerSession(sessionOptions(base, join(tmpdir(), `c3l-bench-build-${process.pid}.log`), () => {}));
await builder.start();
await buildBuiltins({ smoke: true, world: false }, base.world, builder); // found at once when built
await builder.stop();
const data = builtinDataLocation("smoke");
const modelDir = builtinModelDir("smoke-llava");
const { images: smoke } = await resolveImages({ ...data, images: null, limit: null });
const images = Array.from({ length: repeat }, (_, r) => smoke.map((im) => ({ ...im, id: `${im.id}~${r}` }))).flat();

function generateTasks(config) {
  const g = config.generation;
  return chunk(images, g.batch_size).map((batch, index) => ({
    what: `generate chunk ${index}`, type: "generate", items: batch.length,
    content: {
      model_id: MODEL_ID, batch_size: batch.length, max_new_tokens: g.max_new_tokens, do_sample: g.do_sample,
      temperature: g.temperature, top_p: g.top_p, stop: g.stop, seed: chunkSeed(config.seed, "bench", index),
      items: batch.map((im) => ({ id: im.id, image_path: im.path, prompt: renderPrompt(g.prompts[seededIndex(config.seed, im.id, g.prompts.length)], g.k) })),
    },
  }));
}

/** Score items from generated pairs, whole images per chunk (as the score stage cuts them). */
function scoreTasks(config, generated) {
  const byId = new Map(images.map((im) => [im.id, im]));
  const items = [...generated.values()].sort((a, b) => (a.id < b.id ? -1 : 1))
    .flatMap((g) => g.qa_pairs.map((p, i) => ({ id: `${g.id}#${i}`, image_path: byId.get(g.id).path, question: p.question, answer: p.answer })));
  const chunks = [];
  let cur = [];
  for (const item of items) {
    if (cur.length >= config.scoring.batch_size && cur[cur.length - 1].image_path !== item.image_path) {
      chunks.push(cur);
      cur = [];
    }
    cur.push(item);
  }
  if (cur.length) chunks.push(cur);
  const s = config.scoring;
  return chunks.map((c, index) => ({
    what: `score chunk ${index}`, type: "score", items: c.length,
    content: { model_id: MODEL_ID, items: c, estimator: s.estimator, withhold: s.withhold, span: s.span, batch_size: c.length },
  }));
}

/** One timed pass: every task through the pool; results by id, per-worker counts, seconds. */
async function pass(pool, tasks) {
  const results = new Map();
  const t0 = performance.now();
  const counts = await pool.run(tasks, {
    done: (_task, reply) => { for (const r of reply.results) results.set(r.id, r); },
    failed: (task, err) => { throw new Error(`${task.what}: ${err.message}`); },
  });
  return { seconds: (performance.now() - t0) / 1000, results, counts };
}

const stat = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return { best: s[0], median: s[Math.floor(s.length / 2)] };
};

const work = mkdtempSync(join(tmpdir(), "c3l-bench-pool-"));
const pools = new Map();
for (const n of sizes) {
  const config = configFor(n);
  const pool = poolFromConfig({ config, workerLog: join(work, `w${n}`, "worker.log"), log: () => {} });
  const t0 = performance.now();
  await pool.start();
  await pool.useModel(modelDir);
  log(`${n} worker(s) started and loaded the model in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  pools.set(n, { pool, config });
}

const report = { machine: { cpus: cpus().length, cpu: cpus()[0]?.model, loadavg_before: loadavg().map((x) => +x.toFixed(2)) }, items: { images: images.length }, workers: {} };
try {
  const genTasks = generateTasks(base);
  // Warm-up (first batches are slower) and the score items, from the 1-worker pool.
  const first = await pass(pools.get(sizes[0]).pool, genTasks);
  const scTasks = scoreTasks(base, first.results);
  report.items.pairs = scTasks.reduce((n, t) => n + t.items, 0);
  report.items.generate_batches = genTasks.length;
  report.items.score_batches = scTasks.length;
  for (const { pool } of pools.values()) await pass(pool, scTasks.slice(0, 2));

  const lead = pools.get(sizes[0]).pool.lead;
  const loop = [];
  const reference = { generate: null, score: null };
  const times = new Map(sizes.map((n) => [n, { generate: [], score: [], perWorker: { generate: {}, score: {} } }]));
  for (let round = 0; round < rounds; round++) {
    for (const [kind, tasks] of [["generate", genTasks], ["score", scTasks]]) {
      for (const n of sizes) {
        const r = await pass(pools.get(n).pool, tasks);
        const canon = JSON.stringify([...r.results.entries()].sort());
        if (reference[kind] === null) reference[kind] = canon;
        else if (canon !== reference[kind]) {
          log(`FAIL: ${kind} results with ${n} worker(s) differ from the first pool's`);
          process.exitCode = 1;
        }
        times.get(n)[kind].push(r.seconds);
        for (const [id, c] of Object.entries(r.counts)) (times.get(n).perWorker[kind][id] ??= []).push(c.items / r.seconds);
        log(`round ${round + 1} ${kind} ${n} worker(s): ${r.seconds.toFixed(2)} s (${Object.entries(r.counts).map(([id, c]) => `${id} ${c.items}`).join(", ")})`);
      }
    }
    // The pool's own overhead: the same score batches in a plain loop on one worker, no pool.
    const t0 = performance.now();
    for (const task of scTasks) await lead.request("score", task.content);
    loop.push((performance.now() - t0) / 1000);
  }
  for (const n of sizes) {
    const t = times.get(n);
    const row = {};
    for (const kind of ["generate", "score"]) {
      const items = kind === "generate" ? images.length : report.items.pairs;
      const s = stat(t[kind]);
      row[kind] = {
        seconds_best: +s.best.toFixed(3), seconds_median: +s.median.toFixed(3),
        items_per_s_best: +(items / s.best).toFixed(1), items_per_s_median: +(items / s.median).toFixed(1),
        per_worker_items_per_s_median: Object.fromEntries(Object.entries(t.perWorker[kind]).map(([id, xs]) => [id, +stat(xs).median.toFixed(1)])),
      };
    }
    report.workers[n] = row;
  }

  report.sequential_loop_score_seconds = { best: +stat(loop).best.toFixed(3), median: +stat(loop).median.toFixed(3) };

  // The bridge: request and reply sizes per batch, and the echo round trip at those sizes.
  const frame = (type, content) => encodeMessage({ header: { msg_id: "o1-1", type, version: PROTOCOL_VERSION }, content }).length;
  const genReply = { results: [...first.results.values()].slice(0, genTasks[0].items) };
  const scReply = (await lead.request("score", scTasks[0].content));
  report.bytes_per_batch = {
    generate_request: frame("generate", genTasks[0].content), generate_reply: frame("generate", genReply),
    score_request: frame("score", scTasks[0].content), score_reply: frame("score", scReply),
  };
  // The orchestrator's own CPU per batch for the codec: encode a request, decode a reply.
  const replyFrame = encodeMessage({ header: { msg_id: "w1", type: "score", version: PROTOCOL_VERSION, reply_to: "o1-1", status: "ok" }, content: scReply });
  const codec = (n = 2000) => {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      encodeMessage({ header: { msg_id: `o1-${i}`, type: "score", version: PROTOCOL_VERSION }, content: scTasks[0].content });
      decodeFrame(Buffer.from(replyFrame), "reply");
    }
    return +(((performance.now() - t0) / n) * 1000).toFixed(1);
  };
  codec(200);
  report.codec_us_per_score_batch = codec();
  const rtt = async (payload) => {
    const n = 300;
    for (let i = 0; i < 20; i++) await lead.request("echo", { payload });
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await lead.request("echo", { payload });
    return +(((performance.now() - t0) / n) * 1000).toFixed(1);
  };
  report.echo_round_trip_us = {
    empty: await rtt(null),
    score_request_size: await rtt("x".repeat(report.bytes_per_batch.score_request)),
    generate_reply_size: await rtt("x".repeat(report.bytes_per_batch.generate_reply)),
  };
  report.machine.loadavg_after = loadavg().map((x) => +x.toFixed(2));
} finally {
  for (const { pool } of pools.values()) await pool.stop();
}

const w = report.workers;
for (const n of sizes) {
  log(`${n} worker(s): generate ${w[n].generate.items_per_s_median} images/s, score ${w[n].score.items_per_s_median} pairs/s (medians; per worker: ${JSON.stringify(w[n].score.per_worker_items_per_s_median)})`);
}
log(`score, 1 worker: pool ${w[sizes[0]].score.seconds_best}/${w[sizes[0]].score.seconds_median} s vs plain loop ${report.sequential_loop_score_seconds.best}/${report.sequential_loop_score_seconds.median} s (best/median); codec ${report.codec_us_per_score_batch} µs per batch; echo round trip ${JSON.stringify(report.echo_round_trip_us)} µs; bytes per batch ${JSON.stringify(report.bytes_per_batch)}`);
process.stdout.write(`${JSON.stringify(report)}\n`);
