// The real worker over real sockets: handshake, tensors, models, errors that leave it serving.
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fromWireTensor, SCHEMA, toWireTensor, type Tensor } from "../../orchestrator/protocol/index.js";
import { Worker, WorkerClosedError, WorkerReplyError } from "../../orchestrator/worker/index.js";
import { alive, caught, tempDir, tinyModel, waitFor } from "./helpers.js";

describe("a real worker over ipc", () => {
  let worker: Worker;
  let modelDir: string;
  const logs: string[] = [];

  beforeAll(async () => {
    modelDir = await tinyModel();
    worker = await Worker.start({ logFile: join(tempDir(), "worker.log"), onLog: (l) => logs.push(l) });
  }, 120_000);
  afterAll(async () => worker?.stop());

  test("the handshake reports versions, device, threads and what the worker serves", () => {
    const hello = worker.hello;
    expect(hello.protocol_version).toBe(SCHEMA.protocol_version);
    expect(hello.num_threads).toBe(1);
    expect(hello.device).toBe("cpu");
    expect(hello.torch_version).toMatch(/^2\./);
    expect(hello.transformers_version).toMatch(/^5\./);
    expect(hello.model_families).toContain("llava");
    expect([...hello.ops].sort()).toEqual(Object.keys(SCHEMA.messages).sort());
    expect(hello.pid).toBe(worker.pid);
  });

  test("float32, float16, bfloat16 and int64 tensors survive a trip through torch bit for bit", async () => {
    const f32 = Float32Array.from([1.5, -0, Number.NaN, Number.NEGATIVE_INFINITY, 1e-45, 3.4028234663852886e38]);
    const f16 = Uint16Array.from([0x3c00, 0x8000, 0x7c00, 0x0001, 0x7bff, 0xc000]); // 1, -0, inf, subnormal, max, -2
    const bf16 = Uint16Array.from([0x3f80, 0xc000, 0x7f80]); // 1, -2, inf
    const i64 = BigInt64Array.from([2n ** 62n + 1n, -(2n ** 63n), 0n, -1n]);
    const reply = await worker.request("echo", {
      tensors: {
        f32: toWireTensor("float32", [2, 3], f32),
        f16: toWireTensor("float16", [6], f16),
        bf16: toWireTensor("bfloat16", [3, 1], bf16),
        i64: toWireTensor("int64", [4], i64),
      },
    });
    const bytesOf = (t: Tensor) => Buffer.from(t.data).toString("hex");
    expect(bytesOf(reply.tensors.f32!)).toBe(Buffer.from(f32.buffer).toString("hex"));
    expect(bytesOf(reply.tensors.f16!)).toBe(Buffer.from(f16.buffer).toString("hex"));
    expect(bytesOf(reply.tensors.bf16!)).toBe(Buffer.from(bf16.buffer).toString("hex"));
    expect(reply.tensors.bf16!.shape).toEqual([3, 1]);
    expect(Array.from(fromWireTensor(reply.tensors.i64! as Tensor & { dtype: "int64" }))).toEqual(Array.from(i64));
    expect(reply.sums.bf16).toBe(Number.POSITIVE_INFINITY); // 1 - 2 + inf: torch read the bits as bfloat16
    expect(reply.sums.f16).toBe(Number.POSITIVE_INFINITY);
    expect(reply.sums.i64).toBe(Number(2n ** 62n + 1n - 2n ** 63n - 1n));
  });

  test("values cross the bridge as typed: big ints, bytes vs strings, null vs missing, NaN", async () => {
    const payload = { big: 2n ** 64n - 1n, safe: 2 ** 53 - 1, raw: new Uint8Array([0, 255]), text: "\u00e9", nil: null, nan: Number.NaN, nested: { a: [{}] } };
    const reply = await worker.request("echo", { payload });
    const back = reply.payload as Record<string, unknown>;
    expect(back.big).toBe(2n ** 64n - 1n);
    expect(back.safe).toBe(2 ** 53 - 1);
    expect(new Uint8Array(back.raw as Uint8Array)).toEqual(new Uint8Array([0, 255]));
    expect(back.text).toBe("\u00e9");
    expect(back.nil).toBeNull();
    expect("missing" in back).toBe(false);
    expect(back.nan).toBeNaN();
    expect(back.nested).toEqual({ a: [{}] });
  });

  test("an unaligned tensor view is copied before it is read", () => {
    const frame = new Uint8Array(13);
    new DataView(frame.buffer).setFloat32(1, 2.5, true);
    const t = { dtype: "float32" as const, shape: [1], data: frame.subarray(1, 5) };
    expect(Array.from(fromWireTensor(t))).toEqual([2.5]);
  });

  test("a bad model path is an error reply naming the path and the log; the next request is served", async () => {
    const { error } = await caught(() => worker.request("load_model", { model_id: "g", model_dir: "/no/such/model" }));
    expect(error).toBeInstanceOf(WorkerReplyError);
    const e = error as WorkerReplyError;
    expect(e.errorName).toBe("FileNotFoundError");
    expect(e.message).toContain("/no/such/model");
    expect(e.message).toContain(worker.logFile);
    expect(e.traceback).toContain("Traceback");
    const again = await worker.request("echo", { payload: "still serving" });
    expect(again.payload).toBe("still serving");
  });

  test("loads and unloads a tiny LLaVA from a local directory", async () => {
    const loaded = await worker.request("load_model", { model_id: "generator", model_dir: modelDir });
    expect(loaded.family).toBe("llava");
    expect(loaded.num_parameters).toBeGreaterThan(1_000_000);
    expect(loaded.vocab_size).toBeGreaterThan(50);
    expect(loaded.dtype).toBe("float32");
    expect((await worker.request("unload_model", { model_id: "generator" })).unloaded).toBe(true);
    expect((await worker.request("unload_model", { model_id: "generator" })).unloaded).toBe(false);
  }, 60_000);

  test("a message type the worker does not know gets an unknown_type error reply", async () => {
    const { error } = await caught(() => worker.request("teleport" as "hello", { client: "x" }));
    expect((error as WorkerReplyError).errorName).toBe("unknown_type");
  });

  test("many requests in flight are matched to their replies by id", async () => {
    const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => worker.request("echo", { payload: i })));
    expect(replies.map((r) => r.payload)).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  test("progress lines reach onProgress in order, before the reply, which still settles the request", async () => {
    const seen: string[] = [];
    let settledFirst = false;
    const reply = await worker.request("echo", { payload: "done", progress_lines: 3 }, 30_000, {
      onProgress: (line) => seen.push(line),
    }).then((r) => {
      settledFirst = seen.length === 3;
      return r;
    });
    expect(seen).toEqual(["echo progress 1/3", "echo progress 2/3", "echo progress 3/3"]);
    expect(settledFirst).toBe(true);
    expect(reply.payload).toBe("done");
  });

  test("progress without a listener is dropped, and a listener that throws is logged; both requests are answered", async () => {
    await expect(worker.request("echo", { payload: 1, progress_lines: 2 })).resolves.toMatchObject({ payload: 1 });
    const reply = await worker.request("echo", { payload: 2, progress_lines: 1 }, 30_000, {
      onProgress: () => {
        throw new Error("listener broke");
      },
    });
    expect(reply.payload).toBe(2);
    expect(logs.some((l) => l.includes("progress listener of echo") && l.includes("listener broke"))).toBe(true);
  });

  test("the worker's stderr goes to the log file", () => {
    expect(readFileSync(worker.logFile, "utf8")).toContain("serving ipc://");
  });
});

describe("worker lifecycle", () => {
  test("stop leaves no process and no ipc directory behind; later requests fail cleanly", async () => {
    const worker = await Worker.start({ onLog: () => {} });
    const pid = worker.pid!;
    const socketDir = dirname(worker.endpoint.slice("ipc://".length));
    expect(existsSync(socketDir)).toBe(true);
    await worker.stop();
    expect(await waitFor(() => !alive(pid), 5_000)).toBe(true);
    expect(existsSync(socketDir)).toBe(false);
    const { error } = await caught(() => worker.request("echo", {}));
    expect(error).toBeInstanceOf(WorkerClosedError);
  }, 60_000);

  test("restart brings up a fresh process that serves requests", async () => {
    const worker = await Worker.start({ transport: "tcp", onLog: () => {} });
    try {
      expect(worker.endpoint).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
      const first = worker.pid!;
      await worker.restart();
      expect(worker.pid).not.toBe(first);
      expect(await waitFor(() => !alive(first), 5_000)).toBe(true);
      expect((await worker.request("echo", { payload: 1 })).payload).toBe(1);
    } finally {
      await worker.stop();
    }
  }, 60_000);
});
