export { freePort, Worker, type WorkerOptions } from "./worker.js";
export * from "./errors.js";
export { PROJECT_ROOT, workerPython } from "./python.js";
export type { WorkerLike } from "./link.js";
export { RemoteWorker, WorkerHandshakeError, type RemoteWorkerOptions } from "./remote.js";
export { publicKeyFrom, readCertificate, readSecretCertificate, writeCertificatePair, type Certificate, type CertificatePair } from "./certs.js";
export type { CurveClientKeys, RequestOptions } from "./connection.js";
