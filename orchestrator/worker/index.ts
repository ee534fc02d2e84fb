export { freePort, Worker, type WorkerOptions } from "./worker.js";
export * from "./errors.js";
export { PROJECT_ROOT, workerPython } from "./python.js";
export type { WorkerLike } from "./worker-like.js";
export { RemoteWorker, WorkerHandshakeError, type RemoteWorkerOptions } from "./remote.js";
export { publicKeyFrom, readCertificate, readSecretCertificate, writeCertificatePair, type Certificate, type CertificatePair } from "./certs.js";
export type { CurveClientKeys } from "./connection.js";
