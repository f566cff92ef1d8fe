"""Data-parallel logistic regression with the standard library only.

Every replica generates the same data set (seeded), keeps its own shard
(every WORLD_SIZE-th example from RANK), computes the gradient of the log
loss on it, and the replicas average their gradients each step: rank 0
listens on MASTER_ADDR:MASTER_PORT, the others connect to it.  So the model
is the one plain gradient descent on all the data would give, whatever the
number of replicas.  Rank 0 writes it to --out.
"""

import argparse
import json
import math
import os
import random
import socket
import time

FEATURES = 4
EXAMPLES = 2000


def make_data(seed=7):
    rng = random.Random(seed)
    true_w = [rng.uniform(-2, 2) for _ in range(FEATURES)]
    data = []
    for _ in range(EXAMPLES):
        x = [rng.gauss(0, 1) for _ in range(FEATURES)]
        p = 1 / (1 + math.exp(-(sum(w * v for w, v in zip(true_w, x)) + 0.5)))
        data.append((x, 1 if rng.random() < p else 0))
    return data


def grad_and_loss(w, b, shard):
    gw, gb, loss = [0.0] * FEATURES, 0.0, 0.0
    for x, y in shard:
        z = sum(wi * xi for wi, xi in zip(w, x)) + b
        p = 1 / (1 + math.exp(-z))
        loss -= math.log(max(p, 1e-12)) if y else math.log(max(1 - p, 1e-12))
        for i in range(FEATURES):
            gw[i] += (p - y) * x[i]
        gb += p - y
    return gw + [gb, loss, float(len(shard))]


class Peers:
    """Sum vectors across replicas through rank 0 (a two-step all-reduce)."""

    def __init__(self, rank, world, addr, port):
        self.rank, self.world = rank, world
        if world == 1:
            return
        if rank == 0:
            server = socket.create_server((addr, port))
            self.conns = [server.accept()[0].makefile("rw") for _ in range(world - 1)]
        else:
            deadline = time.time() + 60
            while True:
                try:
                    self.conn = socket.create_connection((addr, port)).makefile("rw")
                    break
                except OSError:
                    if time.time() > deadline:
                        raise
                    time.sleep(0.1)  # the master is not listening yet

    def all_sum(self, vec):
        if self.world == 1:
            return vec
        if self.rank == 0:
            total = list(vec)
            for c in self.conns:
                for i, v in enumerate(json.loads(c.readline())):
                    total[i] += v
            for c in self.conns:
                c.write(json.dumps(total) + "\n")
                c.flush()
            return total
        self.conn.write(json.dumps(vec) + "\n")
        self.conn.flush()
        return json.loads(self.conn.readline())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--lr", type=float, default=0.5)
    ap.add_argument("--out", default="model.json")
    args = ap.parse_args()
    rank, world = int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))
    addr, port = os.environ.get("MASTER_ADDR", "127.0.0.1"), int(os.environ.get("MASTER_PORT", 29500))
    shard = make_data()[rank::world]
    print(f"rank {rank}/{world}: {len(shard)} examples, master {addr}:{port}", flush=True)
    peers = Peers(rank, world, addr, port)
    w, b = [0.0] * FEATURES, 0.0
    for step in range(1, args.steps + 1):
        total = peers.all_sum(grad_and_loss(w, b, shard))
        n = total[-1]
        w = [wi - args.lr * g / n for wi, g in zip(w, total[:FEATURES])]
        b -= args.lr * total[FEATURES] / n
        print(f"step {step:3d}  loss {total[FEATURES + 1] / n:.4f}", flush=True)
    if rank == 0:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as fh:
            json.dump({"weights": w, "bias": b, "loss": total[FEATURES + 1] / n, "replicas": world}, fh)
        print(f"model written to {args.out}", flush=True)


if __name__ == "__main__":
    main()
