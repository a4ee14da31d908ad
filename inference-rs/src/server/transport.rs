//! Where lines come from and where replies go: stdin/stdout, or TCP clients on one listener.
//!
//! Threads: one accept loop, one reader and one writer per client, one signal thread, and the
//! caller's thread running the engine. Readers split lines into the [`Inbox`] (bounded per
//! client: back-pressure); the engine takes fair turns over clients; each writer drains its
//! client's replies, bounded in bytes: a client that stops reading is disconnected, never waited
//! for. Connections beyond the cap are refused with one error line.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Sender};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use super::engine::Engine;
use super::inbox::{Control, Inbox, Line, Next};
use super::limits::{Limits, MAX_LINE_BYTES};

/// Lines per turn of one connection at most (the engine also ends a turn after `max_batch`
/// predicted windows).
const TURN_LINES: usize = 256;
/// Stack of reader and writer threads: they only copy bytes.
const IO_THREAD_STACK: usize = 256 * 1024;
const CONN_STDIN: u64 = 0;

/// Connection counters, shared by the accept loop, the engine and `stats`.
#[derive(Debug, Default)]
pub struct TransportCounters {
    pub open: AtomicUsize,
    pub accepted: AtomicU64,
    pub refused: AtomicU64,
    pub slow_clients_dropped: AtomicU64,
}

impl TransportCounters {
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "open": self.open.load(Ordering::Relaxed),
            "accepted": self.accepted.load(Ordering::Relaxed),
            "refused": self.refused.load(Ordering::Relaxed),
            "slow_clients_dropped": self.slow_clients_dropped.load(Ordering::Relaxed),
        })
    }
}

/// Where lines come from.
pub enum Source {
    Stdin,
    Tcp(TcpListener),
}

/// Split `reader` into lines of at most MAX_LINE_BYTES and queue them, one batch per read; an
/// over-long line (also a last line without a newline) is dropped and queued as `line_too_long`.
fn read_lines<R: Read>(reader: R, conn: u64, inbox: &Inbox) {
    let mut reader = BufReader::with_capacity(1 << 16, reader);
    let mut buf: Vec<u8> = Vec::with_capacity(1024);
    let mut too_long = false;
    let finish = |buf: &mut Vec<u8>, too_long: bool| -> Line {
        if too_long {
            return Err("line_too_long");
        }
        while matches!(buf.last(), Some(b'\n' | b'\r')) {
            buf.pop();
        }
        String::from_utf8(std::mem::take(buf)).map_err(|_| "invalid_utf8")
    };
    loop {
        let chunk = match reader.fill_buf() {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return, // reset or shut down: a torn last line is not a line
        };
        if chunk.is_empty() {
            if !buf.is_empty() || too_long {
                let _ = inbox.push(conn, vec![finish(&mut buf, too_long)]);
            }
            return;
        }
        let mut batch = Vec::new();
        let mut rest = chunk;
        while !rest.is_empty() {
            let (take, done) = match rest.iter().position(|b| *b == b'\n') {
                Some(i) => (i + 1, true),
                None => (rest.len(), false),
            };
            if !too_long {
                if buf.len() + take > MAX_LINE_BYTES + 1 {
                    too_long = true;
                    buf.clear();
                } else {
                    buf.extend_from_slice(&rest[..take]);
                }
            }
            rest = &rest[take..];
            if done {
                batch.push(finish(&mut buf, too_long));
                too_long = false;
            }
        }
        let consumed = chunk.len();
        reader.consume(consumed);
        if !inbox.push(conn, batch) {
            return;
        }
    }
}

fn spawn_signal_thread(inbox: Arc<Inbox>) -> std::io::Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])?;
    thread::Builder::new().name("signals".into()).spawn(move || {
        if let Some(sig) = signals.forever().next() {
            inbox.control(Control::Shutdown(if sig == SIGINT { "SIGINT" } else { "SIGTERM" }));
        }
    })?;
    Ok(())
}

