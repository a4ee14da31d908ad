//! The Python reference of the bench: `onnxruntime.InferenceSession.run` on the same model,
//! window and session options, in a child process that times one chunk of calls per request.

use std::path::{Path, PathBuf};

// Same session options as `runtime::create_session` (1 intra-op and 1 inter-op thread,
// sequential, full optimisation) and the same input window. One line "N" on stdin = N timed
// runs; it answers with N wall times, "|", and N thread CPU times (µs) on one line.
const PYTHON_REFERENCE: &str = r#"
import sys, time, numpy as np, onnxruntime as ort
path, window = sys.argv[1], sys.argv[2]
o = ort.SessionOptions(); o.intra_op_num_threads = 1; o.inter_op_num_threads = 1
o.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL; o.log_severity_level = 3
o.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
s = ort.InferenceSession(path, sess_options=o, providers=["CPUExecutionProvider"])
x = np.load(window)
for _ in range(3): s.run(["probs", "edges"], {"bars": x})
print("ready", flush=True)
feed = {"bars": x}
for line in sys.stdin:
    s.run(None, feed)  # untimed: wakes this process and warms its caches (see CHUNK)
    wall, cpu = [], []
    for _ in range(int(line)):
        a, c = time.perf_counter(), time.thread_time()
        s.run(None, feed)
        cpu.append((time.thread_time() - c) * 1e6); wall.append((time.perf_counter() - a) * 1e6)
    print(*wall, "|", *cpu, flush=True)
"#;

/// Python ONNX Runtime `InferenceSession.run` on the same model and window, batch 1, 1 thread,
/// as a child process that times one round per request.
pub(super) struct PythonReference {
    child: std::process::Child,
    stdout: std::io::BufReader<std::process::ChildStdout>,
    window: PathBuf,
}

impl PythonReference {
    pub(super) fn start(python: &Path, model: &Path, window: &[f32], w: usize, c: usize) -> Option<Self> {
        use std::io::BufRead;
        let path = std::env::temp_dir().join(format!("ash-bench-window-{}.npy", std::process::id()));
        write_npy_f32(&path, &[1, w, c], window).ok()?;
        let mut child = std::process::Command::new(python)
            .args(["-c", PYTHON_REFERENCE])
            .arg(model)
            .arg(&path)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .ok()?;
        let mut stdout = std::io::BufReader::new(child.stdout.take()?);
        let mut line = String::new();
        if stdout.read_line(&mut line).ok()? == 0 || line.trim() != "ready" {
            eprintln!("bench: the Python reference did not start for {}", model.display());
            let _ = child.kill();
            return None;
        }
        Some(PythonReference { child, stdout, window: path })
    }

    /// `n` timed runs: their wall and thread CPU times (µs).
    pub(super) fn chunk(&mut self, n: usize) -> Option<(Vec<f64>, Vec<f64>)> {
        use std::io::{BufRead, Write};
        writeln!(self.child.stdin.as_mut()?, "{n}").ok()?;
        let mut line = String::new();
        self.stdout.read_line(&mut line).ok()?;
        let (wall, cpu) = line.split_once('|')?;
        let parse = |s: &str| s.split_whitespace().map(|v| v.parse::<f64>().ok()).collect::<Option<Vec<f64>>>();
        let (wall, cpu) = (parse(wall)?, parse(cpu)?);
        (wall.len() == n && cpu.len() == n).then_some((wall, cpu))
    }
}

impl Drop for PythonReference {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.window);
    }
}

/// A little-endian float32 `.npy` file (version 1.0 header), for the Python reference's input.
fn write_npy_f32(path: &Path, shape: &[usize], data: &[f32]) -> std::io::Result<()> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({},), }}", dims.join(", "));
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut bytes = Vec::with_capacity(10 + header.len() + 4 * data.len());
    bytes.extend_from_slice(b"\x93NUMPY\x01\x00");
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    for v in data {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    std::fs::write(path, bytes)
}
