//! The engine's inbox: one bounded queue of input lines per connection, served round-robin.
//!
//! A shared FIFO would let one client's backlog (say thousands of `predict` lines) stand between
//! another client's `stats` and its answer. Here each connection queues its own lines, bounded
//! in bytes (a reader blocks when its queue is full: TCP back-pressure on that client only), and
//! the engine takes turns: a few lines from one connection, then the next connection. Control
//! events (a new connection, a shutdown signal) overtake lines.

use std::collections::{HashMap, VecDeque};
use std::net::TcpStream;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// One input line, or why it was dropped before parsing (`line_too_long`, `invalid_utf8`).
pub type Line = Result<String, &'static str>;

fn line_bytes(line: &Line) -> usize {
    line.as_ref().map_or(0, String::len) + 1
}

/// Events that are not lines.
pub enum Control {
    Connected { conn: u64, writer: TcpStream },
    Shutdown(&'static str),
}

/// What the engine gets next.
pub enum Next {
    Control(Control),
    /// A turn: lines of one connection, in order. `closed`: the connection has ended and these
    /// are its last lines.
    Lines {
        conn: u64,
        lines: Vec<Line>,
        closed: bool,
    },
    /// Nothing arrived within the timeout.
    Idle,
}

#[derive(Default)]
struct Queue {
    lines: VecDeque<Line>,
    bytes: usize,
    closed: bool,
}

#[derive(Default)]
struct State {
    control: VecDeque<Control>,
    queues: HashMap<u64, Queue>,
    /// Connections with something to hand out (lines or their end), in turn order.
    turns: VecDeque<u64>,
    shutting_down: bool,
}

pub struct Inbox {
    state: Mutex<State>,
    /// Signalled when there is something for the engine.
    work: Condvar,
    /// Signalled when queues shrink (readers waiting for room).
    room: Condvar,
    queue_bytes: usize,
    turn_lines: usize,
}

impl Inbox {
    /// `queue_bytes`: most bytes of unprocessed lines per connection; `turn_lines`: most lines
    /// per turn.
    pub fn new(queue_bytes: usize, turn_lines: usize) -> Self {
        Inbox {
            state: Mutex::new(State::default()),
            work: Condvar::new(),
            room: Condvar::new(),
            queue_bytes: queue_bytes.max(1),
            turn_lines: turn_lines.max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking thread cannot leave the queues half-updated (every update is a few
        // assignments), so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn control(&self, event: Control) {
        let mut s = self.lock();
        if matches!(event, Control::Shutdown(_)) {
            s.shutting_down = true;
            self.room.notify_all();
        }
        s.control.push_back(event);
        self.work.notify_one();
    }

    /// Queue `lines` of `conn`, waiting while its queue is over the byte bound. Returns false
    /// when the server is shutting down (the reader should stop).
    pub fn push(&self, conn: u64, lines: Vec<Line>) -> bool {
        if lines.is_empty() {
            return true;
        }
        let mut s = self.lock();
        while !s.shutting_down && s.queues.get(&conn).is_some_and(|q| q.bytes >= self.queue_bytes) {
            s = self.room.wait(s).unwrap_or_else(|e| e.into_inner());
        }
        if s.shutting_down {
            return false;
        }
        let queue = s.queues.entry(conn).or_default();
        queue.bytes += lines.iter().map(line_bytes).sum::<usize>();
        queue.lines.extend(lines);
        // Turns hold at most one entry per connection (a few dozen): a linear scan is fine.
        if !s.turns.contains(&conn) {
            s.turns.push_back(conn);
        }
        self.work.notify_one();
        true
    }

    /// The connection ended (EOF or error): after its queued lines, the engine gets `closed`.
    pub fn close(&self, conn: u64) {
        let mut s = self.lock();
        s.queues.entry(conn).or_default().closed = true;
        if !s.turns.contains(&conn) {
            s.turns.push_back(conn);
        }
        self.work.notify_one();
    }

    /// Put back the unprocessed tail of a turn (the engine's work budget ran out), in front of
    /// that connection's queue; its next turn comes after the other connections'.
    pub fn unread(&self, conn: u64, rest: Vec<Line>, closed: bool) {
        if rest.is_empty() && !closed {
            return;
        }
        let mut s = self.lock();
        let queue = s.queues.entry(conn).or_default();
        queue.closed |= closed;
        queue.bytes += rest.iter().map(line_bytes).sum::<usize>();
        for line in rest.into_iter().rev() {
            queue.lines.push_front(line);
        }
        if !s.turns.contains(&conn) {
            s.turns.push_back(conn);
        }
    }

    /// The next control event or turn, waiting up to `timeout`.
    pub fn next(&self, timeout: Duration) -> Next {
        let mut s = self.lock();
        loop {
            if let Some(c) = s.control.pop_front() {
                return Next::Control(c);
            }
            if let Some(conn) = s.turns.pop_front() {
                let turn_lines = self.turn_lines;
                let Some(queue) = s.queues.get_mut(&conn) else { continue };
                let n = queue.lines.len().min(turn_lines);
                let lines: Vec<Line> = queue.lines.drain(..n).collect();
                queue.bytes = queue.bytes.saturating_sub(lines.iter().map(line_bytes).sum::<usize>());
                let drained = queue.lines.is_empty();
                let closed = drained && queue.closed;
                if closed {
                    s.queues.remove(&conn);
                } else if !drained {
                    s.turns.push_back(conn);
                }
                self.room.notify_all();
                return Next::Lines { conn, lines, closed };
            }
            let (guard, result) = self.work.wait_timeout(s, timeout).unwrap_or_else(|e| e.into_inner());
            s = guard;
            if result.timed_out() && s.control.is_empty() && s.turns.is_empty() {
                return Next::Idle;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(prefix: &str, n: usize) -> Vec<Line> {
        (0..n).map(|i| Ok(format!("{prefix}{i}"))).collect()
    }

    fn take(inbox: &Inbox) -> (u64, Vec<String>, bool) {
        match inbox.next(Duration::from_millis(10)) {
            Next::Lines { conn, lines, closed } => {
                (conn, lines.into_iter().map(|l| l.unwrap_or_default()).collect(), closed)
            }
            _ => panic!("expected lines"),
        }
    }

    #[test]
    fn connections_take_turns_and_a_backlog_does_not_starve_others() {
        let inbox = Inbox::new(1 << 20, 2);
        assert!(inbox.push(1, lines("a", 6)));
        assert!(inbox.push(2, lines("b", 1)));
        assert_eq!(take(&inbox), (1, vec!["a0".into(), "a1".into()], false));
        assert_eq!(take(&inbox), (2, vec!["b0".into()], false));
        assert_eq!(take(&inbox), (1, vec!["a2".into(), "a3".into()], false));
        inbox.close(1);
        assert_eq!(take(&inbox), (1, vec!["a4".into(), "a5".into()], true));
        assert!(matches!(inbox.next(Duration::from_millis(1)), Next::Idle));
    }

    #[test]
    fn unread_lines_come_back_first_and_keep_the_close() {
        let inbox = Inbox::new(1 << 20, 10);
        inbox.push(1, lines("a", 3));
        inbox.close(1);
        let (_, got, closed) = take(&inbox);
        assert!(closed && got.len() == 3);
        inbox.unread(1, vec![Ok("a1".into()), Ok("a2".into())], true);
        assert_eq!(take(&inbox), (1, vec!["a1".into(), "a2".into()], true));
    }

    #[test]
    fn control_events_overtake_lines_and_shutdown_releases_blocked_readers() {
        let inbox = std::sync::Arc::new(Inbox::new(8, 10));
        inbox.push(1, lines("long line ", 1));
        let reader = {
            let inbox = inbox.clone();
            std::thread::spawn(move || inbox.push(1, lines("x", 1)))
        };
        std::thread::sleep(Duration::from_millis(20));
        assert!(!reader.is_finished(), "a full queue blocks its reader");
        inbox.control(Control::Shutdown("test"));
        assert!(!reader.join().unwrap(), "shutdown releases the reader");
        assert!(matches!(inbox.next(Duration::from_millis(1)), Next::Control(Control::Shutdown("test"))));
    }
}