/// Serve until end of input (stdin) or a signal.
pub fn serve(engine: &mut Engine, source: Source) -> std::io::Result<()> {
    let limits = engine.limits().clone();
    let inbox = Arc::new(Inbox::new(limits.input_queue_bytes, TURN_LINES));
    let counters = Arc::new(TransportCounters::default());
    engine.set_transport_counters(counters.clone());
    spawn_signal_thread(inbox.clone())?;
    match source {
        Source::Stdin => {
            let inbox = inbox.clone();
            thread::Builder::new().name("stdin".into()).spawn(move || {
                read_lines(std::io::stdin().lock(), CONN_STDIN, &inbox);
                inbox.close(CONN_STDIN);
            })?;
        }
        Source::Tcp(listener) => {
            eprintln!(
                "ash-serve: listening on {} (at most {} clients, {} MiB of queued replies each)",
                listener.local_addr()?,
                limits.max_connections,
                limits.client_queue_bytes >> 20
            );
            let (inbox, counters, max) = (inbox.clone(), counters.clone(), limits.max_connections);
            thread::Builder::new()
                .name("accept".into())
                .spawn(move || accept_loop(listener, &inbox, &counters, max))?;
        }
    }
    run_engine(engine, &inbox, &counters, &limits);
    Ok(())
}

fn refuse(mut stream: TcpStream, counters: &TransportCounters, max: usize) {
    let refused = counters.refused.fetch_add(1, Ordering::Relaxed) + 1;
    if refused <= 5 || refused.is_multiple_of(1000) {
        eprintln!("ash-serve: refused a connection: {max} clients already connected ({refused} refused so far)");
    }
    let line = serde_json::json!({"type": "error", "message": format!(
        "too many connections: this server takes at most {max} clients (--max-connections); try again later")});
    let _ = stream.set_write_timeout(Some(Duration::from_millis(200)));
    let _ = stream.write_all(format!("{line}\n").as_bytes());
}

