"""The file `arena-run init` writes: short, valid, and explained by its comments."""

from __future__ import annotations

import os
import re

_TEMPLATE = '''\
#:schema ./arena.schema.json
# An arena-run experiment. Reference: `arena-run schema`, or hover in an editor.
name = "{name}"                 # names every object: the job, {name}-tensorboard, ...
# namespace = "team-a"          # default: --namespace, then the kube context's

# [code]                        # sync the code into the pods before they start
# git = "https://github.com/you/your-repo.git"   # lands at <working_dir>/code/<repo>
# ref = "main"
# secret = "git-creds"          # a Secret with username/password keys

[[data]]                        # a volume every replica mounts
pvc = "training-data"           # or host_path = "/mnt/data"
mount = "/data"

[job]
type = "tf"                     # or "pytorch"
image = "tensorflow/tensorflow:2.16.1-gpu"
command = "python train.py --data /data --logdir /data/logs/{name}"
gpus = 1                        # per worker
workers = 1
# ps = 1                        # parameter servers (tf)
# cpu = "4"
# memory = "16Gi"

[tensorboard]                   # delete this table to go without
logdir = "/data/logs/{name}"

# [serve]                       # serve the trained model
# type = "tf-serving"           # or "kserve"
# model_path = "/data/models/{name}"

# [sweep]                       # one job per point; the command may say {{{{lr}}}}
# lr = [0.001, 0.01]
'''


def starter(name: str) -> str:
    return _TEMPLATE.format(name=name)


def suggest_name(directory: str) -> str:
    """A valid experiment name from a directory's name, e.g. My_Project -> my-project."""
    base = re.sub(r"[^a-z0-9-]+", "-", os.path.basename(directory).lower()).strip("-")
    base = re.sub(r"^[^a-z]+", "", base)[:40].rstrip("-")
    return base or "my-experiment"
