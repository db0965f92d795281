"""PyTorch baselines for the GPU benchmarks, timed with CUDA events.

Prints one JSON object: copy bandwidth, element-wise add and division, fp32 matmul (TF32 off),
fused AdamW step times, the same with a skip on non-finite gradients (found_inf), and the
small-model step. Run on the GPU machine:
    python3 bench/gpu/torch_baseline.py > torch.json
"""
import json
import sys

import torch

DEV = "cuda"


def best_ms(fn, reps=20, warmup=3):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    best = float("inf")
    for _ in range(reps):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        best = min(best, start.elapsed_time(end))
    return best


def copy_bandwidth(n):
    src = torch.rand(n, device=DEV)
    dst = torch.empty_like(src)
    ms = best_ms(lambda: dst.copy_(src))
    return {"n": n, "ms": ms, "GBps": 8 * n / ms / 1e6}


def add(n):
    a, b = torch.rand(n, device=DEV), torch.rand(n, device=DEV)
    out = torch.empty_like(a)
    ms = best_ms(lambda: torch.add(a, b, out=out))
    return {"n": n, "ms": ms, "GBps": 12 * n / ms / 1e6}


def div(n):
    a, b = torch.rand(n, device=DEV) + 0.5, torch.rand(n, device=DEV) + 0.5
    out = torch.empty_like(a)
    ms = best_ms(lambda: torch.div(a, b, out=out))
    return {"n": n, "ms": ms, "GBps": 12 * n / ms / 1e6}


def matmul(n):
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    a, b = torch.randn(n, n, device=DEV), torch.randn(n, n, device=DEV)
    ms = best_ms(lambda: torch.matmul(a, b), reps=10)
    return {"n": n, "ms": ms, "TFLOPs": 2 * n ** 3 / ms / 1e9}


def adamw_step(total, tensors):
    sizes = [total // tensors] * tensors
    sizes[-1] += total - sum(sizes)
    params = [torch.nn.Parameter(torch.randn(s, device=DEV)) for s in sizes]
    for p in params:
        p.grad = torch.randn_like(p)
    opt = torch.optim.AdamW(params, lr=1e-3, fused=True)

    def twenty_steps():
        for _ in range(20):
            opt.step()

    # As grilly's bench times it: runs of 20 steps between two events, best of 3.
    ms = best_ms(twenty_steps, reps=3) / 20
    return {"params": total, "tensors": tensors, "ms": ms, "GBps_at_28B": 28 * total / ms / 1e6}


def adamw_found_inf_step(total, tensors):
    """Fused AdamW with the semantics of grilly's default nonfinite = "skip": a
    step with a NaN or Inf gradient changes nothing. This is torch's own way to
    get it, GradScaler's: check the gradients into found_inf (unscaling them by
    1) and hand found_inf to the fused step. Checked to skip before it is timed."""
    sizes = [total // tensors] * tensors
    sizes[-1] += total - sum(sizes)
    params = [torch.nn.Parameter(torch.randn(s, device=DEV)) for s in sizes]
    for p in params:
        p.grad = torch.randn_like(p)
    grads = [p.grad for p in params]
    opt = torch.optim.AdamW(params, lr=1e-3, fused=True)
    found_inf = torch.zeros((), device=DEV)  # 0-d, as GradScaler makes them
    inv_scale = torch.ones((), device=DEV)
    opt.found_inf = found_inf  # what GradScaler.step sets; the fused step reads it

    def step():
        found_inf.zero_()
        torch._amp_foreach_non_finite_check_and_unscale_(grads, found_inf, inv_scale)
        opt.step()

    step()
    before, kept = params[0].detach().clone(), grads[0][0].item()
    grads[0][0] = float("inf")
    step()
    if not torch.equal(before, params[0].detach()):
        return {"params": total, "tensors": tensors, "error": "found_inf did not skip the step"}
    grads[0][0] = kept

    def twenty_steps():
        for _ in range(20):
            step()

    ms = best_ms(twenty_steps, reps=3) / 20
    return {"params": total, "tensors": tensors, "ms": ms}


def small_model(steps=1000):
    """50 tensors of 1e3..1e5 elements; mean time per step over `steps` steps."""
    gen = torch.Generator().manual_seed(0)
    sizes = [int(1000 * (100 ** (i / 49))) for i in range(50)]
    params = [torch.nn.Parameter(torch.randn(s, device=DEV)) for s in sizes]
    for p in params:
        p.grad = torch.randn_like(p)
    opt = torch.optim.AdamW(params, lr=1e-3, fused=True)
    for _ in range(10):
        opt.step()
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(steps):
        opt.step()
    end.record()
    end.synchronize()
    return {"tensors": 50, "params": sum(sizes), "steps": steps,
            "us_per_step": start.elapsed_time(end) * 1e3 / steps}


def main():
    out = {"device": torch.cuda.get_device_name(0), "torch": torch.__version__}
    out["copy"] = [copy_bandwidth(n) for n in (10**6, 10**7, 10**8)]
    out["add"] = add(10**8)
    out["div"] = div(10**8)
    out["matmul"] = matmul(4096)
    out["adamw"] = [adamw_step(n, t) for n in (10**6, 10**7, 10**8) for t in (1, 200)]
    out["adamw_found_inf"] = [adamw_found_inf_step(n, t) for n in (10**6, 10**7, 10**8) for t in (1, 200)]
    out["small_model"] = small_model()
    json.dump(out, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