fn accept_loop(listener: TcpListener, inbox: &Arc<Inbox>, counters: &Arc<TransportCounters>, max: usize) {
    let mut next = 1u64;
    for stream in listener.incoming() {
        let Ok(stream) = stream else {
            // e.g. out of file descriptors: back off instead of spinning.
            thread::sleep(Duration::from_millis(50));
            continue;
        };
        if counters.open.load(Ordering::Acquire) >= max {
            refuse(stream, counters, max);
            continue;
        }
        let conn = next;
        next += 1;
        let _ = stream.set_nodelay(true);
        let Ok(writer) = stream.try_clone() else { continue };
        counters.open.fetch_add(1, Ordering::AcqRel);
        counters.accepted.fetch_add(1, Ordering::Relaxed);
        inbox.control(Control::Connected { conn, writer });
        let (reader_inbox, reader_counters) = (inbox.clone(), counters.clone());
        let spawned = thread::Builder::new().name(format!("conn{conn}")).stack_size(IO_THREAD_STACK).spawn(move || {
            read_lines(&stream, conn, &reader_inbox);
            let _ = stream.shutdown(Shutdown::Read);
            reader_inbox.close(conn);
            reader_counters.open.fetch_sub(1, Ordering::AcqRel);
        });
        if let Err(e) = spawned {
            eprintln!("ash-serve: cannot start a reader for connection {conn} ({e}); closing it");
            inbox.close(conn);
            counters.open.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

/// Replies of one TCP client, drained by its own writer thread; `queued` counts the bytes the
/// engine handed over that are not yet written.
struct ClientWriter {
    tx: Sender<Vec<u8>>,
    queued: Arc<AtomicUsize>,
    stream: TcpStream,
    thread: thread::JoinHandle<()>,
}

impl ClientWriter {
    fn spawn(stream: TcpStream, conn: u64) -> std::io::Result<Self> {
        let (tx, rx) = channel::<Vec<u8>>();
        let queued = Arc::new(AtomicUsize::new(0));
        let handle = stream.try_clone()?;
        let pending = queued.clone();
        let thread =
            thread::Builder::new().name(format!("write{conn}")).stack_size(IO_THREAD_STACK).spawn(move || {
                let mut w = std::io::BufWriter::with_capacity(1 << 16, stream);
                while let Ok(bytes) = rx.recv() {
                    let failed = w.write_all(&bytes).is_err();
                    pending.fetch_sub(bytes.len(), Ordering::AcqRel);
                    if failed {
                        return;
                    }
                    // Flush when the queue is momentarily empty: batches bursts, keeps latency low.
                    let mut failed = false;
                    while let Ok(more) = rx.try_recv() {
                        failed |= w.write_all(&more).is_err();
                        pending.fetch_sub(more.len(), Ordering::AcqRel);
                    }
                    if failed || w.flush().is_err() {
                        return;
                    }
                }
                let _ = w.flush();
            })?;
        Ok(ClientWriter { tx, queued, stream: handle, thread })
    }
}

/// Ship `bytes` to `conn`: stdout for stdin mode; a client's writer otherwise. A client whose
/// unwritten replies exceed the budget is disconnected (it is not reading).
fn deliver(
    conn: u64,
    bytes: Vec<u8>,
    writers: &mut HashMap<u64, ClientWriter>,
    counters: &TransportCounters,
    limits: &Limits,
) {
    if bytes.is_empty() {
        return;
    }
    if conn == CONN_STDIN {
        let stdout = std::io::stdout();
        let mut lock = stdout.lock();
        let _ = lock.write_all(&bytes).and_then(|_| lock.flush());
        return;
    }
    let Some(w) = writers.get(&conn) else { return };
    let queued = w.queued.load(Ordering::Acquire);
    if queued > 0 && queued + bytes.len() > limits.client_queue_bytes {
        let dropped = counters.slow_clients_dropped.fetch_add(1, Ordering::Relaxed) + 1;
        eprintln!(
            "ash-serve: client {conn} is not reading ({queued} bytes of replies unsent, limit {} MiB \
             --client-queue-mib); disconnecting it ({dropped} slow clients dropped so far)",
            limits.client_queue_bytes >> 20
        );
        let _ = w.stream.shutdown(Shutdown::Both);
        writers.remove(&conn);
        return;
    }
    let len = bytes.len();
    w.queued.fetch_add(len, Ordering::AcqRel);
    if w.tx.send(bytes).is_err() {
        writers.remove(&conn); // the writer ended: the client is gone
    }
}

fn run_engine(engine: &mut Engine, inbox: &Inbox, counters: &TransportCounters, limits: &Limits) {
    let mut writers: HashMap<u64, ClientWriter> = HashMap::new();
    let poll = Duration::from_millis(250);
    loop {
        match inbox.next(poll) {
            Next::Idle => engine.maybe_log(),
            Next::Control(Control::Connected { conn, writer }) => {
                let peer = writer.peer_addr().map(|a| a.to_string()).unwrap_or_default();
                eprintln!("ash-serve: connection {conn} from {peer}");
                match ClientWriter::spawn(writer, conn) {
                    Ok(w) => {
                        writers.insert(conn, w);
                    }
                    Err(e) => eprintln!("ash-serve: cannot start the writer of connection {conn}: {e}"),
                }
            }
            Next::Control(Control::Shutdown(sig)) => {
                eprintln!("ash-serve: {sig} received, shutting down");
                break;
            }
            Next::Lines { conn, lines, closed } => {
                // A turn ends after TURN_LINES lines or `max_batch` predicted windows, so one
                // client's expensive lines cannot hold up another client's for long.
                let rows_at_start = engine.rows_run();
                let mut lines = lines.into_iter();
                for line in lines.by_ref() {
                    match line {
                        Ok(l) => engine.handle_line(&l),
                        Err(reason) => engine.reject_unread_line(reason),
                    }
                    if engine.rows_run() - rows_at_start >= limits.max_batch as u64 {
                        break;
                    }
                }
                deliver(conn, engine.take_output(), &mut writers, counters, limits);
                let rest: Vec<Line> = lines.collect();
                if !rest.is_empty() {
                    inbox.unread(conn, rest, closed);
                } else if closed {
                    if conn == CONN_STDIN {
                        engine.finish();
                        deliver(conn, engine.take_output(), &mut writers, counters, limits);
                        break;
                    }
                    writers.remove(&conn);
                }
                engine.maybe_log();
            }
        }
    }
    // Closing the queues lets each writer thread flush what it holds and exit; wait up to 2 s
    // for them (a client that stopped reading cannot hold the shutdown hostage).
    let threads: Vec<_> = writers.into_values().map(|w| w.thread).collect();
    let deadline = Instant::now() + Duration::from_secs(2);
    while threads.iter().any(|t| !t.is_finished()) && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(10));
    }
    let _ = std::io::stdout().flush();
    eprintln!("ash-serve: final counters {}", engine.stats_json());
}
