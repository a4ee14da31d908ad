"""Variants of an exported contract model: ORT-optimised (CPU) and fp16 (GPU serving)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnx.numpy_helper
import onnxruntime as ort

from ash.export.latency import measure_latency
from ash.export.validate import check_model
from ash.onnx_io import cpu_session

# Keep the optimised graph only when it is at least this much faster (p50): below that, the
# difference is noise and one file is simpler to serve.
MIN_SPEEDUP = 1.03


def variant_path(path: Path, suffix: str) -> Path:
    """``model.onnx`` -> ``model.<suffix>.onnx``."""
    return path.with_name(f"{path.stem}.{suffix}{path.suffix}")


def _copy_metadata(source: Path, target: Path) -> None:
    """Re-attach the contract metadata (ORT's writer does not always keep metadata_props)."""
    src, dst = onnx.load_model(str(source)), onnx.load_model(str(target))
    del dst.metadata_props[:]
    dst.metadata_props.extend(src.metadata_props)
    onnx.save_model(dst, str(target))


def optimize_offline(path: Path, target: Path) -> Path:
    """Write ORT's extended-level offline optimisation of ``path`` (CPU provider) to ``target``."""
    cpu_session(
        path,
        optimization=ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
        optimized_model_path=target,
    )
    _copy_metadata(path, target)
    check_model(target)
    return target


def write_ort_variant(
    path: Path, *, iters: int = 300
) -> tuple[Path | None, dict[str, dict[str, float]]]:
    """Write ``model.ort.onnx``; keep it only if it is faster at batch 1, 1 thread."""
    target = optimize_offline(path, variant_path(path, "ort"))
    latency = {
        "onnx": measure_latency(path, warmup=30, iters=iters),
        "ort": measure_latency(target, warmup=30, iters=iters),
    }
    if latency["onnx"]["p50_ms"] < MIN_SPEEDUP * latency["ort"]["p50_ms"]:
        target.unlink()
        return None, latency
    return target, latency


# Only matrix products run in fp16. Feature code takes logs of price ratios near 1 (fp16 rounds
# them to 0) and softmax/edges must keep the contract's 1e-4 tolerance, so everything else stays
# fp32; the products are where a GPU gains from fp16 anyway. (onnxruntime's converter with an op
# block list produces duplicate node names on these graphs, hence this small pass.)
FP16_OPS = frozenset({"MatMul", "Gemm"})


def half_matmuls(proto: onnx.ModelProto) -> onnx.ModelProto:
    """A copy of ``proto`` whose MatMul/Gemm nodes compute in fp16 between fp32 casts."""
    out = onnx.ModelProto()
    out.CopyFrom(proto)
    graph = out.graph
    inits = {init.name: init for init in graph.initializer}
    halves: dict[str, str] = {}
    nodes: list[onnx.NodeProto] = []
    for n, node in enumerate(graph.node):
        if node.op_type not in FP16_OPS:
            nodes.append(node)
            continue
        for i, name in enumerate(node.input):
            if not name:
                continue
            init = inits.get(name)
            if init is not None and init.data_type == onnx.TensorProto.FLOAT:
                if name not in halves:
                    array = onnx.numpy_helper.to_array(init).astype(np.float16)
                    halves[name] = f"{name}__fp16"
                    graph.initializer.append(onnx.numpy_helper.from_array(array, halves[name]))
                node.input[i] = halves[name]
            else:
                cast = f"{name}__fp16_for_{n}_{i}"
                nodes.append(
                    onnx.helper.make_node(
                        "Cast", [name], [cast], name=f"{cast}__cast", to=onnx.TensorProto.FLOAT16
                    )
                )
                node.input[i] = cast
        nodes.append(node)
        for o, name in enumerate(node.output):
            half = f"{name}__fp16"
            node.output[o] = half
            nodes.append(
                onnx.helper.make_node(
                    "Cast", [half], [name], name=f"{half}__cast", to=onnx.TensorProto.FLOAT
                )
            )
    del graph.node[:]
    graph.node.extend(nodes)
    used = {name for node in graph.node for name in node.input}
    unused = [init for init in graph.initializer if init.name not in used]
    for init in unused:
        graph.initializer.remove(init)
    return out


def write_fp16_variant(path: Path) -> Path:
    """``model.fp16.onnx``: fp16 matrix products, fp32 everything else and fp32 inputs/outputs."""
    half = half_matmuls(onnx.load_model(str(path)))
    onnx.checker.check_model(half, full_check=True)
    target = variant_path(path, "fp16")
    onnx.save_model(half, str(target))
    check_model(target)
    return target
