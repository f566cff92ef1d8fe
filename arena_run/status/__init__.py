"""Reading state: experiments (`status`), GPUs (`top`), logs, pruning, data.

Each module returns data and never prints.  Nothing is imported here, so a
command that needs only `top` does not load the models and the planner.
"""
