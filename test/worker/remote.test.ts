// Remote workers as a user runs them: `c3l keys`, `c3l worker --bind …` (the built CLI, a real Python worker), and
// RemoteWorker over a real CURVE connection on loopback; wrong keys must fail fast and clearly, and be logged.
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { execa, type ResultPromise } from "execa";
import { copyFileSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import {
  freePort,
  PROJECT_ROOT, RemoteWorker, WorkerClosedError, WorkerHandshakeError, WorkerReplyError, readSecretCertificate, workerPython,
  type Worker, type WorkerLike,
} from "../../orchestrator/worker/index.js";
import { caught, tempDir, waitFor } from "./helpers.js";

const CLI = join(PROJECT_ROOT, "bin", "c3l.js");
const c3l = (args: string[]) => execa("node", [CLI, ...args], { reject: false });
const START_TIMEOUT_MS = 4_000; // for clients expected to be refused: the worker is already up, so this is generous

// Both kinds of worker fit the pool's interface (checked by tsc --noEmit).
const _interfaces: [WorkerLike, WorkerLike] = [null as unknown as Worker, null as unknown as RemoteWorker];
void _interfaces;

interface Keys { public: string; secret: string; public_key: string }

async function makeKeys(out: string, name: string): Promise<Keys> {
  const r = await c3l(["keys", "--out", out, "--name", name]);
  expect(r.stderr).toBe("");
  expect(r.exitCode).toBe(0);
  return JSON.parse(r.stdout) as Keys;
}

describe("c3l keys", () => {
  test("writes ZeroMQ certificates that pyzmq reads, the secret one 0600, and refuses to overwrite them without --force", async () => {
    const dir = tempDir();
    const keys = await makeKeys(dir, "box");
    expect(keys.public).toBe(join(dir, "box.key"));
    expect(keys.secret).toBe(join(dir, "box.key_secret"));
    expect(statSync(keys.secret).mode & 0o777).toBe(0o600);
    expect(readFileSync(keys.public, "utf8")).not.toContain("secret-key");
    // pyzmq's own reader (the worker's ZAP handler uses it) gets the same keys back.
    const script = "import sys, zmq.auth as a; p, s = a.load_certificate(sys.argv[1]); q, n = a.load_certificate(sys.argv[2]); print(p.decode(), s.decode(), q.decode(), n)";
    const py = await execa(workerPython(), ["-c", script, keys.secret, keys.public]);
    const [pub, secret, pubAgain, none] = py.stdout.trim().split(" ");
    expect([pub, pubAgain, none]).toEqual([keys.public_key, keys.public_key, "None"]);
    expect(secret).toBe(readSecretCertificate(keys.secret).secretKey);

    const again = await c3l(["keys", "--out", dir, "--name", "box"]);
    expect(again.exitCode).toBe(2);
    expect(again.stderr).toContain(`${keys.public} and ${keys.secret} already exist: pass --force`);
    expect(readSecretCertificate(keys.secret).publicKey).toBe(keys.public_key); // untouched

    const forced = await c3l(["keys", "--out", dir, "--name", "box", "--force"]);
    expect(forced.exitCode).toBe(0);
    const replaced = JSON.parse(forced.stdout) as Keys;
    expect(replaced.public_key).not.toBe(keys.public_key);
    expect(readSecretCertificate(keys.secret).publicKey).toBe(replaced.public_key);
    expect(statSync(keys.secret).mode & 0o777).toBe(0o600);
  });
});

describe("c3l worker with RemoteWorker over CURVE", () => {
  const dir = tempDir();
  const root = join(dir, "root");
  const authorized = join(dir, "authorized");
  let keys: Record<"worker" | "alice" | "mallory", Keys>;
  let endpoint: string;
  let proc: ResultPromise;
  let log = "";

  beforeAll(async () => {
    keys = { worker: await makeKeys(join(dir, "worker"), "worker"), alice: await makeKeys(join(dir, "alice"), "alice"), mallory: await makeKeys(join(dir, "mallory"), "mallory") };
    mkdirSync(root);
    mkdirSync(authorized);
    copyFileSync(keys.alice.public, join(authorized, "alice.key"));
    endpoint = `tcp://127.0.0.1:${await freePort()}`;
    proc = execa("node", [CLI, "worker", "--bind", endpoint, "--key", keys.worker.secret, "--authorized-keys", authorized, "--roots", root],
      { reject: false, buffer: false, stdin: "ignore" });
    proc.stderr?.on("data", (chunk: Buffer) => { log += chunk.toString("utf8"); });
    expect(await waitFor(() => log.includes(`serving ${endpoint}`), 30_000)).toBe(true);
  }, 60_000);

  afterAll(async () => {
    proc.kill("SIGKILL");
    await proc;
  });

  test("an authorized client gets hello and an echo", async () => {
    const worker = await RemoteWorker.connect({ endpoint, serverPublicKey: keys.worker.public, clientKeyFile: keys.alice.secret, onLog: () => undefined });
    try {
      expect(worker.endpoint).toBe(endpoint);
      expect(worker.logFile).toBeNull();
      expect(worker.hello.ops).toContain("echo");
      expect(worker.hello.pid).toBeGreaterThan(0);
      const reply = await worker.request("echo", { payload: { sample: "s1", n: 3 } });
      expect(reply.payload).toEqual({ sample: "s1", n: 3 });
    } finally {
      await worker.stop();
    }
    expect(log).toContain(`admitted client key ${keys.alice.public_key}`);
  });

  test("stop() only disconnects: the shared worker keeps serving the next client", async () => {
    const first = await RemoteWorker.connect({ endpoint, serverPublicKey: keys.worker.public_key, clientKeyFile: keys.alice.secret, onLog: () => undefined });
    const pid = first.hello.pid;
    await first.stop();
    await expect(first.request("echo", {})).rejects.toBeInstanceOf(WorkerClosedError);
    const second = await RemoteWorker.connect({ endpoint, serverPublicKey: keys.worker.public_key, clientKeyFile: keys.alice.secret, onLog: () => undefined });
    try {
      expect(second.hello.pid).toBe(pid);
      // Even an explicit shutdown is refused by a worker that others may share.
      const { error } = await caught(() => second.request("shutdown", {}));
      expect(error).toBeInstanceOf(WorkerReplyError);
      expect((error as WorkerReplyError).errorName).toBe("RequestRefused");
      expect((await second.request("echo", { payload: 1 })).payload).toBe(1);
    } finally {
      await second.stop();
    }
  });

  test("a path outside the worker's roots is refused naming the path and the roots; the worker keeps serving", async () => {
    const worker = await RemoteWorker.connect({ endpoint, serverPublicKey: keys.worker.public, clientKeyFile: keys.alice.secret, onLog: () => undefined });
    try {
      const { error } = await caught(() => worker.request("load_model", { model_id: "m", model_dir: "/etc" }));
      expect(error).toBeInstanceOf(WorkerReplyError);
      expect((error as WorkerReplyError).errorName).toBe("RequestRefused");
      expect(error.message).toContain("content.model_dir '/etc' is outside this worker's roots");
      expect(error.message).toContain(root);
      expect((await worker.request("echo", { payload: "still here" })).payload).toBe("still here");
    } finally {
      await worker.stop();
    }
  });

  test("an unknown client key fails within the start timeout, naming the endpoint and the keys; the worker logs the refusal", async () => {
    const { error, ms } = await caught(() => RemoteWorker.connect({
      endpoint, serverPublicKey: keys.worker.public, clientKeyFile: keys.mallory.secret, startTimeoutMs: START_TIMEOUT_MS, onLog: () => undefined,
    }));
    expect(error).toBeInstanceOf(WorkerHandshakeError);
    expect(ms).toBeLessThan(START_TIMEOUT_MS + 2_000);
    // Usually the ZAP refusal arrives at once; on a loaded machine libzmq sometimes reports only a
    // broken-off handshake, and the start deadline speaks instead. Both name the endpoint and keys.
    expect(error.message).toMatch(new RegExp(`(the handshake with|hello to) the worker at ${endpoint.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} got no reply`));
    expect(error.message).toContain("CURVE keys");
    expect(error.message).toContain(keys.mallory.public_key);
    expect(await waitFor(() => log.includes(`its CURVE public key ${keys.mallory.public_key} is not among`), 5_000)).toBe(true);
    expect(log).toMatch(/WARNING c3l_worker.security: refused a client/);
  });

  test("a wrong server key fails at the start timeout with the same advice; the worker logs an undecryptable handshake", async () => {
    const { error, ms } = await caught(() => RemoteWorker.connect({
      endpoint, serverPublicKey: keys.alice.public_key, clientKeyFile: keys.alice.secret, startTimeoutMs: 1_500, onLog: () => undefined,
    }));
    expect(error).toBeInstanceOf(WorkerHandshakeError);
    expect(ms).toBeGreaterThanOrEqual(1_400); // the worker just hangs up, which could be the network: wait for the deadline
    expect(ms).toBeLessThan(1_500 + 1_000);
    expect(error.message).toContain(`hello to the worker at ${endpoint} got no reply within 1500 ms`);
    expect(error.message).toContain("the CURVE keys may be wrong");
    expect(error.message).toContain(`the server key (Z85 ${keys.alice.public_key})`);
    expect(await waitFor(() => log.includes("could not be decrypted"), 5_000)).toBe(true);
  });

  test("a client without keys fails fast on loopback too: the worker only speaks CURVE", async () => {
    const { error, ms } = await caught(() => RemoteWorker.connect({ endpoint, startTimeoutMs: START_TIMEOUT_MS, onLog: () => undefined }));
    expect(error).toBeInstanceOf(WorkerHandshakeError);
    expect(ms).toBeLessThan(START_TIMEOUT_MS + 1_000);
    expect(error.message).toContain(`worker at ${endpoint}`);
    expect(error.message).toContain("no reply");
    expect(error.message).toContain("serverPublicKey and clientKeyFile");
    // Which side sees the mechanism mismatch first is a race: on a loaded machine the client hangs up
    // first and the worker logs a broken-off handshake instead. Either is a logged refusal.
    expect(await waitFor(() => log.includes("the client did not use CURVE") || log.includes("the handshake broke off"), 5_000)).toBe(true);
  });

  test("a client without keys is told a remote address needs them, before anything is sent", async () => {
    const { error } = await caught(() => RemoteWorker.connect({ endpoint: "tcp://gpu-box.invalid:5555" }));
    expect(error.name).toBe("CertificateError");
    expect(error.message).toContain("serverPublicKey");
  });

  test("SIGTERM stops `c3l worker` cleanly with exit 0", async () => {
    proc.kill("SIGTERM");
    const result = await proc;
    expect(result.exitCode).toBe(0);
    expect(log).toContain(`closed ${endpoint}`);
  });
});

describe("c3l worker refuses unsafe or wrong flags at once", () => {
  test("binding every interface without keys exits 2 and says what is missing", async () => {
    const r = await c3l(["worker", "--bind", "tcp://0.0.0.0:5555", "--roots", tempDir()]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("refusing to bind tcp://0.0.0.0:5555 without CurveZMQ keys");
  });

  test("a --device that is not cpu, cuda or cuda:N is a usage error", async () => {
    const r = await c3l(["worker", "--bind", "tcp://127.0.0.1:5555", "--device", "gpu0"]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("--device gpu0: expected cpu, cuda or cuda:N");
  });
});
