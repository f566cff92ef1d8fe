"""A small regression trained with DistributedDataParallel over the operator's environment (env://)."""

import argparse
import os
import sys
import time

try:
    import torch
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel as DDP
except ImportError:
    sys.exit("this example needs PyTorch: python3 -m pip install torch")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--out", default="ddp-model.pt")
    args = ap.parse_args()
    cuda = torch.cuda.is_available()
    dist.init_process_group("nccl" if cuda else "gloo")  # MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE
    rank, world = dist.get_rank(), dist.get_world_size()
    device = torch.device("cuda", 0) if cuda else torch.device("cpu")
    print(f"rank {rank}/{world} on {torch.cuda.get_device_name(0) if cuda else 'cpu'} "
          f"(CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES')!r})", flush=True)
    torch.manual_seed(0)
    true_w = torch.randn(64, 1)
    model = torch.nn.Sequential(torch.nn.Linear(64, 256), torch.nn.ReLU(), torch.nn.Linear(256, 1)).to(device)
    ddp = DDP(model, device_ids=[0] if cuda else None)
    opt = torch.optim.SGD(ddp.parameters(), lr=0.01)
    gen = torch.Generator().manual_seed(rank)
    start = time.time()
    for step in range(1, args.steps + 1):
        x = torch.randn(args.batch, 64, generator=gen)
        y = x @ true_w + 0.1 * torch.randn(args.batch, 1, generator=gen)
        loss = torch.nn.functional.mse_loss(ddp(x.to(device)), y.to(device))
        opt.zero_grad()
        loss.backward()  # DDP averages the gradients across the replicas here
        opt.step()
        if step % 20 == 0 or step == 1:
            print(f"step {step:4d}  loss {loss.item():.4f}", flush=True)
    if cuda:
        torch.cuda.synchronize()
    took = time.time() - start
    print(f"{args.steps} steps in {took:.2f}s ({args.steps / took:.1f} steps/s, {world} replica(s))", flush=True)
    if rank == 0:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        torch.save(model.state_dict(), args.out)
        print(f"model written to {args.out}", flush=True)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
