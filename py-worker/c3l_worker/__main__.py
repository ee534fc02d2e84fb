"""python -m c3l_worker --endpoint ENDPOINT [--threads N] [--parent-pid PID] [--curve-secret-key FILE --authorized-keys DIR --roots DIR]"""
import argparse
import logging
import os
import signal
import sys
import threading
import time


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="c3l_worker", description="c3l's PyTorch worker: serves model operations over ZeroMQ.")
    parser.add_argument("--endpoint", required=True, help="ipc://PATH (in a 0700 directory) or tcp://127.0.0.1:PORT")
    parser.add_argument("--threads", type=int, default=int(os.environ.get("C3L_TORCH_THREADS", "1")),
                        help="torch intra-op threads (default 1: two threads on 2 cores measured 10-50x slower)")
    parser.add_argument("--parent-pid", type=int, default=None, help="exit when this process is gone (the orchestrator)")
    parser.add_argument("--max-frame-bytes", type=int, default=None)
    parser.add_argument("--log-level", default="INFO")
    # A worker others connect to (docs/REMOTE.md): binding beyond loopback needs all three.
    parser.add_argument("--curve-secret-key", default=None, metavar="FILE",
                        help="this worker's secret certificate (NAME.key_secret from `c3l keys`): serve CURVE-encrypted")
    parser.add_argument("--authorized-keys", default=None, metavar="DIR",
                        help="folder of the clients' public certificates (*.key); only those clients are admitted")
    parser.add_argument("--roots", action="append", default=None, metavar="DIR[,DIR...]",
                        help="request paths (models, images, checkpoints, exports) must resolve inside one of these (repeatable)")
    return parser.parse_args(argv)


def watch_parent(parent_pid: int, endpoint: str) -> None:
    """An orphaned worker would hold memory (and a GPU) forever: leave when the orchestrator is gone."""
    from .distributed import parent_gone  # under torchrun our parent is the launcher, not the orchestrator

    gone = parent_gone(parent_pid)

    def loop():
        while True:
            if gone():
                logging.getLogger("c3l_worker").error("orchestrator (pid %d) is gone; exiting", parent_pid)
                if endpoint.startswith("ipc://"):  # the orchestrator cannot clean up after itself any more
                    socket_file = endpoint[len("ipc://"):]
                    for remove in (lambda: os.unlink(socket_file), lambda: os.rmdir(os.path.dirname(socket_file))):
                        try:
                            remove()
                        except OSError:
                            pass
                os._exit(3)
            time.sleep(1.0)
    threading.Thread(target=loop, name="parent-watch", daemon=True).start()


def security_from_args(args: argparse.Namespace):
    """(CURVE keys or None, path guard or None) from the flags; raises naming the flag that is wrong."""
    from .security import PathGuard, SecurityConfigError, check_endpoint, load_curve_keys

    if (args.curve_secret_key is None) != (args.authorized_keys is None):
        raise SecurityConfigError("--key (python -m c3l_worker: --curve-secret-key) and --authorized-keys go together: "
                                  "the worker's secret key and the clients it admits")
    keys = load_curve_keys(args.curve_secret_key, args.authorized_keys) if args.curve_secret_key else None
    roots = [r for group in args.roots or [] for r in group.split(",") if r]
    guard = PathGuard(roots) if args.roots is not None else None
    check_endpoint(args.endpoint, curve=keys is not None, roots=guard is not None)
    return keys, guard


def main(argv=None) -> int:
    args = parse_args(argv)
    try:  # before torch loads: a wrong flag fails in a fraction of a second
        curve_keys, guard = security_from_args(args)
    except (ValueError, PermissionError, OSError) as exc:
        print(f"c3l_worker: error: {exc}", file=sys.stderr)
        return 2
    # Thread env must be set before torch is imported.
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, str(args.threads))
    logging.basicConfig(level=args.log_level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.parent_pid:
        watch_parent(args.parent_pid, args.endpoint)

    import torch

    torch.set_num_threads(args.threads)
    from .protocol import SCHEMA
    from .server import Server
    from .state import WorkerState

    def stop(signum, frame):
        for other in (signal.SIGTERM, signal.SIGINT):  # Ctrl-C plus a forwarded SIGTERM must not cut the clean-up short
            signal.signal(other, signal.SIG_IGN)
        raise SystemExit(128 + signum)
    for signum in (signal.SIGTERM, signal.SIGINT):  # before binding, so a stop always runs the socket clean-up
        signal.signal(signum, stop)

    state = WorkerState(num_threads=args.threads, max_frame_bytes=args.max_frame_bytes or SCHEMA["max_frame_bytes"])
    from . import distributed
    if distributed.under_torchrun():  # one process per rank; rank 0 serves (docs/DISTRIBUTED.md)
        return distributed.serve(state, lambda handlers: Server(args.endpoint, state, handlers, curve_keys=curve_keys, guard=guard))
    Server(args.endpoint, state, curve_keys=curve_keys, guard=guard).serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
